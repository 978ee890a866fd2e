// Elman RNN cell: h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act = tanh or relu.
// Both biases are folded into the input projection; the step keeps only h_t (act' comes from h).

import RecurKernels

enum ElmanCell: RecurrentCell {
    static let gateCount = 1

    static func forwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b
        let pre = s.gates + t * b * H            // [b, H]
        let hPrev = s.hPrev(t), hOut = s.hOut(t)  // [b, H]
        BLAS.gemm(.none, .transposed, m: b, n: H, k: H, a: hPrev, lda: H, b: s.wHH, ldb: H,
                  beta: 1, c: pre, ldc: H)
        let zero = F8(repeating: 0)
        for j in 0..<b {
            let p = pre + j * H, h = hOut + j * H
            if s.relu {
                lanes(H) { k, n in st(pointwiseMax(ld(p + k, n), zero), h + k, n) }
            } else {
                lanes(H) { k, n in st(Act.tanh(ld(p + k, n)), h + k, n) }
            }
        }
    }

    static func backwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b
        let dOut = s.dOut + t * b * H, h = s.hOut(t), dG = s.dG + t * b * H
        for j in 0..<b {
            let o = j * H
            lanes(H) { k, n in
                let dh = ld(dOut + o + k, n) + ld(s.dhNext + o + k, n)
                let hv = ld(h + o + k, n)
                let d = s.relu ? F8(repeating: 0).replacing(with: dh, where: hv .> 0) : dh * (one - hv * hv)
                st(d, dG + o + k, n)
            }
        }
        // dh_{t−1} = dG_t · W_hh
        BLAS.gemm(.none, .none, m: b, n: H, k: H, a: dG, lda: H, b: s.wHH, ldb: H, beta: 0, c: s.dhNext, ldc: H)
    }
}
