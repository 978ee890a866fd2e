// How a sequence of N steps is cut into training windows: seq_len, stride, target (next or
// last), horizon, or B stateful streams for truncated BPTT. Pure arithmetic on offsets — a
// window is a start offset into the one stored sequence, never a copy.

import RecurFiles

/// What a window predicts.
public enum WindowTarget: String, Sendable, Codable, CaseIterable {
    /// A target after every input step (language models, sequence-to-sequence forecasting).
    case next
    /// Only the value(s) after the window (sequence-to-one forecasting).
    case last
}

/// How windows are cut from a sequence x[0 ..< N].
///
/// Window i starts at s = i·stride. Its inputs are x[s ..< s+L] (L = `seqLen`) and, with
/// horizon k:
/// - `next`: input step t has targets x[s+t+1+h] for h < k (k = 1: x[s+1 ..< s+L+1]);
/// - `last`: targets x[s+L+h] for h < k.
///
/// Both need s + L + k ≤ N, so the **window count** is
/// `count = (N − L − k) / stride + 1` (integer division) when N ≥ L + k, else 0.
/// Example: N = 7 (0…6), L = 4, stride 2, `last`, k = 1 → 2 windows, [0 1 2 3]→4 and [2 3 4 5]→6.
///
/// **Streams** (stateful training, `streams = B`): the sequence is split into B contiguous
/// streams of ⌊N / B⌋ steps (the tail N mod B is unused); stream b starts at b·⌊N/B⌋. Each stream
/// is cut into non-overlapping windows (stride must equal L) that continue one another; a stream
/// of M steps holds W = (M − k) / L windows when M ≥ L + k. Window index i ↦ stream b = i / W,
/// position w = i mod W, offset b·M + w·L; the count is B·W.
public struct Windowing: Sendable, Equatable, Codable {
    public var seqLen: Int
    public var stride: Int
    public var target: WindowTarget
    public var horizon: Int
    /// B contiguous streams for stateful training, or nil for independent windows.
    public var streams: Int?

    public init(seqLen: Int, stride: Int? = nil, target: WindowTarget = .next, horizon: Int = 1, streams: Int? = nil) {
        self.seqLen = seqLen
        self.stride = stride ?? seqLen
        self.target = target
        self.horizon = horizon
        self.streams = streams
    }

    /// - Throws: `DataError.Kind.invalidSetting` for non-positive sizes, or streams whose
    ///   stride is not seq_len.
    public func validate() throws(DataError) {
        if seqLen < 1 { throw DataError(.invalidSetting, problem: "seq_len is \(seqLen)", fix: "set seq_len to 1 or more") }
        if stride < 1 { throw DataError(.invalidSetting, problem: "stride is \(stride)", fix: "set stride to 1 or more") }
        if horizon < 1 { throw DataError(.invalidSetting, problem: "horizon is \(horizon)", fix: "set horizon to 1 or more") }
        if let streams {
            if streams < 1 {
                throw DataError(.invalidSetting, problem: "stateful training with \(streams) streams",
                                fix: "set the batch size (the number of streams) to 1 or more")
            }
            if stride != seqLen {
                throw DataError(.invalidSetting, problem: "stateful streams with stride \(stride) and seq_len \(seqLen)",
                                fix: "set stride equal to seq_len, so that each window continues where the last one ended")
            }
        }
    }

    /// The fewest steps a sequence needs for one window (one per stream when stateful).
    public var minimumLength: Int { (seqLen + horizon) * (streams ?? 1) }

    /// Steps of each stream for a sequence of `length` steps (`length` without streams).
    public func streamLength(_ length: Int) -> Int { length / (streams ?? 1) }

    /// Windows per stream (all windows without streams).
    public func windowsPerStream(length: Int) -> Int {
        let m = streamLength(length)
        guard m >= seqLen + horizon else { return 0 }
        return (m - seqLen - horizon) / stride + 1
    }

    /// Number of windows over a sequence of `length` steps (see the type's documentation).
    public func windowCount(length: Int) -> Int { windowsPerStream(length: length) * (streams ?? 1) }

    /// Start offset of window `i` in a sequence of `length` steps.
    @inline(__always)
    public func offset(of i: Int, length: Int) -> Int {
        guard streams != nil else { return i * stride }
        let w = windowsPerStream(length: length)
        return (i / w) * streamLength(length) + (i % w) * seqLen
    }

    /// Checks that the training split, and every split with a positive fraction, holds at least
    /// one window.
    /// - Parameters:
    ///   - length: the split's length in steps; `unit` names them in the message ("rows", "tokens").
    ///   - lower: what the fix suggests lowering first ("seq_len or horizon", "seq_len").
    /// - Throws: `DataError.Kind.tooShort` naming the split and how many steps it needs.
    public func checkSplitsHoldWindows(_ fractions: SplitFractions, file: String, unit: String, lower: String,
                                       length: (DataSplit) -> Int) throws(DataError) {
        for split in DataSplit.allCases where fractions.fraction(split) > 0 || split == .train {
            let n = length(split)
            if windowCount(length: n) == 0 {
                let need = "seq_len \(seqLen) + horizon \(horizon)" + (streams.map { " in each of \($0) streams" } ?? "")
                throw DataError(.tooShort, file: file,
                                problem: "the \(split.name) split has \(n) \(unit) but \(need) needs at least \(minimumLength)",
                                fix: "lower \(lower)\(streams != nil ? " or the batch size (streams)" : ""), or give the \(split.name) split a larger fraction")
            }
        }
    }
}
