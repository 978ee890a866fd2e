// Which part of a global batch one replica owns: rank r of P processes, thread k of K threads.
// One rule, applied the same way on every rank, so shards are disjoint, contiguous and cover
// the batch. It does not know about windows or order (EpochOrder applies it).

/// One replica's coordinates: thread `thread` of `threadCount` in process `rank` of `rankCount`.
///
/// The rule for a global batch of n windows (positions 0 ..< n): `balanced(n, P)` gives rank r
/// positions [r·⌊n/P⌋ + min(r, n mod P), …) of length ⌊n/P⌋ + (r < n mod P ? 1 : 0); the rank's
/// part is then split the same way among its K threads. So ranks differ by at most one window,
/// threads of one rank by at most one, and — because ⌈(m+1)/K⌉ ≤ ⌊m/K⌋ + 1 — any two replicas
/// by at most one. A replica may get 0 windows when n < P·K.
public struct Shard: Sendable, Hashable, Codable {
    /// This process's rank r.
    public let rank: Int
    /// Number of processes P.
    public let rankCount: Int
    /// This replica's thread k inside the process.
    public let thread: Int
    /// Replica threads per process K.
    public let threadCount: Int

    /// A replica's coordinates (preconditions: r < P, k < K).
    public init(rank: Int = 0, rankCount: Int = 1, thread: Int = 0, threadCount: Int = 1) {
        precondition(rankCount >= 1 && (0..<rankCount).contains(rank), "Shard: rank \(rank) of \(rankCount)")
        precondition(threadCount >= 1 && (0..<threadCount).contains(thread), "Shard: thread \(thread) of \(threadCount)")
        self.rank = rank
        self.rankCount = rankCount
        self.thread = thread
        self.threadCount = threadCount
    }

    /// The whole batch (one process, one thread).
    public static let whole = Shard()

    /// Replica number in rank-major order (r·K + k), of `replicaCount` = P·K.
    public var replica: Int { rank * threadCount + thread }
    /// Replicas in the job, P·K.
    public var replicaCount: Int { rankCount * threadCount }

    /// Part `index` of `parts` nearly equal, contiguous parts of 0 ..< n.
    public static func balanced(_ n: Int, parts: Int, index: Int) -> Range<Int> {
        let base = n / parts, extra = n % parts
        let start = index * base + min(index, extra)
        return start ..< start + base + (index < extra ? 1 : 0)
    }

    /// This rank's positions in a global batch of n windows.
    public func rankRange(in n: Int) -> Range<Int> { Shard.balanced(n, parts: rankCount, index: rank) }

    /// This replica's positions in a global batch of n windows.
    public func range(in n: Int) -> Range<Int> {
        let part = rankRange(in: n)
        let own = Shard.balanced(part.count, parts: threadCount, index: thread)
        return part.lowerBound + own.lowerBound ..< part.lowerBound + own.upperBound
    }

    /// The most windows any replica gets from a global batch of n (for buffer capacity).
    public static func maxShardSize(_ n: Int, rankCount: Int, threadCount: Int) -> Int {
        (((n + rankCount - 1) / rankCount) + threadCount - 1) / threadCount
    }
}
