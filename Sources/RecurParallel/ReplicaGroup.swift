// Thread replicas inside one process: runs one closure per replica on Dispatch's pool and sums
// the replicas' flat gradient buffers into the first one in a fixed order (replica 0, 1, 2 …
// for every element), with the sum itself spread over threads by contiguous chunks.
// It knows nothing of models or data; RecurTrain's Replica owns those.

import Dispatch
import RecurKernels

public enum ReplicaGroup {
    /// Runs `body(k)` for every replica k in 0..<count, concurrently when count > 1.
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count == 1 { body(0); return }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// buffers[0] += buffers[1] + … + buffers[n−1], element by element in replica order, so
    /// the result does not depend on how the chunks are scheduled.
    /// - Parameter threads: how many chunks to spread the work over.
    public static func sumIntoFirst(_ buffers: [FloatBuffer], threads: Int) {
        guard buffers.count > 1 else { return }
        let count = buffers[0].count
        precondition(buffers.allSatisfy { $0.count == count }, "replica gradient buffers differ in size")
        let chunks = max(1, min(threads, count / 4096 + 1))
        let per = (count + chunks - 1) / chunks
        let bases = buffers.map(\.base)
        run(chunks) { c in
            let start = c * per, n = min(per, count - start)
            guard n > 0 else { return }
            let dst = bases[0] + start
            for k in 1..<bases.count { Vec.add(bases[k] + start, into: dst, count: n) }
        }
    }
}

/// Sums the flat gradient buffer across ranks in buckets: contiguous ranges of at most
/// `bucketSize` floats, reduced in the same (ascending) order on every rank.
public struct GradientAllreduce {
    public let bucketSize: Int
    public init(bucketSize: Int) {
        precondition(bucketSize > 0, "bucket size must be positive")
        self.bucketSize = bucketSize
    }

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
