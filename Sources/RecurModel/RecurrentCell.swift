// What a recurrent cell is: a type with its gate count, what it stores per step, and its
// per-step forward and backward kernels (RecurrentCell), over the raw views of one layer and
// batch (LayerState: weights, stored activations, backward scratch, all time-major [t·b + j]
// rows). LayerUnroller drives any cell through time; `cellType` is the one place a cell kind
// becomes a type. NetworkWorkspace owns the memory. No allocation, no checks here.

import CKernels
import RecurKernels

/// Pointers for one layer over one batch of `stride` sequences of `T` steps; a step's kernels
/// run over its first `b` rows (all of them, or the sequences still running: `active`).
struct LayerState {
    /// Rows a step's kernels run over (≤ `stride`).
    var b: Int
    let T: Int, H: Int
    /// Rows of every time block (the batch): row j of step t is t·stride + j.
    let stride: Int
    /// Per step, the rows still inside their sequence, a prefix of the batch (sequences ordered
    /// longest first, Note [Variable-length sequences]); nil: every row at every step.
    let active: UnsafePointer<Int32>?
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

    @inline(__always) func hPrev(_ t: Int) -> UnsafeMutablePointer<Float> { hs + t * stride * H }
    @inline(__always) func hOut(_ t: Int) -> UnsafeMutablePointer<Float> { hs + (t + 1) * stride * H }

    /// This state for step t: `b` the rows still running.
    @inline(__always) func at(_ t: Int) -> LayerState {
        guard let active else { return self }
        var s = self
        s.b = Int(active[t])
        return s
    }

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

/// A recurrent cell's kernels. The layer does the input projection, the time loop and the
/// input-side weight gradients; the cell does each step's recurrent GEMM and fused elementwise
/// pass, forward and backward, and its hidden-side weight gradients after the time loop.
protocol RecurrentCell {
    static var gateCount: Int { get }
    /// Whether the cell carries a cell state c_t besides h_t (LSTM): [(T+1)·b, H] stored.
    static var keepsCellState: Bool { get }
    /// Whether each step keeps one more [b, H] activation in `extra` (tanh c_t, W_hn h + b_hn, r ⊙ h).
    static var keepsStepExtra: Bool { get }
    /// Whether the hidden-side pre-activation gradient differs from the input side (GRU reset
    /// after), so backward keeps it apart in `dHG`.
    static var separateHiddenGradient: Bool { get }
    /// Rows of W_hh, in units of H, packed as the first block for the per-step GEMMs; the rest
    /// (if any) is packed apart as `packedN` (GRU reset before runs two GEMMs per step).
    static var firstPackedBlock: Int { get }
    /// The gate block whose b_ih `forget_bias` sets to 1 (LSTM's f), or nil.
    static var forgetGate: Int? { get }
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
    static var keepsCellState: Bool { false }
    static var keepsStepExtra: Bool { true }
    static var separateHiddenGradient: Bool { false }
    static var firstPackedBlock: Int { gateCount }
    static var forgetGate: Int? { nil }

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

/// The cell type of a kind and variant: the one place a CellKind is switched on.
func cellType(_ kind: CellKind, reset: GRUReset) -> any RecurrentCell.Type {
    switch (kind, reset) {
    case (.rnn, _): return ElmanCell.self
    case (.lstm, _): return LSTMCell.self
    case (.gru, .after): return GRUResetAfterCell.self
    case (.gru, .before): return GRUResetBeforeCell.self
    }
}

extension CellKind {
    /// Gates per cell: weight matrices are [gateCount·H, ·].
    public var gateCount: Int { cellType(self, reset: .after).gateCount }
}

extension ModelConfig {
    /// This model's cell type.
    var cellType: any RecurrentCell.Type { RecurModel.cellType(cell, reset: gruReset) }
    /// Whether the model carries a cell state besides the hidden state (the LSTM's c).
    public var carriesCellState: Bool { cellType.keepsCellState }
}

/// The one time loop, for any cell: forward over t = 0 ..< T, backward from T−1 down to 0
/// with a hook after each step (the layer sums bias gradients while the rows are in cache),
/// then the cell's hidden-side weight gradients. Generic, so each cell's loop is specialised.
///
/// With `active` rows, a step runs over the sequences still running only (PyTorch's packed
/// sequences); the rows of finished ones are set to zero — their h, c and extra forward, their
/// dG and dHG backward — so the weight gradients' GEMMs over all T·stride rows add exact zeros
/// for them, whatever an earlier batch left in the buffers.
enum LayerUnroller {
    static func forward<Cell: RecurrentCell>(_ cell: Cell.Type, _ s: LayerState) {
        for t in 0..<s.T {
            let st = s.at(t)
            Cell.forwardStep(st, t: t)
            let idle = s.stride - st.b
            guard idle > 0 else { continue }
            let H = s.H
            Vec.zero(st.hOut(t) + st.b * H, count: idle * H)
            if Cell.keepsCellState { Vec.zero(s.cs + ((t + 1) * s.stride + st.b) * H, count: idle * H) }
            if Cell.keepsStepExtra { Vec.zero(s.extra + (t * s.stride + st.b) * H, count: idle * H) }
        }
    }

    static func backward<Cell: RecurrentCell>(_ cell: Cell.Type, _ s: LayerState, dWHH: UnsafeMutablePointer<Float>,
                                              dBHH: UnsafeMutablePointer<Float>, afterStep: (Int) -> Void) {
        let GH = Cell.gateCount * s.H
        for t in stride(from: s.T - 1, through: 0, by: -1) {
            let st = s.at(t)
            Cell.backwardStep(st, t: t)
            let idle = s.stride - st.b
            if idle > 0 {
                Vec.zero(s.dG + (t * s.stride + st.b) * GH, count: idle * GH)
                if Cell.separateHiddenGradient { Vec.zero(s.dHG + (t * s.stride + st.b) * GH, count: idle * GH) }
            }
            afterStep(t)
        }
        Cell.accumulateHiddenGradients(s, dWHH: dWHH, dBHH: dBHH)
    }
}
