// The one flat parameter layout (ARCHITECTURE.md §1): an ordered list of named tensors with
// PyTorch's state_dict names and shapes, each at an offset in one contiguous Float buffer.
// Parameters, every replica's gradients and the optimizer moments all use this layout.
// It knows nothing about what the tensors mean; RecurrentNetwork decides that.

import RecurKernels

/// One named tensor inside the flat buffer.
public struct ParameterEntry: Sendable, Equatable, Codable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Ordered (name, shape) → offset table over one contiguous buffer.
public struct ParameterLayout: Sendable, Equatable, Codable {
    public private(set) var entries: [ParameterEntry] = []
    public private(set) var totalCount = 0

    public init() {}

    /// Appends a tensor and returns its offset.
    @discardableResult
    public mutating func append(_ name: String, shape: [Int]) -> Int {
        precondition(!entries.contains { $0.name == name }, "duplicate parameter \(name)")
        precondition(shape.allSatisfy { $0 > 0 }, "parameter \(name) has an empty shape \(shape)")
        let e = ParameterEntry(name: name, shape: shape, offset: totalCount)
        entries.append(e)
        totalCount += e.count
        return e.offset
    }

    public subscript(name: String) -> ParameterEntry? { entries.first { $0.name == name } }

    /// A stable hash of names, shapes and order (start-up agreement across ranks).
    public var fingerprint: UInt64 {
        var h = StableHasher()
        for e in entries {
            h.combine(e.name)
            h.combine(e.shape.count)
            for d in e.shape { h.combine(d) }
        }
        return h.finalize()
    }
}
