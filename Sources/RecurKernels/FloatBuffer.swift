// An owned, 64-byte aligned, fixed-size Float buffer: the storage of parameters, gradients,
// optimizer moments and every replica's activations. It never grows; allocation happens once,
// outside the training step. It is a class so that replicas can share it by reference.

/// A fixed-size, zero-initialised, 64-byte aligned buffer of `Float`.
public final class FloatBuffer: @unchecked Sendable {
    /// Start of the storage; valid for `count` elements for the lifetime of the buffer.
    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { base.update(from: s, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    public subscript(i: Int) -> Float {
        get { base[i] }
        set { base[i] = newValue }
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }

    /// A copy of the contents as an array (tests, checkpoints; never in the training step).
    public var array: [Float] { Array(buffer) }

    public func zero() { base.update(repeating: 0, count: count) }
}

/// A fixed-size buffer of 32-bit integers (token ids, class labels) for per-replica batches.
public final class Int32Buffer: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Int32>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "Int32Buffer count must be non-negative")
        self.count = count
        base = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Int32]) {
        self.init(count: values.count)
        for (i, v) in values.enumerated() { base[i] = v }
    }

    deinit { base.deallocate() }

    public subscript(i: Int) -> Int32 {
        get { base[i] }
        set { base[i] = newValue }
    }

    public var array: [Int32] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
