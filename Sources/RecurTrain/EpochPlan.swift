// Which windows make up each global batch of an epoch: an order derived from (seed, epoch)
// alone, or stored order, or for stateful streams position i of every stream. Every rank
// computes the same plan from the same numbers, so step counts always agree.

import RecurKernels

public struct EpochPlan: Sendable {
    public let windowCount: Int
    public let globalBatch: Int
    public let seed: UInt64
    public let shuffle: Bool
    public let dropLast: Bool
    /// Number of stateful streams (the global batch), or nil.
    public let streams: Int?

    public init(windowCount: Int, globalBatch: Int, seed: UInt64, shuffle: Bool, dropLast: Bool, streams: Int?) {
        precondition(windowCount > 0 && globalBatch > 0, "a plan needs windows and a batch size")
        self.windowCount = windowCount; self.globalBatch = globalBatch; self.seed = seed
        self.shuffle = shuffle; self.dropLast = dropLast; self.streams = streams
    }

    /// Optimizer steps per epoch: ⌊N/B⌋ with drop_last, ⌈N/B⌉ without; stateful: windows per stream.
    public var stepsPerEpoch: Int {
        if let s = streams { return windowCount / s }
        return dropLast ? max(1, windowCount / globalBatch) : (windowCount + globalBatch - 1) / globalBatch
    }

    /// The window order of `epoch`: a permutation seeded by (seed, epoch), or 0..<N.
    /// Stateful: stream-major positions, so batch i is window i of every stream.
    public func order(epoch: Int) -> [Int] {
        if let s = streams {
            let w = windowCount / s
            var o: [Int] = []
            o.reserveCapacity(w * s)
            for i in 0..<w { for stream in 0..<s { o.append(stream * w + i) } }
            return o
        }
        var o = Array(0..<windowCount)
        if shuffle {
            var rng = SeededRandom.stream(seed: seed, 0x0E90C4 &+ UInt64(epoch))
            rng.shuffle(&o)
        }
        return o
    }

    /// Batch `step` of an epoch's order and its position in that order.
    public func batch(_ step: Int, of order: [Int]) -> (windows: ArraySlice<Int>, start: Int) {
        let size = streams ?? globalBatch
        let start = step * size
        return (order[start..<min(start + size, order.count)], start)
    }
}
