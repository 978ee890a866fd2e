// CBLAS shim: OpenBLAS's CBLAS interface plus its thread-count controls, and the one fix-up
// of its kernel choice that Gemm.swift needs (below). The Swift wrapper is RecurKernels/Gemm.swift.
#pragma once
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// Note [OpenBLAS kernels on unrecognised CPUs]
// A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU's family and model numbers. Virtual
// machines often report a model it does not know ("Intel(R) Xeon(R) Processor"), and then it
// falls back to its SSE3 "Prescott" kernels: on an AVX-512 machine that is 5–9× slower
// (about 17–30 instead of 150 GFLOP/s per core). When the user has not chosen a core
// (OPENBLAS_CORETYPE) and OpenBLAS sits on a pre-AVX core while the CPU and the OS support
// AVX-512 or AVX2+FMA (recur_cpu_level, Recur's one CPUID probe), we re-run OpenBLAS's own
// kernel selection with OPENBLAS_CORETYPE set to SkylakeX or Haswell. Builds without these
// entry points (static-arch OpenBLAS) are left alone.
extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/// Returns the core name now in use when it changed it, NULL when it left OpenBLAS alone.
/// `cpu_level` is what the CPU and OS support (recur_cpu_level: 2 AVX-512, 1 AVX2 + FMA).
/// Call it once, before any thread runs a GEMM.
static inline const char *recur_openblas_upgrade_kernels(int cpu_level) {
#if defined(__x86_64__)
    if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return NULL;
    if (getenv("OPENBLAS_CORETYPE") != NULL) return NULL;
    const char *core = openblas_get_corename();
    static const char *const generic[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                          "katmai", "coppermine", "northwood", "banias", "unknown"};
    int fallback = 0;
    for (unsigned i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (core && strcasecmp(core, generic[i]) == 0) fallback = 1;
    if (!fallback) return NULL;
    const char *target = cpu_level >= 2 ? "SKYLAKEX" : cpu_level == 1 ? "HASWELL" : NULL;
    if (!target) return NULL;
    gotoblas_dynamic_quit();
    setenv("OPENBLAS_CORETYPE", target, 0);
    gotoblas_dynamic_init();
    return openblas_get_corename();
#else
    (void)cpu_level;
    return NULL;
#endif
}
