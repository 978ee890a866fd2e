// The raw views one recurrent layer's kernels work on for one batch: weights, stored
// activations and backward scratch, all time-major ([t·b + j] rows). Cells read and write
// through these pointers; NetworkWorkspace owns the memory. No allocation, no checks here.

import CKernels
import RecurKernels

/// Pointers for one layer over one batch of `b` sequences of `T` steps.
struct LayerState {
    let b: Int, T: Int, H: Int
    /// W_hh [G·H, H] and b_hh [G·H].
    let wHH: UnsafePointer<Float>
    let bHH: UnsafePointer<Float>
    /// h_{-1} … h_{T-1}: [(T+1)·b, H]; block 0 is the initial state.
    let hs: UnsafeMutablePointer<Float>
    /// c_{-1} … c_{T-1} for LSTM: [(T+1)·b, H].
    let cs: UnsafeMutablePointer<Float>
    /// Pre-activations on entry (input projection + folded biases), activated gates after the step: [T·b, G·H].
    let gates: UnsafeMutablePointer<Float>
    /// Per-step extra activation: LSTM tanh(c_t); GRU-after W_hn h + b_hn; GRU-before r ⊙ h: [T·b, H].
    let extra: UnsafeMutablePointer<Float>
    /// Gradient w.r.t. the input-side pre-activations: [T·b, G·H].
    let dG: UnsafeMutablePointer<Float>
    /// Gradient w.r.t. the hidden-side pre-activations (GRU-after only): [T·b, G·H].
    let dHG: UnsafeMutablePointer<Float>
    /// Per-step scratch: [b, G·H].
    let tmp: UnsafeMutablePointer<Float>
    /// Gradient flowing into the output h_t of every step from above: [T·b, H].
    let dOut: UnsafePointer<Float>
    /// dh and dc carried backwards from step t+1 to t: [b, H] each.
    let dhNext: UnsafeMutablePointer<Float>
    let dcNext: UnsafeMutablePointer<Float>
    let relu: Bool
    /// W_hh packed for recur_gemm_packed by the pass that runs (forward: W_hhᵀ, backward:
    /// W_hh), or nil where that GEMM is unavailable (neither AVX2+FMA nor AVX-512) and BLAS
    /// runs instead. GRU reset-before: its (r, z) rows only, with the n rows in `packedN`.
    let packedW: UnsafePointer<Float>?
    let packedN: UnsafePointer<Float>?
    /// Σ over the rows of dG (sumX) and of dHG (sumH, GRU-after) of the backward pass so far,
    /// [G·H] each: the layer adds them up step by step while the rows are still in cache.
    let sumX: UnsafeMutablePointer<Float>
    let sumH: UnsafeMutablePointer<Float>

    @inline(__always) func hPrev(_ t: Int) -> UnsafeMutablePointer<Float> { hs + t * b * H }
    @inline(__always) func hOut(_ t: Int) -> UnsafeMutablePointer<Float> { hs + (t + 1) * b * H }

    /// Forward step GEMM: C[b, n] (+)= A[b, H] · Wᵀ for the first n rows of W [·, H]: W_hh
    /// (packed as `packedW`) unless a block of it and its packing are given.
    @inline(__always)
    func gemmWT(_ a: UnsafePointer<Float>, lda: Int, n: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                accumulate: Bool, weights: UnsafePointer<Float>? = nil, packed: UnsafePointer<Float>?? = nil) {
        if let p = packed ?? packedW {
            recur_gemm_packed(b, n, H, a, lda, p, c, ldc, accumulate ? 1 : 0)
        } else {
            BLAS.gemm(.none, .transposed, m: b, n: n, k: H, a: a, lda: lda, b: weights ?? wHH, ldb: H,
                      beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }

    /// Backward step GEMM: C[b, H] (+)= A[b, k] · W for the first k rows of W [·, H]: W_hh
    /// (packed as `packedW`) unless a block of it and its packing are given.
    @inline(__always)
    func gemmW(_ a: UnsafePointer<Float>, lda: Int, k: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
               accumulate: Bool, weights: UnsafePointer<Float>? = nil, packed: UnsafePointer<Float>?? = nil) {
        if let p = packed ?? packedW {
            recur_gemm_packed(b, H, k, a, lda, p, c, ldc, accumulate ? 1 : 0)
        } else {
            BLAS.gemm(.none, .none, m: b, n: H, k: k, a: a, lda: lda, b: weights ?? wHH, ldb: H,
                      beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }
}

/// Calls `body(k, n)` over [0, count) in lanes of 8 and one ragged tail of n < 8.
@inline(__always)
func lanes(_ count: Int, _ body: (Int, Int) -> Void) {
    var k = 0
    while k + 8 <= count { body(k, 8); k += 8 }
    if k < count { body(k, count - k) }
}

@inline(__always) func ld(_ p: UnsafePointer<Float>, _ n: Int) -> F8 {
    n == 8 ? Act.load(p) : Act.loadPartial(p, n)
}

@inline(__always) func ld(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> F8 { ld(UnsafePointer(p), n) }

@inline(__always) func st(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == 8 { Act.store(v, p) } else { Act.storePartial(v, p, n) }
}

let one = F8(repeating: 1)

/// A recurrent cell's kernels. The layer does the input projection, the time loop and the
/// input-side weight gradients; the cell does each step's recurrent GEMM and fused elementwise
/// pass, forward and backward, and its hidden-side weight gradients after the time loop.
protocol RecurrentCell {
    static var gateCount: Int { get }
    /// Row of biases added to every input-projection row: [G·H] from b_ih and b_hh.
    static func projectionBias(bIH: UnsafePointer<Float>, bHH: UnsafePointer<Float>, H: Int,
                               into row: UnsafeMutablePointer<Float>)
    static func forwardStep(_ s: LayerState, t: Int)
    /// Writes dG (and dHG) for step t and updates dhNext/dcNext to step t−1.
    static func backwardStep(_ s: LayerState, t: Int)
    /// dW_hh += …, db_hh += … over all T·b rows.
    static func accumulateHiddenGradients(_ s: LayerState, dWHH: UnsafeMutablePointer<Float>,
                                          dBHH: UnsafeMutablePointer<Float>)
}

extension RecurrentCell {
    static func projectionBias(bIH: UnsafePointer<Float>, bHH: UnsafePointer<Float>, H: Int,
                               into row: UnsafeMutablePointer<Float>) {
        for i in 0..<(gateCount * H) { row[i] = bIH[i] + bHH[i] }
    }

    /// dW_hh += dGᵀ · h_{t−1} and db_hh += Σ dG (sumX): the default for cells whose hidden-side
    /// gradient equals the input-side one.
    static func accumulateHiddenGradients(_ s: LayerState, dWHH: UnsafeMutablePointer<Float>,
                                          dBHH: UnsafeMutablePointer<Float>) {
        let GH = gateCount * s.H
        BLAS.gemm(.transposed, .none, m: GH, n: s.H, k: s.T * s.b, a: s.dG, lda: GH,
                  b: s.hs, ldb: s.H, beta: 1, c: dWHH, ldc: s.H)
        Vec.add(s.sumX, into: dBHH, count: GH)
    }
}
