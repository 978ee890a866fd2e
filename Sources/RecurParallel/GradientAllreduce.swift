// The allreduce of the flat gradient buffer across ranks, in buckets (ARCHITECTURE.md §5):
// contiguous ranges reduced in the same ascending order on every rank. Threads are summed
// before this (GradientThreadSum); clipping and the update come after.

import RecurKernels

/// Sums the flat gradient buffer across ranks in buckets: contiguous ranges of at most
/// `bucketSize` floats, reduced in the same (ascending) order on every rank.
public struct GradientAllreduce {
    public let bucketSize: Int
    public init(bucketSize: Int) {
        precondition(bucketSize > 0, "bucket size must be positive")
        self.bucketSize = bucketSize
    }

    /// The buckets of a buffer of `count` floats, in the order they are reduced.
    public func bucketRanges(count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: bucketSize).map { $0..<min($0 + bucketSize, count) }
    }

    /// Sums `buffer` across ranks, bucket after bucket (allocates nothing).
    public func reduce(_ buffer: FloatBuffer, over comm: Communicator) {
        guard comm.size > 1 else { return }
        var start = 0
        while start < buffer.count {
            let n = min(bucketSize, buffer.count - start)
            comm.allreduceSum(buffer.base + start, count: n)
            start += n
        }
    }
}
