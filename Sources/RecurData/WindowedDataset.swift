// The one face every data set shows the trainer: input and output sizes, target kind, window
// counts per split, and `fill`, which writes a replica's windows into its preallocated,
// time-major batch buffers without allocating. It says nothing about order or sharding
// (BatchPlan) and nothing about models.

import RecurKernels

/// What a window's targets are, and so which loss the trainer uses.
public enum TargetKind: String, Sendable, Codable, CaseIterable {
    /// A token id after every input step (cross-entropy at every step).
    case nextTokens = "next_tokens"
    /// One token id after the window.
    case lastToken = "last_token"
    /// k·O values after every input step (squared error at every step).
    case nextValues = "next_values"
    /// k·O values after the window.
    case lastValues = "last_values"
    /// One class per sequence (cross-entropy on the last step).
    case classLabel = "class_label"
    /// A class at every step of a sequence (sequence labelling; cross-entropy at every step,
    /// −1 on padded steps, which are not counted).
    case stepClasses = "step_classes"

    /// Whether targets are integers (tokens or classes) rather than values.
    public var isIntegral: Bool { self != .nextValues && self != .lastValues }
    /// Whether there are targets at every step rather than once per window.
    public var isPerStep: Bool { self == .nextTokens || self == .nextValues || self == .stepClasses }
    /// Whether targets are classes (per sequence or per step), scored with a confusion matrix.
    public var isClassification: Bool { self == .classLabel || self == .stepClasses }
}

/// What a window's inputs are.
public enum InputShape: Sendable, Equatable {
    /// Token ids below `vocabularySize`.
    case tokens(vocabularySize: Int)
    /// `count` Float features per step.
    case features(count: Int)
}

/// A loaded data set cut into windows, ready to fill batches.
///
/// Buffer layouts written by `fill` for b = `windows.count` windows, L = `seqLen`,
/// F = feature count, k = `horizon`, O = target columns (time-major, window j innermost):
/// - inputs, tokens: `inputTokens[t·b + j]` (Int32);
/// - inputs, features: `inputFeatures[(t·b + j)·F + f]`;
/// - targets, `nextTokens`, `stepClasses`: `targetTokens[t·b + j]` (−1 past a window's length);
///   `lastToken` and `classLabel`: `targetTokens[j]`;
/// - targets, `nextValues`: `targetValues[(t·b + j)·(k·O) + h·O + o]`;
/// - targets, `lastValues`: `targetValues[j·(k·O) + h·O + o]`.
/// Values are in normalised units.
public protocol WindowedDataset: Sendable {
    /// Token ids or features.
    var input: InputShape { get }
    /// The target kind, which picks the loss.
    var targetKind: TargetKind { get }
    /// Steps per window (L).
    var seqLen: Int { get }
    /// Steps predicted per target position (k); 1 for tokens and classes.
    var horizon: Int { get }
    /// Width of the model's head: vocabulary size, k·O, or the class count.
    var outputSize: Int { get }
    /// Target elements per window — what a loss sum is divided by, per window: L (next tokens,
    /// step classes: at most; with variable lengths a window's own steps), 1 (last token,
    /// class), L·k·O (next values), k·O (last values).
    var targetsPerWindow: Int { get }
    /// B for stateful streams (each step takes window w of every stream), nil otherwise.
    var streamCount: Int? { get }
    /// Windows in a split (B·W for streams).
    func windowCount(_ split: DataSplit) -> Int
    /// Writes `windows` (indices below `windowCount(split)`) of `split` into `batch` in the
    /// layouts above, for `batchSteps` steps (and with variable lengths each window's length
    /// into `batch.lengths`, its steps after that zero). Allocates nothing.
    func fill(_ split: DataSplit, windows: some Collection<Int>, into batch: BatchBuffers)
    /// Whether windows differ in length (labelled sequences of variable length): then `fill`
    /// writes each one's length and the model reads each one's own last step.
    var hasVariableLengths: Bool { get }
    /// The steps of window `window` of `split` (`seqLen` unless `hasVariableLengths`).
    func windowLength(_ split: DataSplit, _ window: Int) -> Int
    /// A stable 64-bit hash of the loaded data and its settings (O(data size); call once).
    func fingerprint() -> UInt64
    /// What the reader decided that the user should know (a numeric first row taken as the
    /// header), said once when a run starts.
    var notes: [String] { get }
    /// What is stored with the model: vocabulary, normalisation, columns, windowing.
    var manifest: DataManifest { get }
}

extension WindowedDataset {
    public var hasVariableLengths: Bool { false }
    public var notes: [String] { [] }
    public func windowLength(_ split: DataSplit, _ window: Int) -> Int { seqLen }

    /// Each window's steps, when they differ (`hasVariableLengths`); nil when all are `seqLen`.
    public func windowLengths(_ split: DataSplit) -> [Int32]? {
        hasVariableLengths ? (0..<windowCount(split)).map { Int32(windowLength(split, $0)) } : nil
    }

    /// The steps a batch of `windows` spans: `seqLen`, or its longest window's.
    public func batchSteps(_ split: DataSplit, windows: some Collection<Int>) -> Int {
        guard hasVariableLengths else { return seqLen }
        var t = 1
        for w in windows { t = max(t, windowLength(split, w)) }
        return t
    }

    /// Features per step (0 for tokens).
    public var featureCount: Int {
        if case .features(let f) = input { return f }
        return 0
    }

    /// Vocabulary size (0 for features).
    public var vocabularySize: Int {
        if case .tokens(let v) = input { return v }
        return 0
    }

    /// Target elements of `windowCount` windows (the global count of a step).
    public func targetCount(windows windowCount: Int) -> Int { windowCount * targetsPerWindow }
}

/// One replica's preallocated batch: sized once for `capacity` windows; `fill` uses the first
/// b·(…) elements of each buffer for a batch of b ≤ capacity windows.
public struct BatchBuffers: Sendable {
    public let capacity: Int
    /// [L·capacity] token inputs, or nil.
    public let inputTokens: Int32Buffer?
    /// [L·capacity·F] feature inputs, or nil.
    public let inputFeatures: FloatBuffer?
    /// Token or class targets: [L·capacity] (next tokens) or [capacity], or nil.
    public let targetTokens: Int32Buffer?
    /// Value targets: [L·capacity·k·O] (next) or [capacity·k·O], or nil.
    public let targetValues: FloatBuffer?
    /// Each window's length [capacity], for data of variable lengths; else nil.
    public let lengths: Int32Buffer?

    /// Allocates the buffers `dataset` fills, for up to `capacity` windows.
    public init(for dataset: some WindowedDataset, capacity: Int) {
        precondition(capacity >= 0, "BatchBuffers: negative capacity")
        self.capacity = capacity
        let l = dataset.seqLen
        switch dataset.input {
        case .tokens:
            inputTokens = Int32Buffer(count: l * capacity)
            inputFeatures = nil
        case .features(let f):
            inputTokens = nil
            inputFeatures = FloatBuffer(count: l * capacity * f)
        }
        let perWindow = dataset.targetsPerWindow
        if dataset.targetKind.isIntegral {
            targetTokens = Int32Buffer(count: perWindow * capacity)
            targetValues = nil
        } else {
            targetTokens = nil
            targetValues = FloatBuffer(count: perWindow * capacity)
        }
        lengths = dataset.hasVariableLengths ? Int32Buffer(count: capacity) : nil
    }
}
