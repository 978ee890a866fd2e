// The allreduce of the flat gradient buffer across ranks, in buckets (ARCHITECTURE.md §5):
// ranges reduced in the same order on every rank. Threads are summed before a bucket's
// exchange; clipping and the update come after all of them. The buckets follow the groups
// backward finishes (Note [Overlapped exchange]), so a step that exchanges while backward
// runs and one that exchanges after it reduce the same buckets and give the same bits.

import RecurKernels

/// Sums the flat gradient buffer across ranks in buckets of at most `bucketSize` floats, cut
/// from `groups` (ranges of the buffer, in the order backward finishes them), group after
/// group and bucket after bucket in the same order on every rank.
public struct GradientAllreduce {
    public let bucketSize: Int
    /// Per group, its buckets in reduction order.
    public let bucketsByGroup: [[Range<Int>]]

    /// - Parameter groups: ranges covering the buffer; nil for one group of `count` floats.
    public init(bucketSize: Int, count: Int, groups: [[Range<Int>]]? = nil) {
        precondition(bucketSize > 0, "bucket size must be positive")
        self.bucketSize = bucketSize
        bucketsByGroup = (groups ?? [[0..<count]]).map { ranges in
            ranges.flatMap { r in stride(from: r.lowerBound, to: r.upperBound, by: bucketSize).map { $0..<min($0 + bucketSize, r.upperBound) } }
        }
        precondition(bucketsByGroup.joined().reduce(0) { $0 + $1.count } == count, "gradient groups do not cover the buffer")
    }

    /// Every bucket, in the order they are reduced.
    public var bucketRanges: [Range<Int>] { Array(bucketsByGroup.joined()) }

    /// Sums `buffer` across ranks, every bucket in order (allocates nothing).
    public func reduce(_ buffer: FloatBuffer, over comm: Communicator) {
        guard comm.size > 1 else { return }
        for g in bucketsByGroup.indices { reduce(buffer, group: g, over: comm) }
    }

    /// Sums group `group`'s buckets of `buffer` across ranks.
    public func reduce(_ buffer: FloatBuffer, group: Int, over comm: Communicator) {
        guard comm.size > 1 else { return }
        for r in bucketsByGroup[group] { comm.allreduceSum(buffer.base + r.lowerBound, count: r.count) }
    }
}
