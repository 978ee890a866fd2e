// Buffer helpers the layers, losses and optimizers share: plain loops over raw pointers that
// the compiler vectorises. No allocation, no bounds checks in release builds.

public enum Vec {
    @inlinable public static func zero(_ p: UnsafeMutablePointer<Float>, count: Int) {
        p.update(repeating: 0, count: count)
    }

    @inlinable public static func copy(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        dst.update(from: src, count: count)
    }

    /// dst += src
    @inlinable public static func add(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] += src[i] }
    }

    /// p *= s
    @inlinable public static func scale(_ p: UnsafeMutablePointer<Float>, count: Int, by s: Float) {
        for i in 0..<count { p[i] *= s }
    }

    /// Σ p[i]², accumulated in Double so the global norm does not depend on buffer length.
    @inlinable public static func sumOfSquares(_ p: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD8<Double>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            var v = SIMD8<Double>()
            for l in 0..<8 { v[l] = Double(p[i + l]) }
            acc += v * v
            i += 8
        }
        var s = acc.sum()
        while i < count { s += Double(p[i]) * Double(p[i]); i += 1 }
        return s
    }

    /// Sets every row of C[rows, cols] (row stride ldc) to `bias` (or to bias + bias2).
    @inlinable public static func broadcastRows(_ bias: UnsafePointer<Float>, _ bias2: UnsafePointer<Float>?,
                                                into c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ldc: Int) {
        for r in 0..<rows {
            let row = c + r * ldc
            if let b2 = bias2 {
                for j in 0..<cols { row[j] = bias[j] + b2[j] }
            } else {
                row.update(from: bias, count: cols)
            }
        }
    }

    /// dst[j] += Σ_r A[r, j] over A[rows, cols] with row stride lda (bias gradients).
    @inlinable public static func addColumnSums(_ a: UnsafePointer<Float>, rows: Int, cols: Int, lda: Int,
                                                into dst: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = a + r * lda
            for j in 0..<cols { dst[j] += row[j] }
        }
    }
}
