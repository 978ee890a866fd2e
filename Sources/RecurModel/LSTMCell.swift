// LSTM cell, PyTorch's gate order (i, f, g, o): c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).
// One recurrent GEMM over all four gates per step, then one fused pass (CKernels, compiled
// per instruction set); tanh(c_t) is kept for backward. No peepholes, no projection.

import CKernels
import RecurKernels

enum LSTMCell: RecurrentCell {
    static let gateCount = 4
    static var keepsCellState: Bool { true }
    static var forgetGate: Int? { 1 }

    static func forwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 4 * H
        let pre = s.gates + t * s.stride * G                       // [b, 4H]
        // pre += h_{t−1} · W_hhᵀ   ([b, H] × [H, 4H])
        s.gemmWT(s.hPrev(t), lda: H, n: G, pre, ldc: G, accumulate: true)
        recur_lstm_forward(pre, s.cs + t * s.stride * H, s.cs + (t + 1) * s.stride * H, s.extra + t * s.stride * H, s.hOut(t), b, H)
    }

    static func backwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 4 * H
        let dG = s.dG + t * s.stride * G
        recur_lstm_backward(s.gates + t * s.stride * G, s.extra + t * s.stride * H, s.cs + t * s.stride * H, s.dOut + t * s.stride * H,
                            s.dhNext, s.dcNext, dG, b, H)
        // dh_{t−1} = dG_t · W_hh   ([b, 4H] × [4H, H])
        s.gemmW(dG, lda: G, k: G, s.dhNext, ldc: H, accumulate: false)
    }
}
