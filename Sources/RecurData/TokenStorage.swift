// Token ids of a whole corpus in the narrowest integer that holds the vocabulary: 16 bits when
// it has at most 65,536 ids, else 32. Read-only after loading; it never converts per access
// beyond one widening to Int32.

/// The encoded corpus: one id per token, in text order.
public enum TokenStorage: Sendable, Equatable {
    case uint16([UInt16])
    case int32([Int32])

    /// Number of tokens.
    public var count: Int {
        switch self { case .uint16(let a): a.count; case .int32(let a): a.count }
    }

    /// The id at `i`.
    public subscript(i: Int) -> Int32 {
        switch self { case .uint16(let a): Int32(a[i]); case .int32(let a): a[i] }
    }

    /// Ids `range` as Int32 (tests, forecasting prompts; not for the training step).
    public func ids(_ range: Range<Int>) -> [Int32] { range.map { self[$0] } }

    /// Calls `body` with a typed pointer to the ids (no copy).
    @inline(__always)
    func withIDs<R>(_ u16: (UnsafeBufferPointer<UInt16>) -> R, _ i32: (UnsafeBufferPointer<Int32>) -> R) -> R {
        switch self {
        case .uint16(let a): a.withUnsafeBufferPointer(u16)
        case .int32(let a): a.withUnsafeBufferPointer(i32)
        }
    }
}
