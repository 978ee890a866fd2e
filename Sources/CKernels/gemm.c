// C[M, N] (+)= A[M, K] · B with B packed once into panels of 32 columns, K-major and
// zero-padded: the per-step recurrent GEMMs ([b, H] × [H, G·H] and the dh twin) reuse one
// W_hh for every step of a pass, while OpenBLAS re-packs all of it on every call (~17% of an
// LSTM step). AVX-512 and AVX2+FMA; on baseline x86-64 callers use recur_sgemm
// (recur_packed_gemm_available).
// Register tiles: AVX-512 8 rows × 32 columns (16 zmm accumulators); AVX2 6 rows × 16 columns
// (12 ymm accumulators, each 32-column panel in two halves). A is broadcast from memory. Every
// C element is one fused multiply-add chain over k = 0..<K in order, so both variants give the
// same bits, whatever M and the row's position.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

#define NR 32
#define MR 8

size_t recur_packed_size(long K, long N) { return (size_t)((N + NR - 1) / NR) * NR * (size_t)K; }

// Packs element (k, n) = W[n·strideN + k·strideK] into NR-column panels, K-major, zero-padded;
// AVX-512 has its own copy (a deterministic step packs W_hh once per micro-shard and pass): rows
// of W that are panel rows copied as vectors, rows that are panel columns gathered.
#define PACK_BODY                                                                                  \
    long panels = (N + NR - 1) / NR;                                                               \
    for (long p = 0; p < panels; p++) {                                                            \
        float *dst = packed + p * NR * K;                                                          \
        long cols = N - p * NR < NR ? N - p * NR : NR;                                             \
        if (strideK == 1) {  /* W's rows are columns of the panel */                              \
            long k = 0;                                                                            \
            if (cols == NR) k = PACK_GATHER(W + p * NR * strideN, strideN, K, dst);                \
            for (; k < K; k++)                                                                     \
                for (long j = 0; j < NR; j++)                                                      \
                    dst[k * NR + j] = j < cols ? W[(p * NR + j) * strideN + k] : 0.0f;             \
        } else {             /* W's rows are rows of the panel */                                  \
            for (long k = 0; k < K; k++) {                                                         \
                const float *src = W + k * strideK + p * NR;                                       \
                for (long j = 0; j < NR; j++) dst[k * NR + j] = j < cols ? src[j] : 0.0f;          \
            }                                                                                      \
        }                                                                                          \
    }
#define PACK_PARAMS (const float *W, long N, long K, long strideN, long strideK, float *packed)
#if defined(__x86_64__)
#include <immintrin.h>
// A whole panel of Wᵀ (32 rows of W, stride ld) by AVX-512 gathers, 16 columns at a time: 2.5×
// the scalar copy's speed. Returns the k it reached (all of them).
static inline __attribute__((always_inline, target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
long gather_panel(const float *W, long ld, long K, float *dst) {
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)ld));
    const float *hi = W + 16 * ld;
    for (long k = 0; k < K; k++) {
        _mm512_store_ps(dst + k * NR, _mm512_i32gather_ps(idx, W + k, 4));
        _mm512_store_ps(dst + k * NR + 16, _mm512_i32gather_ps(idx, hi + k, 4));
    }
    return K;
}
#define PACK_GATHER(w, ld, K, dst) (16 * (ld) < (1L << 31) ? gather_panel(w, ld, K, dst) : 0)
static __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) void pack_512 PACK_PARAMS { PACK_BODY }
#endif
// Elsewhere one loop over (k, column), as measured fastest there (the branches above, which
// clang vectorises with AVX2 gathers, were 1.5–2× slower on the AVX2 and baseline levels).
#define PACK_PLAIN(strideN, strideK)                                                               \
    long panels = (N + NR - 1) / NR;                                                               \
    for (long p = 0; p < panels; p++) {                                                            \
        float *dst = packed + p * NR * K;                                                          \
        for (long k = 0; k < K; k++)                                                               \
            for (long j = 0; j < NR; j++) {                                                        \
                long n = p * NR + j;                                                               \
                dst[k * NR + j] = n < N ? W[n * (strideN) + k * (strideK)] : 0.0f;                 \
            }                                                                                      \
    }
#define PLAIN_PARAMS (const float *W, long N, long K, long ld, float *packed)
#if defined(__x86_64__)
static __attribute__((target("avx2,fma"))) void pack_t_256 PLAIN_PARAMS { PACK_PLAIN(ld, 1) }
static __attribute__((target("avx2,fma"))) void pack_n_256 PLAIN_PARAMS { PACK_PLAIN(1, ld) }
#endif
static void pack_t_base PLAIN_PARAMS { PACK_PLAIN(ld, 1) }
static void pack_n_base PLAIN_PARAMS { PACK_PLAIN(1, ld) }

static void pack_panels(const float *W, long N, long K, long strideN, long strideK, float *packed) {
    int t = strideK == 1;
    long ld = t ? strideN : strideK;
#if defined(__x86_64__)
    int level = recur_kernel_level();
    if (level >= 2) { pack_512(W, N, K, strideN, strideK, packed); return; }
    if (level == 1) { if (t) pack_t_256(W, N, K, ld, packed); else pack_n_256(W, N, K, ld, packed); return; }
#endif
    if (t) pack_t_base(W, N, K, ld, packed); else pack_n_base(W, N, K, ld, packed);
}

void recur_pack_transposed(const float *W, long N, long K, long ldw, float *packed) {
    pack_panels(W, N, K, ldw, 1, packed);
}

void recur_pack(const float *W, long K, long N, long ldw, float *packed) {
    pack_panels(W, N, K, 1, ldw, packed);
}

#if defined(__x86_64__)
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))

// rows (≤ MR) rows of A against one packed panel; m0/m1 mask the panel's valid columns.
static inline __attribute__((always_inline)) T512 void
tile(int rows, long K, const float *A, long lda, const float *bp, float *C, long ldc, int accumulate,
     __mmask16 m0, __mmask16 m1) {
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    if (accumulate)
        for (int i = 0; i < MR; i++)
            if (i < rows) {
                c0[i] = _mm512_maskz_loadu_ps(m0, C + i * ldc);
                c1[i] = _mm512_maskz_loadu_ps(m1, C + i * ldc + 16);
            }
    for (long k = 0; k < K; k++) {
        __m512 b0 = _mm512_load_ps(bp + k * NR), b1 = _mm512_load_ps(bp + k * NR + 16);
        for (int i = 0; i < MR; i++)
            if (i < rows) {
                __m512 a = _mm512_set1_ps(A[i * lda + k]);
                c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
                c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
            }
    }
    for (int i = 0; i < MR; i++)
        if (i < rows) {
            _mm512_mask_storeu_ps(C + i * ldc, m0, c0[i]);
            _mm512_mask_storeu_ps(C + i * ldc + 16, m1, c1[i]);
        }
}

#define TILE(R) static T512 void tile##R(long K, const float *A, long lda, const float *bp, float *C, long ldc, \
                                         int acc, __mmask16 m0, __mmask16 m1) { tile(R, K, A, lda, bp, C, ldc, acc, m0, m1); }
TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8)
typedef void (*tile_fn)(long, const float *, long, const float *, float *, long, int, __mmask16, __mmask16);
static const tile_fn tiles[MR + 1] = {0, tile1, tile2, tile3, tile4, tile5, tile6, tile7, tile8};

// One panel p against rows [m, m + rows) (rows ≤ MR).
static inline __attribute__((always_inline)) T512 void
panel512(long p, long m, long rows, long N, long K, const float *A, long lda, const float *packed, float *C,
         long ldc, int accumulate) {
    long cols = N - p * NR;
    if (cols > NR) cols = NR;
    __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    tiles[rows](K, A + m * lda, lda, packed + p * NR * K, C + m * ldc + p * NR, ldc, accumulate, m0, m1);
}

// Loop order (both levels; rows_first). Panel by panel, each panel (kept in L1) meets every row
// block, and C is visited in 32-column strips, a line per row per panel. When C is larger than
// L1 and wider than deep (the forward's [b, H] × [H, G·H], N > K) that re-reads C from L2, so
// there the row blocks go outermost instead: a block's A rows stay in L1, the panels stream past
// and its C rows are walked left to right. Measured on AMD Zen 4 (one core, old and new code
// alternating, median of 21 paired runs): AVX-512 [64, 256] × [256, 1024] accumulating 8.6%
// faster, [64, 512] × [512, 1536] 4.2%; AVX2 at 32 rows 12%. Where C fits in L1 ([32, 64] ×
// [64, 256]), with few row blocks, or deeper than wide (the backward, K ≥ N: the deep panel is
// the operand to keep), rows first was 1–10% slower. The order changes no bits: each tile sums
// its elements over k alone.
static inline int rows_first(long M, long N, long K, long mr) { return N > K && M >= 3 * mr && M * N > 16384; }

static T512 void gemm512(long M, long N, long K, const float *A, long lda, const float *packed,
                         float *C, long ldc, int accumulate) {
    long panels = (N + NR - 1) / NR;
    if (rows_first(M, N, K, MR)) {
        for (long m = 0; m < M; m += MR)
            for (long p = 0; p < panels; p++)
                panel512(p, m, M - m < MR ? M - m : MR, N, K, A, lda, packed, C, ldc, accumulate);
    } else {
        for (long p = 0; p < panels; p++)
            for (long m = 0; m < M; m += MR)
                panel512(p, m, M - m < MR ? M - m : MR, N, K, A, lda, packed, C, ldc, accumulate);
    }
}

#define T256 __attribute__((target("avx2,fma")))
#define MR2 6

// rows (≤ MR2) rows of A against 16 columns of a packed panel (row stride NR). Full tiles
// load and store C plainly; edge tiles (full = 0) through m0/m1, the valid columns (masked
// moves are microcoded and slow on some cores, so they stay off the common path).
static inline __attribute__((always_inline)) T256 void
tile256(int rows, int full, long K, const float *A, long lda, const float *bp, float *C, long ldc, int accumulate,
        __m256i m0, __m256i m1) {
    __m256 c0[MR2], c1[MR2];
    for (int i = 0; i < MR2; i++) { c0[i] = _mm256_setzero_ps(); c1[i] = _mm256_setzero_ps(); }
    if (accumulate)
        for (int i = 0; i < MR2; i++)
            if (i < rows) {
                c0[i] = full ? _mm256_loadu_ps(C + i * ldc) : _mm256_maskload_ps(C + i * ldc, m0);
                c1[i] = full ? _mm256_loadu_ps(C + i * ldc + 8) : _mm256_maskload_ps(C + i * ldc + 8, m1);
            }
#pragma clang loop unroll_count(2)
    for (long k = 0; k < K; k++) {
        __m256 b0 = _mm256_load_ps(bp + k * NR), b1 = _mm256_load_ps(bp + k * NR + 8);
        for (int i = 0; i < MR2; i++)
            if (i < rows) {
                __m256 a = _mm256_broadcast_ss(A + i * lda + k);
                c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
                c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
            }
    }
    for (int i = 0; i < MR2; i++)
        if (i < rows) {
            if (full) {
                _mm256_storeu_ps(C + i * ldc, c0[i]);
                _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
            } else {
                _mm256_maskstore_ps(C + i * ldc, m0, c0[i]);
                _mm256_maskstore_ps(C + i * ldc + 8, m1, c1[i]);
            }
        }
}

#define TILE2(R) \
    static T256 void tile2_##R(long K, const float *A, long lda, const float *bp, float *C, long ldc, int acc, \
                               __m256i m0, __m256i m1) { tile256(R, 1, K, A, lda, bp, C, ldc, acc, m0, m1); } \
    static T256 void tile2e_##R(long K, const float *A, long lda, const float *bp, float *C, long ldc, int acc, \
                                __m256i m0, __m256i m1) { tile256(R, 0, K, A, lda, bp, C, ldc, acc, m0, m1); }
TILE2(1) TILE2(2) TILE2(3) TILE2(4) TILE2(5) TILE2(6)
typedef void (*tile2_fn)(long, const float *, long, const float *, float *, long, int, __m256i, __m256i);
static const tile2_fn tiles2[2][MR2 + 1] = {{0, tile2e_1, tile2e_2, tile2e_3, tile2e_4, tile2e_5, tile2e_6},
                                            {0, tile2_1, tile2_2, tile2_3, tile2_4, tile2_5, tile2_6}};

// Lanes j < n of a 256-bit mask set (n clamped to 0...8).
static T256 __m256i lanes(long n) {
    if (n < 0) n = 0;
    if (n > 8) n = 8;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Panel p's two 16-column halves against rows [m, m + rows) (rows ≤ MR2).
static inline __attribute__((always_inline)) T256 void
panel256(long p, long m, long rows, long N, long K, const float *A, long lda, const float *packed, float *C,
         long ldc, int accumulate) {
    const float *panel = packed + p * NR * K;
    for (long half = 0; half < 2; half++) {
        long col = p * NR + half * 16, cols = N - col;
        if (cols <= 0) break;
        __m256i m0 = lanes(cols), m1 = lanes(cols - 8);
        tiles2[cols >= 16][rows](K, A + m * lda, lda, panel + half * 16, C + m * ldc + col, ldc, accumulate, m0, m1);
    }
}

// Row blocks of an M-row product: 6-row tiles, but a remainder of 1–3 rows joins the last full
// tile and the pair is split evenly (32 = 4·6 + 4 + 4), since 1–3-row tiles hold too few
// accumulators to cover the FMA latency. Block i starts at row *m and has the returned rows.
typedef struct { long full6, split, tail, count; } row_blocks;

static row_blocks row_blocks_of(long M) {
    long full6 = M / MR2, rem = M % MR2;
    int joined = rem > 0 && rem < 4 && full6 > 0;
    if (joined) full6 -= 1;
    long tail = M - full6 * MR2;   // rows after the full tiles: joined (7–9, two blocks), or one partial block
    return (row_blocks){full6, joined ? (tail + 1) / 2 : tail, tail, full6 + (joined ? 2 : tail > 0 ? 1 : 0)};
}

static inline long row_block(const row_blocks *b, long i, long *m) {
    if (i < b->full6) { *m = i * MR2; return MR2; }
    *m = b->full6 * MR2 + (i > b->full6 ? b->split : 0);
    return i > b->full6 ? b->tail - b->split : b->split;
}

static T256 void gemm256(long M, long N, long K, const float *A, long lda, const float *packed,
                         float *C, long ldc, int accumulate) {
    row_blocks blocks = row_blocks_of(M);
    long panels = (N + NR - 1) / NR, m, rows;
    // Loop order: as gemm512.
    if (rows_first(M, N, K, MR2)) {
        for (long i = 0; i < blocks.count; i++) {
            rows = row_block(&blocks, i, &m);
            for (long p = 0; p < panels; p++) panel256(p, m, rows, N, K, A, lda, packed, C, ldc, accumulate);
        }
    } else {
        for (long p = 0; p < panels; p++)
            for (long i = 0; i < blocks.count; i++) {
                rows = row_block(&blocks, i, &m);
                panel256(p, m, rows, N, K, A, lda, packed, C, ldc, accumulate);
            }
    }
}
#endif

int recur_packed_gemm_available(void) {
#if defined(__x86_64__)
    const char *off = getenv("RECUR_PACKED_GEMM");   // "0": BLAS.gemm instead (for comparisons)
    return recur_kernel_level() >= 1 && !(off && strcmp(off, "0") == 0);
#else
    return 0;
#endif
}

void recur_gemm_packed(long M, long N, long K, const float *A, long lda, const float *packed,
                       float *C, long ldc, int accumulate) {
#if defined(__x86_64__)
    int level = recur_kernel_level();
    if (level >= 2) { gemm512(M, N, K, A, lda, packed, C, ldc, accumulate); return; }
    if (level == 1) { gemm256(M, N, K, A, lda, packed, C, ldc, accumulate); return; }
#endif
    // Portable reference (callers use BLAS instead; kept so the entry point is total).
    long panels = (N + NR - 1) / NR;
    for (long i = 0; i < M; i++)
        for (long n = 0; n < N; n++) {
            const float *bp = packed + (n / NR) * NR * K + n % NR;
            float s = accumulate ? C[i * ldc + n] : 0.0f;
            for (long k = 0; k < K; k++) s += A[i * lda + k] * bp[k * NR];
            C[i * ldc + n] = s;
        }
    (void)panels;
}
