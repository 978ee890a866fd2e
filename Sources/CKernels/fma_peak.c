// The core's FMA peak (Note [FMA peak] in CKernels.h): a loop of independent multiply-adds on
// registers alone, once per instruction set, so nothing but the arithmetic units bounds it.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))

// 16 chains: enough to cover an FMA latency of 4 cycles on two units (8 in flight), with room.
#define CHAINS16(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11) OP(12) OP(13) OP(14) OP(15)
// AVX2 has 16 registers: 12 chains, the two operands and room for the compiler.
#define CHAINS12(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

T512 static double fma512(long n, float seed) {
    const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
#define DECL(i) __m512 x##i = _mm512_set1_ps(seed + (float)(i));
#define STEP(i) x##i = _mm512_fmadd_ps(x##i, a, b);
#define SUM(i) s = _mm512_add_ps(s, x##i);
    CHAINS16(DECL)
    for (long k = 0; k < n; k++) { CHAINS16(STEP) __asm__ volatile("" ::: "memory"); }
    __m512 s = _mm512_setzero_ps();
    CHAINS16(SUM)
#undef DECL
#undef STEP
#undef SUM
    return (double)_mm512_reduce_add_ps(s);
}

T256 static double fma256(long n, float seed) {
    const __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
#define DECL(i) __m256 x##i = _mm256_set1_ps(seed + (float)(i));
#define STEP(i) x##i = _mm256_fmadd_ps(x##i, a, b);
#define SUM(i) s = _mm256_add_ps(s, x##i);
    CHAINS12(DECL)
    for (long k = 0; k < n; k++) { CHAINS12(STEP) __asm__ volatile("" ::: "memory"); }
    __m256 s = _mm256_setzero_ps();
    CHAINS12(SUM)
#undef DECL
#undef STEP
#undef SUM
    float v[8];
    _mm256_storeu_ps(v, s);
    return (double)(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]);
}

// Baseline x86-64 has no FMA: a multiply and an add per lane (2 flops), 4 lanes of SSE2.
static double fma128(long n, float seed) {
    const __m128 a = _mm_set1_ps(0.9999999f), b = _mm_set1_ps(1e-7f);
#define DECL(i) __m128 x##i = _mm_set1_ps(seed + (float)(i));
#define STEP(i) x##i = _mm_add_ps(_mm_mul_ps(x##i, a), b);
#define SUM(i) s = _mm_add_ps(s, x##i);
    CHAINS12(DECL)
    for (long k = 0; k < n; k++) { CHAINS12(STEP) __asm__ volatile("" ::: "memory"); }
    __m128 s = _mm_setzero_ps();
    CHAINS12(SUM)
#undef DECL
#undef STEP
#undef SUM
    float v[4];
    _mm_storeu_ps(v, s);
    return (double)(v[0] + v[1] + v[2] + v[3]);
}
#endif

double recur_fma_peak_loop(int level, long iterations, double *sink) {
    float seed = (float)(*sink != 0);   // a value the compiler cannot know, so nothing folds away
    (void)level;
#if defined(__x86_64__)
    switch (level < recur_cpu_level() ? level : recur_cpu_level()) {
    case 2: *sink += fma512(iterations, seed); return (double)iterations * 16 * 16 * 2;
    case 1: *sink += fma256(iterations, seed); return (double)iterations * 12 * 8 * 2;
    default: *sink += fma128(iterations, seed); return (double)iterations * 12 * 4 * 2;
    }
#else
    float x[8];
    for (int i = 0; i < 8; i++) x[i] = seed + (float)i;
    for (long k = 0; k < iterations; k++) for (int i = 0; i < 8; i++) x[i] = x[i] * 0.9999999f + 1e-7f;
    for (int i = 0; i < 8; i++) *sink += x[i];
    return (double)iterations * 8 * 2;
#endif
}
