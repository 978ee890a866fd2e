// Small GEMMs (M·N·K ≤ RECUR_SMALL_GEMM_LIMIT) as plain loops that clang vectorises, once per
// instruction set (Note [Run-time dispatch] in dispatch.c). Not a fast GEMM for large shapes:
// OpenBLAS stays the engine there. See Note [Small GEMMs] in CKernels.h for why these exist.
#include "CKernels.h"

#define INLINE static inline __attribute__((always_inline))
#define RS __restrict
#define LANES 16

// Row-major C[M, N] = alpha·op(A)·op(B) + beta·C (beta = 0: C is not read).
// op(B) = B [K, N]: every C row is a sum of scaled B rows, in register blocks of up to 64
// columns. op(B) = Bᵀ (B stored [N, K]): the same after copying Bᵀ to the stack when it holds
// at most STACK_FLOATS (32 KiB), else every C element is a dot product over k in LANES partial
// sums added in a fixed order. Either way an element's value depends only on its own row of
// op(A) and column of op(B), never on M or on the row's position.
#define STACK_FLOATS 8192

// C[i, j0 ..< j0 + width] of the row form, its accumulators held in registers over k (width
// is a constant at the two block sizes, so the inner loop unrolls into whole vectors).
#define ROW_BLOCK 64
INLINE void row_block(long width, int transA, long i, long j0, long K, float alpha, const float *RS A, long lda,
                      const float *RS B, long ldb, float beta, float *RS c) {
    float acc[ROW_BLOCK];
    for (long l = 0; l < width; l++) acc[l] = 0.0f;
    for (long k = 0; k < K; k++) {
        float a = transA ? A[k * lda + i] : A[i * lda + k];
        const float *RS b = B + k * ldb + j0;
        for (long l = 0; l < width; l++) acc[l] += a * b[l];
    }
    for (long l = 0; l < width; l++)
        c[j0 + l] = beta == 0.0f ? alpha * acc[l] : alpha * acc[l] + beta * c[j0 + l];
}

INLINE void small_gemm_body(int transA, int transB, long M, long N, long K, float alpha,
                            const float *RS A, long lda, const float *RS B, long ldb,
                            float beta, float *RS C, long ldc) {
    float bt[transB && K * N <= STACK_FLOATS ? K * N : 1];
    if (transB && K * N <= STACK_FLOATS) {
        for (long j = 0; j < N; j++)
            for (long k = 0; k < K; k++) bt[k * N + j] = B[j * ldb + k];
        B = bt; ldb = N; transB = 0;
    }
    if (!transB) {
        for (long i = 0; i < M; i++) {
            float *RS c = C + i * ldc;
            long j = 0;
            for (; j + ROW_BLOCK <= N; j += ROW_BLOCK) row_block(ROW_BLOCK, transA, i, j, K, alpha, A, lda, B, ldb, beta, c);
            for (; j + LANES <= N; j += LANES) row_block(LANES, transA, i, j, K, alpha, A, lda, B, ldb, beta, c);
            if (j < N) row_block(N - j, transA, i, j, K, alpha, A, lda, B, ldb, beta, c);
        }
        return;
    }
    for (long i = 0; i < M; i++) {
        for (long j = 0; j < N; j++) {
            const float *RS b = B + j * ldb;
            float s;
            if (!transA) {
                const float *RS a = A + i * lda;
                float part[LANES] = {0};
                long k = 0;
                for (; k + LANES <= K; k += LANES)
                    for (int l = 0; l < LANES; l++) part[l] += a[k + l] * b[k + l];
                for (int l = 0; k + l < K; l++) part[l] += a[k + l] * b[k + l];
                s = 0.0f;
                for (int l = 0; l < LANES; l++) s += part[l];
            } else {
                s = 0.0f;
                for (long k = 0; k < K; k++) s += A[k * lda + i] * b[k];
            }
            float *c = C + i * ldc + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
    }
}

#if defined(__x86_64__)
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#define PARAMS (int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda, \
                const float *B, long ldb, float beta, float *C, long ldc)
#define ARGS (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
static T512 void small_gemm_512 PARAMS { small_gemm_body ARGS; }
static T256 void small_gemm_256 PARAMS { small_gemm_body ARGS; }
static void small_gemm_base PARAMS { small_gemm_body ARGS; }

void recur_small_gemm PARAMS {
    switch (recur_kernel_level()) {
    case 2: small_gemm_512 ARGS; break;
    case 1: small_gemm_256 ARGS; break;
    default: small_gemm_base ARGS; break;
    }
}
#else
void recur_small_gemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                      const float *B, long ldb, float beta, float *C, long ldc) {
    small_gemm_body(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
