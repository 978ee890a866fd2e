// LSTM cell, PyTorch's gate order (i, f, g, o): c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).
// One recurrent GEMM over all four gates per step, then one fused pass; tanh(c_t) is kept
// for backward. No peepholes, no projection.

import RecurKernels

enum LSTMCell: RecurrentCell {
    static let gateCount = 4

    static func forwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 4 * H
        let pre = s.gates + t * b * G                       // [b, 4H]
        let hPrev = s.hPrev(t), hOut = s.hOut(t)             // [b, H]
        let cPrev = s.cs + t * b * H, cOut = s.cs + (t + 1) * b * H
        let tc = s.extra + t * b * H
        BLAS.gemm(.none, .transposed, m: b, n: G, k: H, a: hPrev, lda: H, b: s.wHH, ldb: H,
                  beta: 1, c: pre, ldc: G)
        for j in 0..<b {
            let g4 = pre + j * G, o = j * H
            lanes(H) { k, n in
                let i = Act.sigmoid(ld(g4 + k, n))
                let f = Act.sigmoid(ld(g4 + H + k, n))
                let g = Act.tanh(ld(g4 + 2 * H + k, n))
                let og = Act.sigmoid(ld(g4 + 3 * H + k, n))
                let c = f * ld(cPrev + o + k, n) + i * g
                let tcv = Act.tanh(c)
                st(i, g4 + k, n); st(f, g4 + H + k, n); st(g, g4 + 2 * H + k, n); st(og, g4 + 3 * H + k, n)
                st(c, cOut + o + k, n)
                st(tcv, tc + o + k, n)
                st(og * tcv, hOut + o + k, n)
            }
        }
    }

    static func backwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 4 * H
        let gates = s.gates + t * b * G, dG = s.dG + t * b * G
        let dOut = s.dOut + t * b * H, tc = s.extra + t * b * H
        let cPrev = s.cs + t * b * H
        for j in 0..<b {
            let g4 = gates + j * G, d4 = dG + j * G, o = j * H
            lanes(H) { k, n in
                let dh = ld(dOut + o + k, n) + ld(s.dhNext + o + k, n)
                let i = ld(g4 + k, n), f = ld(g4 + H + k, n)
                let g = ld(g4 + 2 * H + k, n), og = ld(g4 + 3 * H + k, n)
                let tcv = ld(tc + o + k, n)
                let dc = ld(s.dcNext + o + k, n) + dh * og * (one - tcv * tcv)
                st(dc * g * i * (one - i), d4 + k, n)
                st(dc * ld(cPrev + o + k, n) * f * (one - f), d4 + H + k, n)
                st(dc * i * (one - g * g), d4 + 2 * H + k, n)
                st(dh * tcv * og * (one - og), d4 + 3 * H + k, n)
                st(dc * f, s.dcNext + o + k, n)
            }
        }
        // dh_{t−1} = dG_t · W_hh   ([b, 4H] × [4H, H])
        BLAS.gemm(.none, .none, m: b, n: H, k: G, a: dG, lda: G, b: s.wHH, ldb: H, beta: 0, c: s.dhNext, ldc: H)
    }
}
