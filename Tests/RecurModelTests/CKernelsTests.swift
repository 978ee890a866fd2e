// The C kernels at sizes the golden fixtures do not reach: full GEMM tiles (the packed recurrent
// GEMM's AVX-512 8×32 and AVX2 6×16; recur_sgemm's 12×32, 6×16 and 4×8) with ragged edges and
// blocking edges, and vector bodies plus tails of the cell passes. Runs whichever variant
// this CPU dispatches to (RECUR_KERNELS=baseline|avx2 selects the others).

import XCTest
import CKernels
import RecurKernels

final class CKernelsTests: XCTestCase {
    func testPackedGemmMatchesReference() throws {
        try XCTSkipIf(recur_packed_gemm_available() == 0, "packed GEMM needs AVX2+FMA or AVX-512")
        var rng = SeededRandom(seed: 7)
        // (64, 1024, 256) and (37, 520, 70) take the row-blocks-first order (gemm.c rows_first),
        // the second with ragged row blocks and a masked last panel; the rest go panel by panel.
        for (m, n, k) in [(19, 70, 37), (64, 1024, 256), (37, 520, 70), (8, 32, 1), (3, 17, 40), (33, 96, 129), (13, 24, 9), (7, 40, 5)] {
            let lda = k + 3, ldc = n + 5
            let a = (0..<(m * lda)).map { _ in rng.uniformFloat() * 2 - 1 }
            let w = (0..<(n * k)).map { _ in rng.uniformFloat() * 2 - 1 }      // [n, k] and, read as [k, n], W
            let c0 = (0..<(m * ldc)).map { _ in rng.uniformFloat() * 2 - 1 }
            for transposed in [true, false] {
                var packed = [Float](repeating: .nan, count: recur_packed_size(k, n) + 16)
                let pb = UnsafeMutableRawPointer.allocate(byteCount: packed.count * 4, alignment: 64)
                    .bindMemory(to: Float.self, capacity: packed.count)
                defer { pb.deallocate() }
                if transposed { recur_pack_transposed(w, n, k, k, pb) } else { recur_pack(w, k, n, n, pb) }
                packed = Array(UnsafeBufferPointer(start: pb, count: packed.count))
                for accumulate in [0, 1] {
                    var c = c0
                    recur_gemm_packed(m, n, k, a, lda, pb, &c, ldc, Int32(accumulate))
                    for i in 0..<m {
                        for j in 0..<(n + 5) {
                            if j >= n { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]); continue }
                            var ref = accumulate == 1 ? Double(c0[i * ldc + j]) : 0
                            for p in 0..<k {
                                let b = transposed ? w[j * k + p] : w[p * n + j]
                                ref += Double(a[i * lda + p]) * Double(b)
                            }
                            XCTAssertEqual(Double(c[i * ldc + j]), ref, accuracy: 1e-5 * (1 + Double(k)),
                                           "m \(m) n \(n) k \(k) T \(transposed) acc \(accumulate) at \(i),\(j)")
                        }
                    }
                }
            }
        }
    }

    /// Layout equivalence rests on this: a row's result does not depend on how many rows share
    /// the call or where the row sits in a tile.
    func testPackedGemmRowsAreIndependentOfM() throws {
        try XCTSkipIf(recur_packed_gemm_available() == 0, "packed GEMM needs AVX2+FMA or AVX-512")
        var rng = SeededRandom(seed: 11)
        // The second shape is done row blocks first whole (gemm.c rows_first) and panel by
        // panel in parts: the loop order must not change a bit either.
        for (m, n, k) in [(23, 88, 67), (40, 520, 70)] {
            let a = (0..<(m * k)).map { _ in rng.uniformFloat() * 2 - 1 }
            let w = (0..<(n * k)).map { _ in rng.uniformFloat() * 2 - 1 }
            let pb = UnsafeMutableRawPointer.allocate(byteCount: recur_packed_size(k, n) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: recur_packed_size(k, n))
            defer { pb.deallocate() }
            recur_pack_transposed(w, n, k, k, pb)
            var whole = [Float](repeating: 0, count: m * n)
            recur_gemm_packed(m, n, k, a, k, pb, &whole, n, 0)
            for split in [1, 5, 7] {
                var parts = [Float](repeating: 0, count: m * n)
                var row = 0
                while row < m {
                    let rows = min(split, m - row)
                    a.withUnsafeBufferPointer { ap in
                        parts.withUnsafeMutableBufferPointer { cp in
                            recur_gemm_packed(rows, n, k, ap.baseAddress! + row * k, k, pb, cp.baseAddress! + row * n, n, 0)
                        }
                    }
                    row += rows
                }
                XCTAssertEqual(parts.map(\.bitPattern), whole.map(\.bitPattern), "m \(m) n \(n) k \(k) split \(split)")
            }
        }
    }

    /// Note [Own GEMM]: recur_sgemm's every element is the chain over k in order — fused
    /// multiply-adds on AVX2 and AVX-512, multiply then add on the baseline — from 0 (beta 0) or
    /// from C (beta 1), so it equals that chain bit for bit, for all four transpose cases and for
    /// shapes that cross every blocking edge: K past one KC slice (256), M past one MC block (144),
    /// N past one NC block (1024), ragged register tiles, padded strides. Layout equivalence rests
    /// on this (a row's bits do not depend on how many rows share the call or where it sits).
    func testOwnGemm_EveryElementIsTheInOrderChain_AllTransposes() {
        let fused = recur_kernel_level() >= 1
        var rng = SeededRandom(seed: 23)
        for (m, n, k) in [(1, 1, 1), (5, 7, 3), (13, 33, 257), (150, 65, 40), (25, 31, 600), (3, 1030, 20), (12, 32, 256)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5
                let a = (0..<((ta ? k : m) * lda)).map { _ in rng.uniformFloat() * 2 - 1 }
                let b = (0..<((tb ? n : k) * ldb)).map { _ in rng.uniformFloat() * 2 - 1 }
                let c0 = (0..<(m * ldc)).map { _ in rng.uniformFloat() * 2 - 1 }
                for beta: Float in [0, 1] {
                    var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : c0
                    for i in 0..<m { for j in n..<ldc { c[i * ldc + j] = 7 } }   // past N: must stay
                    recur_sgemm(ta ? 1 : 0, tb ? 1 : 0, m, n, k, 1, a, lda, b, ldb, beta, &c, ldc)
                    var mismatches = 0
                    for i in 0..<m {
                        for j in 0..<ldc {
                            if j >= n { if c[i * ldc + j] != 7 { mismatches += 1 }; continue }
                            var s: Float = beta == 0 ? 0 : c0[i * ldc + j]
                            for p in 0..<k {
                                let x = ta ? a[p * lda + i] : a[i * lda + p], y = tb ? b[j * ldb + p] : b[p * ldb + j]
                                s = fused ? s.addingProduct(x, y) : s + x * y
                            }
                            if c[i * ldc + j].bitPattern != s.bitPattern { mismatches += 1 }
                        }
                    }
                    XCTAssertEqual(mismatches, 0, "\(m)×\(n)×\(k) transA \(ta) transB \(tb) beta \(beta), level \(recur_kernel_level())")
                }
            }
        }
    }

    /// recur_max_abs (the deterministic mode's scale) over bit patterns: the largest magnitude,
    /// infinity when one is there, NaN when any element is NaN, at every length's tail.
    func testMaxAbs_LargestMagnitude_InfinityAndNaN() {
        var rng = SeededRandom(seed: 5)
        for n in [0, 1, 7, 16, 33, 1000] {
            var x = (0..<n).map { _ in (rng.uniformFloat() * 2 - 1) * 1e-3 }
            if n > 3 { x[n - 2] = -0.75; x[1] = .leastNonzeroMagnitude }
            let expected = x.map { abs($0) }.max() ?? 0
            XCTAssertEqual(recur_max_abs(x, n), expected, "n \(n)")
            if n > 0 {
                var y = x; y[n - 1] = -.infinity
                XCTAssertEqual(recur_max_abs(y, n), .infinity, "n \(n)")
                y[n / 2] = -.nan
                XCTAssert(recur_max_abs(y, n).isNaN, "n \(n)")
            }
        }
    }

    func testCellActivationsAccuracy() {
        // LSTM forward with c_{t−1} = 0 exposes σ and tanh of the inputs directly.
        let b = 3, H = 45, xs = (0..<(b * 4 * H)).map { Float($0) * 0.074 - 20 }
        var gates = xs
        let zeros = [Float](repeating: 0, count: b * H)
        var c = zeros, tc = zeros, h = zeros
        recur_lstm_forward(&gates, zeros, &c, &tc, &h, b, H)
        for j in 0..<b {
            for q in 0..<4 {
                for k in 0..<H {
                    let x = Double(xs[j * 4 * H + q * H + k]), y = Double(gates[j * 4 * H + q * H + k])
                    let ref = q == 2 ? Foundation.tanh(x) : 1 / (1 + Foundation.exp(-x))
                    XCTAssertLessThan(abs(y - ref), 1e-6 * abs(ref) + 1e-30, "gate \(q) x \(x)")
                }
            }
        }
        var pre = (0..<(b * H)).map { Float($0) * 0.11 - 7 }
        pre[0] = 1e-4; pre[1] = -0.3; pre[2] = 0.62
        var out = zeros
        recur_rnn_forward(pre, &out, b, H, 0)
        for i in 0..<(b * H) {
            let ref = Foundation.tanh(Double(pre[i]))
            XCTAssertLessThan(abs(Double(out[i]) - ref), 1e-6 * abs(ref), "tanh \(pre[i])")
        }
    }
}

import Foundation
