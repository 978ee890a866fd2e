// GRU cells, PyTorch's gate order (r, z, n), h_t = (1−z)⊙n + z⊙h_{t−1}, in both variants of
// ARCHITECTURE.md §3. Reset-after needs W_hn h + b_hn apart from the input side, so it keeps a
// second gradient buffer for the hidden side; reset-before needs a second GEMM per step.

import CKernels
import RecurKernels

/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) — PyTorch's nn.GRU.
enum GRUResetAfterCell: RecurrentCell {
    static let gateCount = 3
    static var separateHiddenGradient: Bool { true }

    /// b_hr and b_hz fold into the projection; b_hn stays inside r ⊙ (…), added per step.
    static func projectionBias(bIH: UnsafePointer<Float>, bHH: UnsafePointer<Float>, H: Int,
                               into row: UnsafeMutablePointer<Float>) {
        for i in 0..<(2 * H) { row[i] = bIH[i] + bHH[i] }
        for i in (2 * H)..<(3 * H) { row[i] = bIH[i] }
    }

    static func forwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 3 * H
        // tmp = h_{t−1} · W_hhᵀ   ([b, H] × [H, 3H])
        s.gemmWT(s.hPrev(t), lda: H, n: G, s.tmp, ldc: G, accumulate: false)
        recur_gru_after_forward(s.gates + t * s.stride * G, s.tmp, s.bHH + 2 * H, s.hPrev(t), s.extra + t * s.stride * H,
                                s.hOut(t), b, H)
    }

    static func backwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 3 * H
        let dHG = s.dHG + t * s.stride * G
        recur_gru_after_backward(s.gates + t * s.stride * G, s.extra + t * s.stride * H, s.hPrev(t), s.dOut + t * s.stride * H,
                                 s.dhNext, s.dG + t * s.stride * G, dHG, b, H)
        // dh_{t−1} = dh ⊙ z + dHG_t · W_hh
        s.gemmW(dHG, lda: G, k: G, s.dhNext, ldc: H, accumulate: true)
    }

    static func accumulateHiddenGradients(_ s: LayerState, dWHH: UnsafeMutablePointer<Float>,
                                          dBHH: UnsafeMutablePointer<Float>) {
        let G = 3 * s.H
        BLAS.gemm(.transposed, .none, m: G, n: s.H, k: s.T * s.stride, a: s.dHG, lda: G,
                  b: s.hs, ldb: s.H, beta: 1, c: dWHH, ldc: s.H)
        Vec.add(s.sumH, into: dBHH, count: G)
    }
}

/// n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) — the original GRU (Cho et al., 2014).
enum GRUResetBeforeCell: RecurrentCell {
    static let gateCount = 3
    /// W_h(r,z) [2H, H] and W_hn [H, H] are packed apart: the step multiplies them by h and by r ⊙ h.
    static var firstPackedBlock: Int { 2 }

    static func forwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 3 * H
        let pre = s.gates + t * s.stride * G
        let hPrev = s.hPrev(t)
        let rh = s.extra + t * s.stride * H
        // tmp[b, 2H] = h_{t−1} · W_h(r,z)ᵀ; then r, z and r ⊙ h_{t−1}
        s.gemmWT(hPrev, lda: H, n: 2 * H, s.tmp, ldc: 2 * H, accumulate: false)
        recur_gru_before_gates(pre, s.tmp, hPrev, rh, b, H)
        // pre_n += (r ⊙ h_{t−1}) · W_hnᵀ; then n and h_t
        s.gemmWT(rh, lda: H, n: H, pre + 2 * H, ldc: G, accumulate: true, weights: s.wHH + 2 * H * H, packed: s.packedN)
        recur_gru_before_output(pre, hPrev, s.hOut(t), b, H)
    }

    static func backwardStep(_ s: LayerState, t: Int) {
        let H = s.H, b = s.b, G = 3 * H
        let gates = s.gates + t * s.stride * G, dG = s.dG + t * s.stride * G
        let hPrev = s.hPrev(t)
        recur_gru_before_backward_zn(gates, hPrev, s.dOut + t * s.stride * H, s.dhNext, dG, b, H)
        // d(r ⊙ h)[b, H] = dn · W_hn; then dr and dh_{t−1} += d(r ⊙ h) ⊙ r
        let drh = s.tmp
        s.gemmW(dG + 2 * H, lda: G, k: H, drh, ldc: H, accumulate: false, weights: s.wHH + 2 * H * H, packed: s.packedN)
        recur_gru_before_backward_r(gates, hPrev, drh, s.dhNext, dG, b, H)
        // dh_{t−1} += d(r,z) · W_h(r,z)
        s.gemmW(dG, lda: G, k: 2 * H, s.dhNext, ldc: H, accumulate: true)
    }

    static func accumulateHiddenGradients(_ s: LayerState, dWHH: UnsafeMutablePointer<Float>,
                                          dBHH: UnsafeMutablePointer<Float>) {
        let H = s.H, G = 3 * H, rows = s.T * s.stride
        BLAS.gemm(.transposed, .none, m: 2 * H, n: H, k: rows, a: s.dG, lda: G,
                  b: s.hs, ldb: H, beta: 1, c: dWHH, ldc: H)
        BLAS.gemm(.transposed, .none, m: H, n: H, k: rows, a: s.dG + 2 * H, lda: G,
                  b: s.extra, ldb: H, beta: 1, c: dWHH + 2 * H * H, ldc: H)
        Vec.add(s.sumX, into: dBHH, count: G)
    }
}
