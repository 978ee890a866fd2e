// Vectorised exp, sigmoid and tanh on SIMD8<Float> lanes (Cephes-style range reduction and
// polynomials, about 1e-7 relative error), and softmax / log-softmax rows built on them.
// Every lane is computed independently, so a value's result does not depend on its position.

public typealias F8 = SIMD8<Float>
typealias I8 = SIMD8<Int32>

public enum Act {
    /// e^x per lane; inputs are clamped to [-87.3, 88.3] so the result is finite and normal.
    @inlinable @inline(__always)
    public static func exp(_ x0: F8) -> F8 {
        // Clamped with compares and blends: the generic pointwiseMin/Max were not inlined
        // (a call per use, about 3% of an LSTM step). NaN stays NaN.
        let hi = F8(repeating: 88.3), lo = F8(repeating: -87.3)
        var x = x0.replacing(with: hi, where: x0 .> hi)
        x = x.replacing(with: lo, where: x .< lo)
        // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick; t's low bits hold n.
        let magic = F8(repeating: 12582912.0)
        let t = x * F8(repeating: 1.44269504088896341) + magic
        let n = t - magic
        var r = x - n * F8(repeating: 0.693359375)
        r = r - n * F8(repeating: -2.12194440e-4)
        var p = F8(repeating: 1.9875691500e-4)
        p = p * r + F8(repeating: 1.3981999507e-3)
        p = p * r + F8(repeating: 8.3334519073e-3)
        p = p * r + F8(repeating: 4.1665795894e-2)
        p = p * r + F8(repeating: 1.6666665459e-1)
        p = p * r + F8(repeating: 5.0000001201e-1)
        p = p * (r * r) + r + F8(repeating: 1)
        let tb = unsafeBitCast(t, to: SIMD8<Int32>.self)
        let e = (tb &- SIMD8<Int32>(repeating: 0x4B40_0000) &+ SIMD8<Int32>(repeating: 127)) &<< SIMD8<Int32>(repeating: 23)
        return p * unsafeBitCast(e, to: F8.self)
    }

    /// σ(x) = 1 / (1 + e^-x) per lane.
    @inlinable @inline(__always)
    public static func sigmoid(_ x: F8) -> F8 {
        F8(repeating: 1) / (F8(repeating: 1) + exp(-x))
    }

    /// tanh(x) per lane: an odd polynomial for |x| < 0.625 (keeps relative accuracy near 0),
    /// 1 − 2/(e^{2|x|} + 1) with the sign restored elsewhere.
    @inlinable @inline(__always)
    public static func tanh(_ x: F8) -> F8 {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let signBits = bits & SIMD8<UInt32>(repeating: 0x8000_0000)
        let ax = unsafeBitCast(bits & SIMD8<UInt32>(repeating: 0x7FFF_FFFF), to: F8.self)
        let z = x * x
        var p = F8(repeating: -5.70498872745e-3)
        p = p * z + F8(repeating: 2.06390887954e-2)
        p = p * z + F8(repeating: -5.37397155531e-2)
        p = p * z + F8(repeating: 1.33314422036e-1)
        p = p * z + F8(repeating: -3.33332819422e-1)
        let small = p * z * x + x
        let s = exp(ax + ax)
        let largeAbs = F8(repeating: 1) - F8(repeating: 2) / (s + F8(repeating: 1))
        let large = unsafeBitCast(unsafeBitCast(largeAbs, to: SIMD8<UInt32>.self) | signBits, to: F8.self)
        return large.replacing(with: small, where: ax .< F8(repeating: 0.625))
    }

    // MARK: Loads and stores that handle a ragged tail

    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    @inlinable @inline(__always)
    public static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
    }

    /// Loads `n` < 8 values, padding the rest of the lanes with `pad`.
    @inlinable @inline(__always)
    public static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, pad: Float = 0) -> F8 {
        var v = F8(repeating: pad)
        for i in 0..<n { v[i] = p[i] }
        return v
    }

    @inlinable @inline(__always)
    public static func storePartial(_ v: F8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { p[i] = v[i] }
    }

    /// Applies `f` lane-wise to `count` values from `src` into `dst` (which may equal `src`).
    @inlinable @inline(__always)
    public static func map(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int,
                           _ f: (F8) -> F8) {
        var i = 0
        while i + 8 <= count {
            store(f(load(src + i)), dst + i)
            i += 8
        }
        if i < count { storePartial(f(loadPartial(src + i, count - i)), dst + i, count - i) }
    }

    public static func sigmoid(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        map(src, dst, count: count) { sigmoid($0) }
    }

    public static func tanh(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        map(src, dst, count: count) { tanh($0) }
    }

    public static func exp(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        map(src, dst, count: count) { exp($0) }
    }

    /// log Σ_j e^{x_j} of one row, computed stably (shifted by the row's maximum).
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        precondition(count > 0, "logSumExp of an empty row")
        var m = -Float.infinity
        for j in 0..<count { m = max(m, x[j]) }
        var acc = F8(repeating: 0)
        let mv = F8(repeating: m)
        var j = 0
        while j + 8 <= count {
            acc += exp(load(x + j) - mv)
            j += 8
        }
        var s = acc.sum()
        if j < count {
            let v = exp(loadPartial(x + j, count - j, pad: -Float.infinity) - mv)
            for l in 0..<(count - j) { s += v[l] }
        }
        return m + Foundation_log(s)
    }

    /// The index of a row's largest value, the first of equals (the predicted class or token;
    /// the one argmax of every loss, metric and prediction).
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        precondition(count > 0, "argmax of an empty row")
        var best = 0
        for k in 1..<count where x[k] > x[best] { best = k }
        return best
    }

    /// softmax of one row into `dst` (which may equal `x`).
    public static func softmax(_ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        let lse = logSumExp(x, count: count)
        let l = F8(repeating: lse)
        map(x, dst, count: count) { exp($0 - l) }
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func Foundation_log(_ x: Float) -> Float { Glibc.logf(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func Foundation_log(_ x: Float) -> Float { Darwin.logf(x) }
#endif
