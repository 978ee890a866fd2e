// Fused per-step kernels for the recurrent cells and a GEMM over a weight matrix packed once,
// in C so that clang can compile them for AVX-512 and AVX2+FMA next to the baseline x86-64
// code; the variant is chosen at run time (recur_kernel_level). See Note [Run-time dispatch]
// in dispatch.c. All matrices are row-major; b rows of a batch, H hidden units.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What the CPU and the OS support: 2 AVX-512 (F, DQ, BW, VL), 1 AVX2 + FMA, 0 baseline; the one
/// CPUID probe in Recur (OpenBLAS's kernel fix-up in CBLAS/shim.h uses it too).
int recur_cpu_level(void);
/// The level Recur's kernels run at: recur_cpu_level(), lowered by RECUR_KERNELS=baseline|avx2|avx512
/// (never above what the CPU and OS support). Settled at first call, thread-safely.
int recur_kernel_level(void);

// Note [FMA peak]
// The yardstick of `recur bench`'s %peak is the core's own arithmetic limit, not another
// library's GEMM: `iterations` rounds of independent multiply-adds held in registers (16 AVX-512
// chains, 12 AVX2 ones, or 12 SSE2 multiply-then-add chains on the baseline) at `level` (at most
// what the CPU has). The bench measures it at the level Recur's kernels run at (recur_kernel_level):
// every GEMM of the step is Recur's (Note [Own GEMM]). Only under RECUR_GEMM=openblas, where the
// machine's BLAS runs them at whatever level it picks, is it the CPU's widest (recur_cpu_level).
// Nothing bounds the loop but the arithmetic units,
// so a workload's FLOP rate over it is at most 100% however the BLAS is tuned. The clock a peak
// implies needs the units' width: at AVX-512 the bench also times the AVX2 loop, and about equal
// peaks mean 256-bit units that run a 512-bit FMA as two halves (AMD Zen 4; FMASpeed.unitBits). Adds a result to
// *sink (so nothing is folded away) and returns the floating-point operations done.
double recur_fma_peak_loop(int level, long iterations, double *sink);

// MARK: Cells (PyTorch gate orders; the formulas of the Swift cells in RecurModel)

/// LSTM step, gates [b, 4H] (pre-activations in, i f g o activations out).
void recur_lstm_forward(float *gates, const float *cPrev, float *cOut, float *tanhC, float *hOut,
                        long b, long H);
/// LSTM step backward: writes dG [b, 4H]; dcNext ← dc ⊙ f.
void recur_lstm_backward(const float *gates, const float *tanhC, const float *cPrev, const float *dOut,
                         const float *dhNext, float *dcNext, float *dG, long b, long H);
/// GRU (reset after) step: pre [b, 3H] in/out (r z n), q = h·W_hhᵀ [b, 3H], bhn [H].
void recur_gru_after_forward(float *pre, const float *q, const float *bhn, const float *hPrev,
                             float *hnOut, float *hOut, long b, long H);
/// GRU (reset after) step backward: dX, dHG [b, 3H]; dhNext ← dh ⊙ z.
void recur_gru_after_backward(const float *gates, const float *hn, const float *hPrev, const float *dOut,
                              float *dhNext, float *dX, float *dHG, long b, long H);
/// GRU (reset before) step, first pass: pre [b, 3H] (r z n), q = h·W_h(r,z)ᵀ [b, 2H]:
/// r, z ← σ(pre + q) in place; rh ← r ⊙ hPrev [b, H].
void recur_gru_before_gates(float *pre, const float *q, const float *hPrev, float *rh, long b, long H);
/// GRU (reset before) step, second pass (pre_n already holds W_in x + b_in + W_hn (r ⊙ h) + b_hn):
/// n ← tanh(pre_n) in place; hOut = n + z ⊙ (hPrev − n).
void recur_gru_before_output(float *pre, const float *hPrev, float *hOut, long b, long H);
/// GRU (reset before) backward, first pass: dG's z and n blocks [b, 3H]; dhNext ← dh ⊙ z.
void recur_gru_before_backward_zn(const float *gates, const float *hPrev, const float *dOut, float *dhNext,
                                  float *dG, long b, long H);
/// GRU (reset before) backward, second pass, drh = dn·W_hn [b, H]: dG's r block; dhNext += drh ⊙ r.
void recur_gru_before_backward_r(const float *gates, const float *hPrev, const float *drh, float *dhNext,
                                 float *dG, long b, long H);
/// Elman step: h = tanh(pre) or relu(pre), [b, H].
void recur_rnn_forward(const float *pre, float *hOut, long b, long H, int relu);
/// Elman step backward: dG = (dOut + dhNext) ⊙ act'(h).
void recur_rnn_backward(const float *h, const float *dOut, const float *dhNext, float *dG,
                        long b, long H, int relu);

/// dst[j] += Σ_r A[r, j] over A[rows, cols] (row stride lda), rows summed in order.
void recur_add_column_sums(const float *a, long rows, long cols, long lda, float *dst);

/// out[r, j] = bias[j] + Σ_i x[r, i]·wT[i, j] for x [rows, I], wT [I, cols], out [rows, cols]
/// (the input projection of a layer fed by a few features).
void recur_small_projection(const float *x, long rows, long I, const float *wT, const float *bias, float *out,
                            long cols);
/// dst[i, j] += Σ_r A[r, j]·x[r, i] over A[rows, cols] (row stride lda), x [rows, I], dst [I, cols],
/// rows summed in order (dW_ihᵀ of a layer fed by a few features, one step at a time).
void recur_add_weighted_column_sums(const float *a, long rows, long cols, long lda, const float *x, long I,
                                    float *dst);

// MARK: Exact sums (Note [Layout-invariant steps])

/// max |x[i]| over n values; NaN if any is NaN.
float recur_max_abs(const float *x, long n);
/// acc[i] (first: =, else +=) round-to-nearest-even(g[i] · scale), in 64-bit integers.
void recur_fixed_add(const float *g, long n, double scale, long long *acc, int first);
/// out[i] = (float)(acc[i] · inverse).
void recur_fixed_to_float(const long long *acc, long n, double inverse, float *out);

// MARK: Small GEMMs

// Note [Small GEMMs]
// BLAS.gemm sends every product of at most RECUR_SMALL_GEMM_LIMIT (100³) multiply-adds here:
// plain loops that clang vectorises, with no packing, which at these sizes would cost more than
// it saves (recur_sgemm packs op(B) on every call). They came first, when the large products
// went to OpenBLAS, whose small-matrix kernels on AVX-512 call malloc on every call for some
// shapes (the NN kernel when M mod 16 is 1…8 and K ≥ 32), and a warm step allocates nothing.
#define RECUR_SMALL_GEMM_LIMIT 1000000L

/// Row-major C[M, N] = alpha·op(A)[M, K]·op(B)[K, N] + beta·C (beta = 0: C is only written),
/// op = transpose when transA / transB is non-zero; lda, ldb, ldc are row strides as stored.
/// Allocates nothing.
void recur_small_gemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                      const float *B, long ldb, float beta, float *C, long ldc);

// MARK: Recur's GEMM

// Note [Own GEMM]
// Every GEMM of a training or evaluation step is Recur's own, per instruction set like the cell
// kernels (Note [Run-time dispatch]): recur_gemm_packed for the per-step recurrent products
// against a W_hh packed once per pass, recur_sgemm for the rest (input projections over all
// batch×time rows, the head and its backward, every weight gradient with K = batch×time), and
// recur_small_gemm below RECUR_SMALL_GEMM_LIMIT. Until 2026-12 those went to the machine's
// OpenBLAS, whose kernel the environment chooses (OPENBLAS_CORETYPE): on a Zen 5 told "Haswell"
// char-lstm lost a quarter of its speed, and the bits changed with it. Now neither depends on
// anything outside Recur but RECUR_KERNELS. Blocking and bits: sgemm.c.

/// Row-major C[M, N] = alpha·op(A)[M, K]·op(B)[K, N] + beta·C (beta = 0: C is only written),
/// op = transpose when transA / transB is non-zero; lda, ldb, ldc are row strides as stored.
/// Single-threaded. Each C element is summed over k in order from 0 or C (beta 0 or 1), so its
/// bits depend only on its row of op(A), its column of op(B) and the kernel level. Allocates a
/// packing buffer at a thread's first call, nothing after.
void recur_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                 const float *B, long ldb, float beta, float *C, long ldc);

// Note [OpenBLAS for comparisons]
// No GEMM of Recur's goes to OpenBLAS (Note [Own GEMM]); RECUR_GEMM=openblas sends recur_sgemm's
// products there instead, to measure one against the other in the same binary. The library is
// opened at that first use (dlopen of libopenblas.so.0, Debian's libopenblas0), not linked, so
// Recur needs no BLAS to build or run and no BLAS thread pool spins beside the replicas (when it
// was linked, its pool's thread spinning in sched_yield held 8% of a 1-thread ts-lstm bench's CPU
// samples, and a 2-thread char-lstm step ran about 4% faster with OPENBLAS_NUM_THREADS=1). openblas.c; the kernel fix-up it applies is Note
// [OpenBLAS kernels on unrecognised CPUs] there.

/// Opens OpenBLAS (once; thread-safe) at one thread per caller. Returns 1 when cblas_sgemm is there.
int recur_openblas_load(void);
/// The core OpenBLAS was switched to when it fell back to pre-AVX kernels, or NULL.
const char *recur_openblas_upgraded_core(void);
/// recur_sgemm's contract through OpenBLAS's cblas_sgemm; only after recur_openblas_load returned 1.
void recur_openblas_sgemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                          const float *B, long ldb, float beta, float *C, long ldc);

// MARK: GEMM against a matrix packed once

/// Whether recur_gemm_packed is available (AVX-512 or AVX2+FMA, and RECUR_PACKED_GEMM is not "0");
/// otherwise callers use BLAS.gemm (recur_sgemm).
int recur_packed_gemm_available(void);
/// Floats a packed K × N operand needs.
size_t recur_packed_size(long K, long N);
/// Packs B = Wᵀ for W [N, K] (row stride ldw).
void recur_pack_transposed(const float *W, long N, long K, long ldw, float *packed);
/// Packs B = W for W [K, N] (row stride ldw).
void recur_pack(const float *W, long K, long N, long ldw, float *packed);
/// C[M, N] = A[M, K] · B + (accumulate ? C : 0), B packed by one of the above.
/// Each element is summed over k in order, whatever M and the row's position.
void recur_gemm_packed(long M, long N, long K, const float *A, long lda, const float *packed,
                       float *C, long ldc, int accumulate);

/// Asks for `sig` when the parent process dies (Linux prctl PR_SET_PDEATHSIG). Returns 0, 1 when
/// the parent is no longer `expected_parent` (it died first), or -1 when prctl failed.
int recur_signal_when_parent_dies(int sig, int expected_parent);

/// Exit status of a process whose exchange deadline passed (Note [Exchange deadline]).
#define RECUR_EXCHANGE_TIMEOUT_STATUS 75
/// Starts the exchange-deadline thread once per process: a wait armed longer than `seconds`
/// prints which rank and host it waited on and ends the process with
/// RECUR_EXCHANGE_TIMEOUT_STATUS. `rank_hosts` holds every rank's host name. 0, or -1.
int recur_deadline_start(double seconds, int rank, const char *host, int rank_count, const char *const *rank_hosts,
                         const char *resume_hint);
/// A blocking wait on `peer` (-1: on several ranks) begins / ends.
void recur_deadline_arm(int peer);
void recur_deadline_disarm(void);
/// The training step named in the message.
void recur_deadline_set_step(long step);
/// The next waits may take `factor` times the deadline (1 restores it).
void recur_deadline_scale(double factor);

#ifdef __cplusplus
}
#endif
