// A 64-bit hash that is the same on every run, process and (little-endian) platform, for the
// start-up check that every rank loaded the same data with the same settings.
// Not cryptographic, and not Swift's Hasher (which is seeded per process on purpose).

/// Hashes bytes eight at a time: each little-endian word w updates h ← rotl(h ⊕ w·k₁, 31)·k₂,
/// the tail is zero-padded and the byte length mixed in, and `finalize` applies the SplitMix64
/// finaliser. Equal inputs give equal hashes everywhere.
public struct StableHasher: Sendable {
    private var h: UInt64 = 0x243F_6A88_85A3_08D3
    private var length: UInt64 = 0
    private static let k1: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let k2: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    /// An empty hasher.
    public init() {}

    @inline(__always)
    private mutating func mix(_ w: UInt64) {
        let x = h ^ (w &* StableHasher.k1)
        h = ((x << 31) | (x >> 33)) &* StableHasher.k2
    }

    /// Adds raw bytes.
    public mutating func combine(bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        var i = 0
        if let base = bytes.baseAddress {
            while i + 8 <= n {
                mix(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                i += 8
            }
            if i < n {
                var tail: UInt64 = 0
                for k in 0..<(n - i) { tail |= UInt64(base.load(fromByteOffset: i + k, as: UInt8.self)) << (8 * UInt64(k)) }
                mix(tail)
            }
        }
        length &+= UInt64(n)
        mix(UInt64(n))
    }

    /// Adds the elements of an array of fixed-width values (their in-memory bytes).
    public mutating func combine<T: BitwiseCopyable>(array: [T]) {
        array.withUnsafeBytes { combine(bytes: $0) }
    }

    /// Adds one number (its 64-bit pattern).
    public mutating func combine(_ value: UInt64) { mix(value); length &+= 8 }
    public mutating func combine(_ value: Int) { combine(UInt64(bitPattern: Int64(value))) }
    public mutating func combine(_ value: Double) { combine(value.bitPattern) }
    public mutating func combine(_ value: Bool) { combine(value ? 1 as UInt64 : 0) }

    /// Adds a string's UTF-8 bytes (length-prefixed, so "ab","c" differs from "a","bc").
    public mutating func combine(_ value: String) {
        var s = value
        s.withUTF8 { combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The hash of everything combined so far.
    public func finalize() -> UInt64 {
        var z = h ^ length
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
