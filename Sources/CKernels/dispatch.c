// Note [Run-time dispatch]
// The package is built for baseline x86-64, so Swift's SIMD8 code runs as SSE2. The kernels
// here are compiled three times (AVX-512, AVX2+FMA, baseline) through target attributes, and
// each entry point calls the variant recur_kernel_level() picks from CPUID and XGETBV (the OS
// must save the wider registers). Off x86-64 only the portable variant exists.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

// What the CPU and the OS support: 2 AVX-512 (F, DQ, BW, VL), 1 AVX2 + FMA, 0 baseline.
static int detect_cpu(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    unsigned long long xcr0 = ((unsigned long long)hi << 32) | lo;
    if ((xcr0 & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1, f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int level = 0;
    if (avx2 && fma) level = 1;
    if (level == 1 && f && dq && bw && vl && (xcr0 & 0xE6) == 0xE6) level = 2;
    return level;
#else
    return 0;
#endif
}

int recur_cpu_level(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {  // idempotent, so a race only repeats the detection
        v = detect_cpu();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int recur_kernel_level(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = recur_cpu_level();
        const char *want = getenv("RECUR_KERNELS");
        if (want) {
            int cap = strcmp(want, "baseline") == 0 ? 0 : strcmp(want, "avx2") == 0 ? 1 : 2;
            if (cap < v) v = cap;
        }
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
