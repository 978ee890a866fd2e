// OpenBLAS, loaded only for comparisons (Note [OpenBLAS for comparisons] in CKernels.h).
#include "CKernels.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef void (*sgemm_fn)(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);
static sgemm_fn sgemm;
static const char *upgraded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

// Note [OpenBLAS kernels on unrecognised CPUs]
// A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU's family and model numbers. Virtual
// machines often report a model it does not know ("Intel(R) Xeon(R) Processor"), and then it
// falls back to its SSE3 "Prescott" kernels: on an AVX-512 machine that is 5–9× slower. When
// the user has not chosen a core (OPENBLAS_CORETYPE) and OpenBLAS sits on a pre-AVX core while
// the CPU and the OS support AVX-512 or AVX2+FMA (recur_cpu_level), its own kernel selection is
// run again with OPENBLAS_CORETYPE set to SkylakeX or Haswell, so a comparison is with the
// kernels OpenBLAS would pick if it knew the CPU.
static void upgrade_kernels(void *lib) {
#if defined(__x86_64__)
    char *(*corename)(void) = (char *(*)(void))dlsym(lib, "openblas_get_corename");
    void (*init)(void) = (void (*)(void))dlsym(lib, "gotoblas_dynamic_init");
    void (*quit)(void) = (void (*)(void))dlsym(lib, "gotoblas_dynamic_quit");
    if (!corename || !init || !quit || getenv("OPENBLAS_CORETYPE") != NULL) return;
    const char *core = corename();
    static const char *const generic[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                          "katmai", "coppermine", "northwood", "banias", "unknown"};
    int fallback = 0;
    for (unsigned i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (core && strcasecmp(core, generic[i]) == 0) fallback = 1;
    int level = recur_cpu_level();
    const char *target = level >= 2 ? "SKYLAKEX" : level == 1 ? "HASWELL" : NULL;
    if (!fallback || !target) return;
    quit();
    setenv("OPENBLAS_CORETYPE", target, 0);
    init();
    upgraded = corename();
#else
    (void)lib;
#endif
}

static void load(void) {
    // One thread per caller (replicas and ranks bring the parallelism), set before the library
    // starts: its thread pool would otherwise spin on the cores the replicas use.
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    if (!sgemm) return;
    upgrade_kernels(lib);
    void (*threads)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    if (threads) threads(1);
}

int recur_openblas_load(void) {
    pthread_once(&once, load);
    return sgemm != NULL;
}

const char *recur_openblas_upgraded_core(void) {
    pthread_once(&once, load);
    return upgraded;
}

void recur_openblas_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                          const float *B, long ldb, float beta, float *C, long ldc) {
    pthread_once(&once, load);
    // CBLAS's enumerations: CblasRowMajor 101, CblasNoTrans 111, CblasTrans 112.
    sgemm(101, transA ? 112 : 111, transB ? 112 : 111, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb,
          beta, C, (int)ldc);
}
