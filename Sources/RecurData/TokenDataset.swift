// A text corpus cut into windows of token ids (characters or words): next-token targets for
// language models, or the one token after the window. It fills batches; it does not read files
// (TextCorpus) or choose which windows go where (BatchPlan).

import RecurKernels
import RecurFiles

/// Windows of a `TextCorpus`, each split windowed on its own (no window crosses a split).
public struct TokenDataset: WindowedDataset {
    /// The loaded text.
    public let corpus: TextCorpus
    /// How its splits are cut into windows.
    public let windowing: Windowing

    /// - Throws: `DataError` for bad windowing, a horizon above 1 (token targets predict one
    ///   step), or a split with a positive fraction that is too short for one window.
    public init(corpus: TextCorpus, windowing: Windowing) throws(DataError) {
        try windowing.validate()
        if windowing.horizon != 1 {
            throw DataError(.invalidSetting, file: corpus.path, problem: "horizon \(windowing.horizon) with token data",
                            fix: "use horizon 1 for text (multi-step horizons are for value series)")
        }
        try windowing.checkSplitsHoldWindows(corpus.options.splits, file: corpus.path, unit: "tokens",
                                             lower: "seq_len") { corpus.range($0).count }
        self.corpus = corpus
        self.windowing = windowing
    }

    public var input: InputShape { .tokens(vocabularySize: corpus.vocabulary.count) }
    public var targetKind: TargetKind { windowing.target == .next ? .nextTokens : .lastToken }
    public var seqLen: Int { windowing.seqLen }
    public var horizon: Int { 1 }
    public var outputSize: Int { corpus.vocabulary.count }
    public var targetsPerWindow: Int { windowing.target == .next ? windowing.seqLen : 1 }
    public var streamCount: Int? { windowing.streams }

    public func windowCount(_ split: DataSplit) -> Int { windowing.windowCount(length: corpus.range(split).count) }

    public func fill(_ split: DataSplit, windows: some Collection<Int>, into batch: BatchBuffers) {
        let b = windows.count
        precondition(b <= batch.capacity, "fill: \(b) windows exceed the batch capacity \(batch.capacity)")
        guard let inputs = batch.inputTokens?.base, let targets = batch.targetTokens?.base else {
            preconditionFailure("fill: token batches need inputTokens and targetTokens")
        }
        corpus.tokens.withIDs({ write($0, split, windows, b, inputs, targets) },
                              { write($0, split, windows, b, inputs, targets) })
    }

    @inline(__always)
    private func write<T: BinaryInteger>(_ ids: UnsafeBufferPointer<T>, _ split: DataSplit, _ windows: some Collection<Int>,
                                         _ b: Int, _ inputs: UnsafeMutablePointer<Int32>, _ targets: UnsafeMutablePointer<Int32>) {
        let range = corpus.range(split), n = range.count, count = windowing.windowCount(length: n)
        let l = windowing.seqLen, next = windowing.target == .next
        var j = 0
        for w in windows {
            precondition(w >= 0 && w < count, "fill: window \(w) outside 0..<\(count) of the \(split) split")
            let s = range.lowerBound + windowing.offset(of: w, length: n)
            for t in 0..<l { inputs[t * b + j] = Int32(ids[s + t]) }
            if next {
                for t in 0..<l { targets[t * b + j] = Int32(ids[s + t + 1]) }
            } else {
                targets[j] = Int32(ids[s + l])
            }
            j += 1
        }
    }

    public func fingerprint() -> UInt64 {
        var h = StableHasher()
        h.combine("tokens")
        corpus.hashSettingsAndData(into: &h)
        windowing.hash(into: &h)
        return h.finalize()
    }

    public var manifest: DataManifest {
        DataManifest(kind: corpus.vocabulary.level == .chars ? .chars : .words, vocabulary: corpus.vocabulary,
                     windowing: windowing)
    }
}

extension TextCorpus {
    /// Adds the settings, vocabulary, splits and every token id to `h`.
    func hashSettingsAndData(into h: inout StableHasher) {
        h.combine(vocabulary.level.rawValue)
        for s in DataSplit.allCases { h.combine(range(s).lowerBound); h.combine(range(s).upperBound) }
        h.combine(options.unknownToken)
        h.combine(options.minCount)
        h.combine(options.maxSize ?? -1)
        h.combine(vocabulary.count)
        for t in vocabulary.tokens { h.combine(t) }
        h.combine(vocabulary.unknownID ?? -1)
        if let tk = vocabulary.tokenizer { h.combine(tk.lowercase); h.combine(tk.newlineToken) }
        switch tokens {
        case .uint16(let a): h.combine(16); h.combine(array: a)
        case .int32(let a): h.combine(32); h.combine(array: a)
        }
    }
}

extension Windowing {
    func hash(into h: inout StableHasher) {
        h.combine(seqLen)
        h.combine(stride)
        h.combine(target.rawValue)
        h.combine(horizon)
        h.combine(streams ?? 0)
    }
}
