// Recur's general single-precision GEMM (Note [Own GEMM] in CKernels.h): every product of the
// step besides the per-step recurrent one (recur_gemm_packed) — input projections, the head,
// their backward and every weight gradient — so that what the machine's BLAS is told
// (OPENBLAS_CORETYPE) cannot change Recur's speed or bits.
//
// Blocked as in BLIS (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
// Functionality", TOMS 2015): for each NC-column block of op(B) and KC-deep slice, pack the slice
// into NR-column panels (K-major, zero-padded); for each MC-row block of op(A), every NR-wide
// panel of B (kept in L1) against every MR-row panel of the block (from L2) in a register tile
// of MR × NR accumulators. op(A) = Aᵀ (the weight gradients, K = batch×time) is packed into
// MR-row panels, K-major, as BLIS does; op(A) = A (rows contiguous over k) is read in place,
// each of the MR rows a sequential stream, and only an edge tile's rows are copied. Every step
// of the driver is compiled once per level, so the copies run at the level's width too.
//
// Bits: every C element is one chain over k = 0..<K in order — a fused multiply-add per k on
// AVX-512 and AVX2, a multiply then an add on the baseline — started from 0 (beta = 0) or from C
// (beta = 1); a KC slice stores the running sums to C and the next loads them, which is the same
// chain. So an element's value depends only on its row of op(A), its column of op(B) and the
// kernel level, never on M, N, its position in a tile, or the blocking (layout equivalence and
// Note [Layout-invariant steps] rest on this). alpha ≠ 1 scales op(A) as it is packed; beta ∉
// {0, 1} scales C first.
#include "CKernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef KC              // (overridable for tuning runs)
#define KC 256
#endif
#ifndef MC
#define MC 144          // rows of op(A) per block: the largest multiple of MR up to this
#endif
#ifndef NC
#define NC 1024         // a multiple of every NR (32, 16, 8)
#endif


#define INLINE static inline __attribute__((always_inline))
#define RS __restrict

// MARK: packing

// op(A) = Aᵀ, rows [i0, i0 + mc) × k [p0, p0 + kc) into MR-row panels: panel q holds rows
// i0 + q·MR ..< +MR, element (i, k) at k·MR + i (a panel row of op(A) is contiguous in A);
// rows past mc are zero.
INLINE void pack_a_transposed(const float *RS A, long lda, long i0, long mc, long p0, long kc, int mr,
                              float alpha, float *RS dst) {
    // Row k of A (mc contiguous floats) at a time, into every panel: the reads stream through A
    // in order (A is batch×time rows of gate gradients, far larger than the caches); panel by
    // panel, each k's 48 bytes came from a new line and the copy was a tenth of the driver's time.
    long full = mc / mr * mr;
    for (long k = 0; k < kc; k++) {
        const float *RS s = A + (p0 + k) * lda + i0;
        for (long q = 0; q < full; q += mr) {
            float *RS d = dst + q * kc + k * mr;
            if (alpha == 1.0f) for (int i = 0; i < mr; i++) d[i] = s[q + i];
            else for (int i = 0; i < mr; i++) d[i] = alpha * s[q + i];
        }
        if (full < mc) {
            float *RS d = dst + full * kc + k * mr;
            for (long i = 0; i < mr; i++) d[i] = full + i < mc ? alpha * s[full + i] : 0.0f;
        }
    }
}

// `rows` (≤ MR) rows of op(A) × kc, element (i, k) at a[i·rsa + k·csa], into one zero-padded
// MR-row panel.
INLINE void pack_a_rows(const float *RS a, long rsa, long csa, long rows, long kc, int mr, float alpha,
                        float *RS d) {
    for (long i = 0; i < mr; i++)
        for (long k = 0; k < kc; k++) d[k * mr + i] = i < rows ? alpha * a[i * rsa + k * csa] : 0.0f;
}

// op(B) k [p0, p0 + kc) × columns [j0, j0 + nc) into NR-column panels: panel q holds columns
// j0 + q·NR ..< +NR, element (k, j) at k·NR + j; columns past nc are zero.
INLINE void pack_b(int trans, const float *RS B, long ldb, long p0, long kc, long j0, long nc, int nr,
                   float *RS dst) {
    for (long q = 0; q < nc; q += nr) {
        long cols = nc - q < nr ? nc - q : nr;
        float *RS d = dst + q * kc;
        if (!trans) {  // op(B)(k, j) = B[k·ldb + j]: a panel's row is contiguous
            for (long k = 0; k < kc; k++) {
                const float *RS s = B + (p0 + k) * ldb + j0 + q;
                if (cols == nr) for (int j = 0; j < nr; j++) d[k * nr + j] = s[j];
                else for (long j = 0; j < nr; j++) d[k * nr + j] = j < cols ? s[j] : 0.0f;
            }
        } else {       // op(B)(k, j) = B[j·ldb + k]: each column is contiguous over k
            for (long j = 0; j < cols; j++) {
                const float *RS s = B + (j0 + q + j) * ldb + p0;
                for (long k = 0; k < kc; k++) d[k * nr + j] = s[k];
            }
            for (long j = cols; j < nr; j++)
                for (long k = 0; k < kc; k++) d[k * nr + j] = 0.0f;
        }
    }
}

// MARK: driver

// One packing buffer per thread (replicas are long-lived threads, Note [Workers from Dispatch]),
// taken at a thread's first GEMM and freed when it exits, so a warm step allocates nothing.
#define PACK_FLOATS ((size_t)MC * KC + (size_t)KC * NC)
static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static void make_pack_key(void) { pthread_key_create(&pack_key, free); }

static float *pack_buffer(void) {
    pthread_once(&pack_once, make_pack_key);
    float *p = pthread_getspecific(pack_key);
    if (!p) {
        p = aligned_alloc(64, PACK_FLOATS * sizeof(float));
        if (!p) abort();
        pthread_setspecific(pack_key, p);
    }
    return p;
}

// A micro-kernel: C[0..<MR, 0..<NR] (row stride ldc) = (load ? C : 0) + Σ_k op(A)(i, k) · b[k·NR + j],
// in k order, with op(A)(i, k) at a[i·rsa + k·csa] (packed: rsa = 1, csa = MR; in place: rsa =
// lda, csa = 1).
#define MICRO(name) void name(long kc, const float *RS a, long rsa, long csa, const float *RS b, \
                              float *RS C, long ldc, int load)

// The blocked loops around one level's micro-kernel (MR, NR and the kernel are constants of
// each instantiation).
#define DRIVER_BODY(MR, NR, micro)                                                                         \
    float *packA = pack_buffer(), *packB = packA + (size_t)MC * KC;                                       \
    _Alignas(64) float edge[(MR) * (NR)];                                                                 \
    for (long j0 = 0; j0 < N; j0 += NC) {                                                                 \
        long nc = N - j0 < NC ? N - j0 : NC;                                                              \
        for (long p0 = 0; p0 < K; p0 += KC) {                                                             \
            long kc = K - p0 < KC ? K - p0 : KC;                                                          \
            int load = p0 > 0 || beta != 0.0f;                                                            \
            pack_b(transB, B, ldb, p0, kc, j0, nc, NR, packB);                                            \
            for (long i0 = 0; i0 < M; i0 += MC / (MR) * (MR)) {                                           \
                long mc = M - i0 < MC / (MR) * (MR) ? M - i0 : MC / (MR) * (MR);                          \
                /* Aᵀ in place would step a whole row of A per k: half the speed, measured */            \
                int packed = transA;                                                                      \
                if (packed) pack_a_transposed(A, lda, i0, mc, p0, kc, MR, alpha, packA);                  \
                for (long jr = 0; jr < nc; jr += NR) {                                                    \
                    long cols = nc - jr < NR ? nc - jr : NR;                                              \
                    const float *bp = packB + jr * kc;                                                    \
                    for (long ir = 0; ir < mc; ir += MR) {                                                \
                        long rows = mc - ir < MR ? mc - ir : MR;                                          \
                        float *c = C + (i0 + ir) * ldc + j0 + jr;                                         \
                        const float *ap; long rsa, csa;                                                   \
                        if (packed) { ap = packA + ir * kc; rsa = 1; csa = MR; }                          \
                        else {  /* in place, or an edge's rows (or alpha ≠ 1) copied to a panel */        \
                            ap = transA ? A + p0 * lda + i0 + ir : A + (i0 + ir) * lda + p0;              \
                            rsa = transA ? 1 : lda; csa = transA ? lda : 1;                               \
                            if (rows < MR || alpha != 1.0f) {                                             \
                                pack_a_rows(ap, rsa, csa, rows, kc, MR, alpha, packA);                    \
                                ap = packA; rsa = 1; csa = MR;                                            \
                            }                                                                             \
                        }                                                                                 \
                        if (rows == MR && cols == NR) { micro(kc, ap, rsa, csa, bp, c, ldc, load); continue; } \
                        /* An edge tile: through a full tile on the stack, only the valid part copied. */ \
                        for (long i = 0; i < MR; i++)                                                     \
                            for (long j = 0; j < NR; j++)                                                 \
                                edge[i * (NR) + j] = load && i < rows && j < cols ? c[i * ldc + j] : 0.0f; \
                        micro(kc, ap, rsa, csa, bp, edge, NR, 1);                                         \
                        for (long i = 0; i < rows; i++) memcpy(c + i * ldc, edge + i * (NR), (size_t)cols * sizeof(float)); \
                    }                                                                                     \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

#define DRIVER_PARAMS (int transA, int transB, long M, long N, long K, float alpha, const float *RS A, long lda, \
                       const float *RS B, long ldb, float beta, float *RS C, long ldc)

// MARK: micro-kernels

// The portable form; the baseline level compiles it as SSE2 (4 rows × 8 columns: 8 accumulators
// of 4 lanes), and clang keeps multiply and add apart there (no FMA in the ISA).
#define BASE_MR 4
#define BASE_NR 8
INLINE MICRO(micro_base) {
    float c[BASE_MR][BASE_NR];
    for (int i = 0; i < BASE_MR; i++)
        for (int j = 0; j < BASE_NR; j++) c[i][j] = load ? C[i * ldc + j] : 0.0f;
    for (long k = 0; k < kc; k++)
        for (int i = 0; i < BASE_MR; i++) {
            float ai = a[i * rsa + k * csa];
            for (int j = 0; j < BASE_NR; j++) c[i][j] += ai * b[k * BASE_NR + j];
        }
    for (int i = 0; i < BASE_MR; i++)
        for (int j = 0; j < BASE_NR; j++) C[i * ldc + j] = c[i][j];
}
static void driver_base DRIVER_PARAMS { DRIVER_BODY(BASE_MR, BASE_NR, micro_base) }

#if defined(__x86_64__)
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#define UNROLL _Pragma("clang loop unroll(full)")

// AVX-512: 12 rows × 32 columns, 24 zmm accumulators; two B loads and twelve broadcasts (folded
// into the FMAs as memory operands) per k.
#ifndef M512_MR
#define M512_MR 12
#endif
#define M512_NR 32
INLINE T512 MICRO(micro_512) {
    __m512 c0[M512_MR], c1[M512_MR];
    UNROLL for (int i = 0; i < M512_MR; i++) {
        c0[i] = load ? _mm512_loadu_ps(C + i * ldc) : _mm512_setzero_ps();
        c1[i] = load ? _mm512_loadu_ps(C + i * ldc + 16) : _mm512_setzero_ps();
    }
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b + k * M512_NR), b1 = _mm512_load_ps(b + k * M512_NR + 16);
        UNROLL for (int i = 0; i < M512_MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i * rsa + k * csa]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    UNROLL for (int i = 0; i < M512_MR; i++) {
        _mm512_storeu_ps(C + i * ldc, c0[i]);
        _mm512_storeu_ps(C + i * ldc + 16, c1[i]);
    }
}
static T512 void driver_512 DRIVER_PARAMS { DRIVER_BODY(M512_MR, M512_NR, micro_512) }

// AVX2 + FMA: 6 rows × 16 columns, 12 ymm accumulators.
#define M256_MR 6
#define M256_NR 16
INLINE T256 MICRO(micro_256) {
    __m256 c0[M256_MR], c1[M256_MR];
    UNROLL for (int i = 0; i < M256_MR; i++) {
        c0[i] = load ? _mm256_loadu_ps(C + i * ldc) : _mm256_setzero_ps();
        c1[i] = load ? _mm256_loadu_ps(C + i * ldc + 8) : _mm256_setzero_ps();
    }
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b + k * M256_NR), b1 = _mm256_load_ps(b + k * M256_NR + 8);
        UNROLL for (int i = 0; i < M256_MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i * rsa + k * csa);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
    UNROLL for (int i = 0; i < M256_MR; i++) {
        _mm256_storeu_ps(C + i * ldc, c0[i]);
        _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
    }
}
static T256 void driver_256 DRIVER_PARAMS { DRIVER_BODY(M256_MR, M256_NR, micro_256) }
#endif

void recur_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                 const float *B, long ldb, float beta, float *C, long ldc) {
    if (M <= 0 || N <= 0) return;
    if (beta != 0.0f && beta != 1.0f)
        for (long i = 0; i < M; i++)
            for (long j = 0; j < N; j++) C[i * ldc + j] *= beta;
    if (K <= 0 || alpha == 0.0f) {
        if (beta == 0.0f)
            for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
#if defined(__x86_64__)
    switch (recur_kernel_level()) {
    case 2: driver_512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return;
    case 1: driver_256(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return;
    }
#endif
    driver_base(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
