// The batch plan: how many steps an epoch has, which windows form each step's global batch
// and in what order, and the global window and target counts losses are divided by. Derived
// from the plan's numbers, (seed, epoch) alone — never from a rank's own shard — so every rank
// agrees on it without talking. It does not fill buffers (WindowedDataset.fill) or sum losses.

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

    /// A plan over independent windows.
    /// - Throws: `DataError.Kind.invalidSetting` when batchSize < 1, or when `dropLast` leaves no
    ///   step (fewer windows than one batch).
    public init(windowCount: Int, batchSize: Int, targetsPerWindow: Int,
                shuffle: Bool, seed: UInt64, dropLast: Bool) throws(DataError) {
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
    }

    /// A plan over B stateful streams of `windowsPerStream` windows (window index b·W + w).
    public init(streams: Int, windowsPerStream: Int, targetsPerWindow: Int) {
        precondition(streams >= 1 && windowsPerStream >= 0 && targetsPerWindow >= 1, "BatchPlan: bad stream counts")
        self.windowCount = streams * windowsPerStream
        self.batchSize = streams
        self.targetsPerWindow = targetsPerWindow
        self.mode = .streams(count: streams, windowsPerStream: windowsPerStream)
    }

    /// The training plan of `dataset`: streams when it is stateful (then `batchSize` must be the
    /// stream count), else shuffled windows of the training split.
    /// - Throws: `DataError` as the initialisers do, or for a batch size that differs from the
    ///   stream count.
    public static func training(_ dataset: some WindowedDataset, batchSize: Int, shuffle: Bool = true,
                                seed: UInt64, dropLast: Bool = false) throws(DataError) -> BatchPlan {
        try plan(dataset, .train, batchSize: batchSize, shuffle: shuffle, seed: seed, dropLast: dropLast)
    }

    /// The evaluation plan of a split: stored order, partial last batch kept, every window once.
    /// - Throws: `DataError` for batchSize < 1 or a stateful batch size that differs from the stream count.
    public static func evaluation(_ dataset: some WindowedDataset, split: DataSplit, batchSize: Int) throws(DataError) -> BatchPlan {
        try plan(dataset, split, batchSize: batchSize, shuffle: false, seed: 0, dropLast: false)
    }

    private static func plan(_ dataset: some WindowedDataset, _ split: DataSplit, batchSize: Int, shuffle: Bool,
                             seed: UInt64, dropLast: Bool) throws(DataError) -> BatchPlan {
        if let streams = dataset.streamCount {
            if batchSize != streams {
                throw DataError(.invalidSetting, problem: "stateful data has \(streams) streams but batch_size is \(batchSize)",
                                fix: "stateful training uses one stream per batch row: make them equal")
            }
            return BatchPlan(streams: streams, windowsPerStream: dataset.windowCount(split) / streams,
                             targetsPerWindow: dataset.targetsPerWindow)
        }
        return try BatchPlan(windowCount: dataset.windowCount(split), batchSize: batchSize,
                             targetsPerWindow: dataset.targetsPerWindow, shuffle: shuffle, seed: seed, dropLast: dropLast)
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

    /// Target elements in the global batch of `step`: what the summed loss is divided by.
    public func targetCount(step: Int) -> Int { windowCount(step: step) * targetsPerWindow }

    /// The most windows one replica ever gets (size its `BatchBuffers` with this).
    public func maxShardSize(_ shard: Shard) -> Int {
        Shard.maxShardSize(batchSize, rankCount: shard.rankCount, threadCount: shard.threadCount)
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
        if case .windows(true, let seed, _) = plan.mode {
            var order = (0..<plan.windowCount).map { UInt32(truncatingIfNeeded: $0) }
            var rng = SeededRandom.stream(seed: seed, UInt64(epoch))
            rng.shuffle(&order)
            permutation = order
        } else {
            permutation = nil
        }
    }

    /// The global batch of `step`, in order.
    public func windows(step: Int) -> WindowList { windows(step: step, shard: .whole) }

    /// The part of `step`'s global batch that `shard` owns (see `Shard` for the rule).
    public func windows(step: Int, shard: Shard) -> WindowList {
        windows(step: step, within: shard.range(in: plan.windowCount(step: step)))
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
