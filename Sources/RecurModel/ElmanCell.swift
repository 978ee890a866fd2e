// Elman RNN cell: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act = tanh or relu.
// Both biases are folded into the input projection; the step keeps only h_t (act' comes from h).

import CKernels
import RecurKernels

enum ElmanCell: RecurrentCell {
    static let gateCount = 1
    static var keepsStepExtra: Bool { false }

    static func forwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b
        let pre = s.gates + t * s.stride * H            // [b, H]
        s.gemmWT(s.hPrev(t), lda: H, n: H, pre, ldc: H, accumulate: true)
        recur_rnn_forward(pre, s.hOut(t), b, H, s.relu ? 1 : 0)
    }

    static func backwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b
        let dG = s.dG + t * s.stride * H
        recur_rnn_backward(s.hOut(t), s.dOut + t * s.stride * H, s.dhNext, dG, b, H, s.relu ? 1 : 0)
        // dh_{t−1} = dG_t · W_hh
        s.gemmW(dG, lda: H, k: H, s.dhNext, ldc: H, accumulate: false)
    }
}
