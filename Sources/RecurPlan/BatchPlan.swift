// The batch plan: how many steps an epoch has, which windows form each step's global batch
// and in what order, and the global window and target counts losses are divided by. Derived
// from the plan's numbers, (seed, epoch) alone — never from a rank's own shard — so every rank
// agrees on it without talking. It does not fill buffers (WindowedDataset.fill) or sum losses.

import RecurData
import RecurKernels

/// The steps of one epoch over one split.
///
/// - **Windows** (`shuffle`, `seed`, `dropLast`): the epoch visits a permutation of the
///   windows — the SeededRandom shuffle of 0 ..< windowCount with
///   `SeededRandom.stream(seed: seed, epoch)`, or stored order without `shuffle` — in steps of
///   `batchSize`. Steps per epoch: ⌊W/B⌋ with `dropLast`, else ⌈W/B⌉; the last step of a kept
///   partial batch has W − (steps−1)·B windows, and losses are divided by that true count.
/// - **Streams** (stateful training): B streams of W windows each; step w takes window w of every
///   stream, stream b at position b. Steps per epoch: W. Every step is full, and each replica
///   owns the same streams (`Shard.range(in: B)`) for the whole run.
///
/// Evaluation plans keep stored order and the partial batch, so every window is visited exactly
/// once across all replicas.
///
/// - **Variable lengths** (`lengths`): each training batch is ordered longest first (then by
///   window index), and a batch is cut among replicas by work, not by count — Note [Work-
///   balanced parts].
public struct BatchPlan: Sendable, Equatable {
    /// Independent windows in a seeded or stored order, or stateful streams.
    public enum Mode: Sendable, Equatable {
        case windows(shuffle: Bool, seed: UInt64, dropLast: Bool)
        case streams(count: Int, windowsPerStream: Int)
    }

    /// Windows in the split.
    public let windowCount: Int
    /// Windows of a full global batch (B).
    public let batchSize: Int
    /// Target elements per window (see `WindowedDataset.targetsPerWindow`).
    public let targetsPerWindow: Int
    /// How windows are ordered and grouped into steps.
    public let mode: Mode
    /// Each window's steps when windows differ in length, else nil.
    public let lengths: [Int32]?
    /// Whether each batch is ordered longest first (training plans over variable lengths).
    public let sortsByLength: Bool
    /// Whether a window has a target at each of its own steps (step classes of variable
    /// length): a step's target count is then the sum of its windows' lengths.
    public let targetsPerStep: Bool

    /// A plan over independent windows.
    /// - Throws: `DataError.Kind.invalidSetting` when batchSize < 1, or when `dropLast` leaves no
    ///   step (fewer windows than one batch).
    /// - Parameters:
    ///   - lengths: each window's steps when they differ (work-balanced parts), or nil.
    ///   - sortsByLength: order each batch longest first (needs `lengths`).
    public init(windowCount: Int, batchSize: Int, targetsPerWindow: Int,
                shuffle: Bool, seed: UInt64, dropLast: Bool,
                lengths: [Int32]? = nil, sortsByLength: Bool = false, targetsPerStep: Bool = false) throws(DataError) {
        precondition(lengths == nil || lengths!.count == windowCount, "BatchPlan: one length per window")
        precondition(windowCount >= 0 && targetsPerWindow >= 1, "BatchPlan: bad counts")
        if batchSize < 1 {
            throw DataError(.invalidSetting, problem: "batch_size is \(batchSize)", fix: "set batch_size to 1 or more")
        }
        if dropLast && windowCount < batchSize {
            throw DataError(.tooShort, problem: "batch_size \(batchSize) is larger than the \(windowCount) windows, so drop_last leaves no step",
                            fix: "lower batch_size, use more data or a smaller stride, or set drop_last to false")
        }
        precondition(windowCount <= Int(UInt32.max), "BatchPlan: more than 2³² windows")
        self.windowCount = windowCount
        self.batchSize = batchSize
        self.targetsPerWindow = targetsPerWindow
        self.mode = .windows(shuffle: shuffle, seed: seed, dropLast: dropLast)
        self.lengths = lengths
        self.sortsByLength = sortsByLength && lengths != nil
        self.targetsPerStep = targetsPerStep && lengths != nil
    }

    /// A plan over B stateful streams of `windowsPerStream` windows (window index b·W + w).
    public init(streams: Int, windowsPerStream: Int, targetsPerWindow: Int) {
        precondition(streams >= 1 && windowsPerStream >= 0 && targetsPerWindow >= 1, "BatchPlan: bad stream counts")
        self.windowCount = streams * windowsPerStream
        self.batchSize = streams
        self.targetsPerWindow = targetsPerWindow
        self.mode = .streams(count: streams, windowsPerStream: windowsPerStream)
        self.lengths = nil
        self.sortsByLength = false
        self.targetsPerStep = false
    }

    /// The training plan of `dataset`: streams when it is stateful (then `batchSize` must be the
    /// stream count), else shuffled windows of the training split.
    /// - Throws: `DataError` as the initialisers do, or for a batch size that differs from the
    ///   stream count.
    public static func training(_ dataset: some WindowedDataset, batchSize: Int, shuffle: Bool = true,
                                seed: UInt64, dropLast: Bool = false) throws(DataError) -> BatchPlan {
        try plan(dataset, .train, batchSize: batchSize, shuffle: shuffle, seed: seed, dropLast: dropLast, sorts: true)
    }

    /// The evaluation plan of a split: stored order, partial last batch kept, every window once.
    /// - Throws: `DataError` for batchSize < 1 or a stateful batch size that differs from the stream count.
    public static func evaluation(_ dataset: some WindowedDataset, split: DataSplit, batchSize: Int) throws(DataError) -> BatchPlan {
        try plan(dataset, split, batchSize: batchSize, shuffle: false, seed: 0, dropLast: false, sorts: false)
    }

    private static func plan(_ dataset: some WindowedDataset, _ split: DataSplit, batchSize: Int, shuffle: Bool,
                             seed: UInt64, dropLast: Bool, sorts: Bool) throws(DataError) -> BatchPlan {
        if let streams = dataset.streamCount {
            if batchSize != streams {
                throw DataError(.invalidSetting, problem: "stateful data has \(streams) streams but batch_size is \(batchSize)",
                                fix: "stateful training uses one stream per batch row: make them equal")
            }
            return BatchPlan(streams: streams, windowsPerStream: dataset.windowCount(split) / streams,
                             targetsPerWindow: dataset.targetsPerWindow)
        }
        return try BatchPlan(windowCount: dataset.windowCount(split), batchSize: batchSize,
                             targetsPerWindow: dataset.targetsPerWindow, shuffle: shuffle, seed: seed, dropLast: dropLast,
                             lengths: dataset.windowLengths(split), sortsByLength: sorts,
                             targetsPerStep: dataset.targetKind == .stepClasses)
    }

    /// Steps in every epoch.
    public var stepsPerEpoch: Int {
        switch mode {
        case .windows(_, _, let dropLast):
            return dropLast ? windowCount / batchSize : (windowCount + batchSize - 1) / batchSize
        case .streams(_, let w):
            return w
        }
    }

    /// Windows in the global batch of `step` (B, or fewer for a kept partial last batch).
    public func windowCount(step: Int) -> Int {
        precondition(step >= 0 && step < stepsPerEpoch, "BatchPlan: step \(step) outside 0..<\(stepsPerEpoch)")
        return min(batchSize, windowCount - step * batchSize)
    }

    /// Target elements in the global batch of `step`: what the summed loss is divided by
    /// (with `targetsPerStep`, `EpochOrder.targetCount(step:)` knows the batch's windows).
    public func targetCount(step: Int) -> Int {
        precondition(!targetsPerStep, "BatchPlan.targetCount: per-step targets of variable length depend on the epoch's order")
        return windowCount(step: step) * targetsPerWindow
    }

    /// The most windows one replica ever gets (size its `BatchBuffers` with this): with
    /// variable lengths a part may hold more short windows than an even share, up to
    /// `maxPartSize`.
    public func maxShardSize(_ shard: Shard) -> Int {
        lengths != nil ? Self.maxPartSize(batch: batchSize, parts: shard.replicaCount)
            : Shard.maxShardSize(batchSize, rankCount: shard.rankCount, threadCount: shard.threadCount)
    }

    /// The most windows a work-balanced part of a batch of `batch` windows cut into `parts`
    /// holds: twice an even share (so a replica's buffers stay within twice those of windows of
    /// one length), at most the batch (Note [Work-balanced parts]).
    public static func maxPartSize(batch: Int, parts: Int) -> Int {
        min(batch, 2 * ((batch + parts - 1) / max(parts, 1)))
    }

    /// Whether windows carry hidden state to the next step (reset at each epoch's start).
    public var isStateful: Bool {
        if case .streams = mode { return true }
        return false
    }

    /// The order of `epoch` (allocates one permutation of the windows when shuffling).
    public func order(epoch: Int) -> EpochOrder { EpochOrder(plan: self, epoch: epoch) }
}

/// The window order of one epoch; hands out each step's global batch and each replica's shard.
public struct EpochOrder: Sendable {
    /// The plan this order belongs to.
    public let plan: BatchPlan
    /// The epoch (0-based) whose order this is.
    public let epoch: Int
    private let permutation: [UInt32]?

    init(plan: BatchPlan, epoch: Int) {
        self.plan = plan
        self.epoch = epoch
        guard case .windows(let shuffle, let seed, _) = plan.mode, shuffle || plan.sortsByLength else {
            permutation = nil
            return
        }
        var order = (0..<plan.windowCount).map { UInt32(truncatingIfNeeded: $0) }
        if shuffle {
            var rng = SeededRandom.stream(seed: seed, UInt64(epoch))
            rng.shuffle(&order)
        }
        if let lengths = plan.lengths, plan.sortsByLength {
            // Each batch longest first, ties by window index: its parts then hold windows of
            // similar length, so little of a part's work is padding.
            for start in stride(from: 0, to: order.count, by: plan.batchSize) {
                order[start ..< min(start + plan.batchSize, order.count)].sort {
                    lengths[Int($0)] != lengths[Int($1)] ? lengths[Int($0)] > lengths[Int($1)] : $0 < $1
                }
            }
        }
        permutation = order
    }

    /// The global batch of `step`, in order.
    public func windows(step: Int) -> WindowList { windows(step: step, shard: .whole) }

    /// Target elements in the global batch of `step`: what its summed loss is divided by.
    public func targetCount(step: Int) -> Int {
        plan.targetsPerStep ? steps(step: step) : plan.targetCount(step: step)
    }

    /// The steps of `step`'s windows summed (with variable lengths; 0 without).
    public func steps(step: Int) -> Int {
        guard let lengths = plan.lengths else { return 0 }
        var n = 0
        for w in windows(step: step) { n += Int(lengths[w]) }
        return n
    }

    /// The part of `step`'s global batch that `shard` owns (see `Shard` for the rule; with
    /// variable lengths, part `shard.replica` of the work-balanced parts).
    public func windows(step: Int, shard: Shard) -> WindowList {
        if plan.lengths != nil { return windows(step: step, within: part(step: step, parts: shard.replicaCount, index: shard.replica)) }
        return windows(step: step, within: shard.range(in: plan.windowCount(step: step)))
    }

    // Note [Work-balanced parts]
    // With windows of different lengths a replica's work is its padded rows, (windows in its
    // part) × (its longest window), not its window count. A batch is cut into contiguous parts
    // whose largest such cost is as small as it can be: the smallest cost C for which filling
    // parts greedily (a part takes the next window while count × longest ≤ C and it holds
    // fewer than BatchPlan.maxPartSize, twice an even share, so replicas' buffers stay small)
    // needs at most `parts` parts, found by bisection; trailing parts may be empty. It reads only the plan's
    // lengths and the epoch's order, so every rank and thread derives the same parts without
    // talking, and it allocates nothing. Training batches are ordered longest first, so a part's
    // windows have similar lengths and little of its work is padding.

    /// Positions (0 ..< the batch's window count) of part `index` of `parts` of `step`'s batch:
    /// `Shard.balanced` by count, or with variable lengths by work (Note [Work-balanced parts]).
    public func part(step: Int, parts: Int, index: Int) -> Range<Int> {
        let n = plan.windowCount(step: step)
        guard let lengths = plan.lengths, parts > 1 else { return Shard.balanced(n, parts: parts, index: index) }
        let list = windows(step: step, within: 0..<n)
        let most = BatchPlan.maxPartSize(batch: n, parts: parts)
        @inline(__always) func length(_ p: Int) -> Int { Int(lengths[list[list.startIndex + p]]) }
        // Greedy parts under cost c: calls `visit(k, range)` for each part k; returns the count.
        func cut(_ c: Int, _ visit: (Int, Range<Int>) -> Void) -> Int {
            var k = 0, start = 0, longest = 0
            for p in 0..<n {
                let m = max(longest, length(p))
                if p > start && ((p - start + 1) * m > c || p - start == most) {
                    visit(k, start..<p); k += 1; start = p; longest = length(p)
                } else {
                    longest = m
                }
            }
            if n > start { visit(k, start..<n); k += 1 }
            return k
        }
        var longest = 1
        for p in 0..<n { longest = max(longest, length(p)) }
        var lo = longest, hi = n * longest
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if cut(mid, { _, _ in }) <= parts { hi = mid } else { lo = mid + 1 }
        }
        var mine = n..<n
        _ = cut(lo) { k, r in if k == index { mine = r } }
        return mine
    }

    /// Positions `own` (0 ..< the batch's window count) of `step`'s global batch.
    public func windows(step: Int, within own: Range<Int>) -> WindowList {
        switch plan.mode {
        case .windows:
            let start = step * plan.batchSize
            return WindowList(positions: start + own.lowerBound ..< start + own.upperBound,
                              source: permutation.map { .permutation($0) } ?? .identity)
        case .streams(_, let w):
            return WindowList(positions: own, source: .streams(windowsPerStream: w, step: step))
        }
    }
}

/// A replica's windows for one step: window indices to pass to `WindowedDataset.fill`.
/// A view (no copy) of the epoch's order.
public struct WindowList: RandomAccessCollection, Sendable {
    enum Source: Sendable {
        case identity
        case permutation([UInt32])
        /// Position b is stream b's window `step`: index b·W + step.
        case streams(windowsPerStream: Int, step: Int)
    }

    /// Positions in the epoch's order (stream numbers for streams).
    public let positions: Range<Int>
    let source: Source

    /// The first position.
    public var startIndex: Int { positions.lowerBound }
    /// One past the last position.
    public var endIndex: Int { positions.upperBound }

    /// The window index at `position`.
    @inline(__always)
    public subscript(position: Int) -> Int {
        switch source {
        case .identity: position
        case .permutation(let p): Int(p[position])
        case .streams(let w, let step): position * w + step
        }
    }

    /// For stateful streams: the stream numbers these windows continue (constant for a replica).
    public var streams: Range<Int>? {
        if case .streams = source { return positions }
        return nil
    }
}
