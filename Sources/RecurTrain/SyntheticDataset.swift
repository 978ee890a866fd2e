// A fixed, seeded, in-memory data set for benchmarks and tests: random token ids (a language
// model's next-token task), random N(0,1) values (next-step regression), or random sequences of
// different lengths with a random class each, generated once. It reads no file and every split
// holds the same windows; the numbers mean nothing.

import RecurData
import RecurKernels

/// `windows` random windows of `seqLen` steps: tokens below `vocabularySize`, or `features`
/// Gaussian values per step with as many value targets (what torch_rnn_bench.py feeds PyTorch).
public struct SyntheticDataset: WindowedDataset {
    public let input: InputShape
    public let targetKind: TargetKind
    public let seqLen: Int
    public var horizon: Int { 1 }
    public let outputSize: Int
    public var targetsPerWindow: Int { targetKind == .classLabel ? 1 : targetKind.isIntegral ? seqLen : seqLen * outputSize }
    public var streamCount: Int? { nil }
    /// Windows in every split.
    public let windows: Int
    public let seed: UInt64
    // Window-major storage: inputs [W, L] tokens or [W, L, F] values; targets likewise.
    private let inputTokens: Int32Buffer?, targetTokens: Int32Buffer?
    private let inputValues: FloatBuffer?, targetValues: FloatBuffer?
    /// Classification: each window's steps, or nil (all `seqLen`).
    private let lengths: [Int32]?

    /// Random tokens: inputs and next-token targets below `vocabularySize`.
    public init(tokens vocabularySize: Int, seqLen: Int, windows: Int, seed: UInt64 = 1) {
        precondition(vocabularySize > 1 && seqLen > 0 && windows > 0, "SyntheticDataset: bad sizes")
        input = .tokens(vocabularySize: vocabularySize)
        targetKind = .nextTokens
        outputSize = vocabularySize
        self.seqLen = seqLen; self.windows = windows; self.seed = seed
        var rng = SeededRandom(seed: seed)
        let n = windows * seqLen
        let x = Int32Buffer(count: n), y = Int32Buffer(count: n)
        for i in 0..<n { x[i] = Int32(rng.below(vocabularySize)) }
        for i in 0..<n { y[i] = Int32(rng.below(vocabularySize)) }
        inputTokens = x; targetTokens = y; inputValues = nil; targetValues = nil
        lengths = nil
    }

    /// Random values: `features` inputs and `features` next-value targets per step.
    public init(features: Int, seqLen: Int, windows: Int, seed: UInt64 = 1) {
        precondition(features > 0 && seqLen > 0 && windows > 0, "SyntheticDataset: bad sizes")
        input = .features(count: features)
        targetKind = .nextValues
        outputSize = features
        self.seqLen = seqLen; self.windows = windows; self.seed = seed
        var rng = SeededRandom(seed: seed)
        let n = windows * seqLen * features
        let x = FloatBuffer(count: n), y = FloatBuffer(count: n)
        for i in 0..<n { x[i] = rng.normal() }
        for i in 0..<n { y[i] = rng.normal() }
        inputValues = x; targetValues = y; inputTokens = nil; targetTokens = nil
        lengths = nil
    }

    /// Random sequences of `features` values per step and 1 … `seqLen` steps (window w has
    /// 1 + (7919·w mod seqLen)), each with a random class below `classes`.
    public init(classes: Int, features: Int, seqLen: Int, windows: Int, seed: UInt64 = 1) {
        precondition(classes > 1 && features > 0 && seqLen > 0 && windows > 0, "SyntheticDataset: bad sizes")
        input = .features(count: features)
        targetKind = .classLabel
        outputSize = classes
        self.seqLen = seqLen; self.windows = windows; self.seed = seed
        var rng = SeededRandom(seed: seed)
        let x = FloatBuffer(count: windows * seqLen * features), y = Int32Buffer(count: windows)
        for i in 0..<x.count { x[i] = rng.normal() }
        for i in 0..<windows { y[i] = Int32(rng.below(classes)) }
        inputValues = x; targetTokens = y; inputTokens = nil; targetValues = nil
        lengths = (0..<windows).map { Int32(Self.length(window: $0, seqLen: seqLen)) }
    }

    /// The steps of window w of a classification set: 1 + (7919·w mod seqLen).
    public static func length(window w: Int, seqLen: Int) -> Int { 1 + (7919 * w) % seqLen }

    /// The mean steps of a window.
    public var meanLength: Double { lengths.map { Double($0.reduce(0) { $0 + Int($1) }) / Double($0.count) } ?? Double(seqLen) }
    public var hasVariableLengths: Bool { lengths != nil }
    public func windowLength(_ split: DataSplit, _ window: Int) -> Int { lengths.map { Int($0[window]) } ?? seqLen }

    public func windowCount(_ split: DataSplit) -> Int { windows }

    public func fill(_ split: DataSplit, windows list: some Collection<Int>, into batch: BatchBuffers) {
        let b = list.count, L = seqLen
        precondition(b <= batch.capacity, "fill: \(b) windows exceed the batch capacity \(batch.capacity)")
        var j = 0
        if let lengths, let x = inputValues, let y = targetTokens, let bx = batch.inputFeatures, let by = batch.targetTokens {
            let F = featureCount, T = batchSteps(split, windows: list)
            for w in list {
                let n = Int(lengths[w])
                for t in 0..<n { Vec.copy(x.base + (w * L + t) * F, bx.base + (t * b + j) * F, count: F) }
                for t in n..<T { Vec.zero(bx.base + (t * b + j) * F, count: F) }
                batch.lengths?.base[j] = lengths[w]
                by[j] = y[w]
                j += 1
            }
            return
        }
        for w in list {
            if let x = inputTokens, let y = targetTokens, let bx = batch.inputTokens, let by = batch.targetTokens {
                for t in 0..<L {
                    bx[t * b + j] = x[w * L + t]
                    by[t * b + j] = y[w * L + t]
                }
            } else if let x = inputValues, let y = targetValues, let bx = batch.inputFeatures, let by = batch.targetValues {
                let F = outputSize
                for t in 0..<L {
                    Vec.copy(x.base + (w * L + t) * F, bx.base + (t * b + j) * F, count: F)
                    Vec.copy(y.base + (w * L + t) * F, by.base + (t * b + j) * F, count: F)
                }
            }
            j += 1
        }
    }

    public func fingerprint() -> UInt64 {
        var h = StableHasher()
        h.combine(seed); h.combine(seqLen); h.combine(windows); h.combine(outputSize)
        h.combine(targetKind.isIntegral ? 1 : 0)
        if let lengths { h.combine(array: lengths) }
        return h.finalize()
    }

    public var manifest: DataManifest {
        targetKind == .classLabel
            ? DataManifest(kind: .labelled, featureColumns: (0..<featureCount).map { "x\($0)" }, steps: seqLen, classCount: outputSize)
            : DataManifest(kind: targetKind.isIntegral ? .chars : .series,
                     featureColumns: (0..<featureCount).map { "x\($0)" }, targetColumns: [])
    }
}
