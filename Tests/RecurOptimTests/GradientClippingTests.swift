// Gradient clipping against hand-computed values: by global norm (with and without a precomputed
// sum of squares) and by value.

import XCTest
import RecurKernels
@testable import RecurOptim

final class GradientClippingTests: XCTestCase {
    func testClipByNorm_AboveMax_ScalesToMaxAndReturnsNormBefore() {
        var g: [Float] = [3, 0, -4, 0]  // norm 5
        let norm = g.withUnsafeMutableBufferPointer { clipGradientsByGlobalNorm($0.baseAddress!, count: 4, maxNorm: 1) }
        XCTAssertEqual(norm, 5)
        let scale: Float = 1 / (5 + 1e-6)
        XCTAssertEqual(g, [3 * scale, 0, -4 * scale, 0])
        XCTAssertEqual(g[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(g[2], -0.8, accuracy: 1e-6)
    }

    func testClipByNorm_BelowMax_LeavesGradientsBitwiseUnchanged() {
        let original: [Float] = [0.1, -0.2, 0.3, 1e-8, -0.7, 0.25, 0, 0.5, 0.125]
        var g = original
        let norm = g.withUnsafeMutableBufferPointer { clipGradientsByGlobalNorm($0.baseAddress!, count: 9, maxNorm: 10) }
        let expected = original.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        XCTAssertEqual(Double(norm), expected, accuracy: 1e-7)
        XCTAssertEqual(g.map(\.bitPattern), original.map(\.bitPattern))
    }

    func testClipByNorm_ZeroGradients_ReturnsZeroAndStaysZero() {
        var g = [Float](repeating: 0, count: 5)
        let norm = g.withUnsafeMutableBufferPointer { clipGradientsByGlobalNorm($0.baseAddress!, count: 5, maxNorm: 1) }
        XCTAssertEqual(norm, 0)
        XCTAssertEqual(g, [0, 0, 0, 0, 0])
    }

    func testClipByNorm_PrecomputedSumOfSquaresOverRanges_MatchesOnePass() {
        let original: [Float] = (0..<37).map { Float($0 % 7) - 2.5 }
        var onePass = original, ranged = original
        let n1 = onePass.withUnsafeMutableBufferPointer { clipGradientsByGlobalNorm($0.baseAddress!, count: 37, maxNorm: 2) }
        let n2 = ranged.withUnsafeMutableBufferPointer { g -> Float in
            let p = g.baseAddress!
            let sum = Vec.sumOfSquares(p, count: 16) + Vec.sumOfSquares(p + 16, count: 21)
            return clipGradientsByGlobalNorm(p, count: 37, maxNorm: 2, sumOfSquares: sum)
        }
        XCTAssertEqual(n1, n2)
        XCTAssertEqual(onePass, ranged)
        let check = onePass.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        XCTAssertEqual(check, 2, accuracy: 1e-5)
    }

    func testClipScale_IsMaxOverNormPlusEpsilonCappedAtOne() {
        XCTAssertEqual(globalNormClipScale(totalNorm: 8, maxNorm: 2), 2 / (8 + 1e-6))
        XCTAssertEqual(globalNormClipScale(totalNorm: 1, maxNorm: 2), 1)
        // As in PyTorch, a norm equal to maxNorm is still scaled, by 2 / (2 + 1e-6) = 0.9999995.
        XCTAssertEqual(globalNormClipScale(totalNorm: 2, maxNorm: 2), 0.9999995)
        XCTAssertEqual(globalNormClipScale(totalNorm: .nan, maxNorm: 2), 1)
    }

    func testClipByValue_ClampsToLimitAndKeepsNaN() {
        var g: [Float] = [-3, 0.5, 2, -0.1, 1, -1, .infinity, .nan]
        g.withUnsafeMutableBufferPointer { clipGradientsByValue($0.baseAddress!, count: 8, limit: 1) }
        XCTAssertEqual(Array(g.prefix(7)), [-1, 0.5, 1, -0.1, 1, -1, 1])
        XCTAssertTrue(g[7].isNaN)
    }
}
