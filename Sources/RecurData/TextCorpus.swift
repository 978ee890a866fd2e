// Reads a UTF-8 text into token ids (characters or words), builds the vocabulary from the
// training split only, and splits the token sequence by time. Read once per process; it does
// not cut windows (TokenDataset) and writes nothing anywhere.

import RecurFiles

/// Settings of a text corpus.
public struct TextOptions: Sendable, Equatable, Codable {
    /// Characters or words.
    public var level: Vocabulary.Level
    /// Fractions of the token sequence in each split.
    public var splits: SplitFractions
    /// Characters only: add `<unk>` for characters outside the training text (words always
    /// have it). Without it such a character is an error.
    public var unknownToken: Bool
    /// Words only: a word needs at least this many occurrences in the training text.
    public var minCount: Int
    /// Words only: the most words kept (the most frequent), `<unk>` not counted.
    public var maxSize: Int?
    /// Words only: how text is split.
    public var tokenizer: WordTokenizer
    /// A given split's file (Note [Given splits]): the stored vocabulary is the training
    /// file's, and a character outside it is said to be missing from the training text.
    public var vocabularyFromTrainingFile = false

    /// Defaults: characters, 90/10 split, no `<unk>`, every word kept.
    public init(level: Vocabulary.Level = .chars, splits: SplitFractions = SplitFractions(),
                unknownToken: Bool = false, minCount: Int = 1, maxSize: Int? = nil,
                tokenizer: WordTokenizer = WordTokenizer()) {
        self.level = level
        self.splits = splits
        self.unknownToken = unknownToken
        self.minCount = minCount
        self.maxSize = maxSize
        self.tokenizer = tokenizer
    }

    /// - Throws: `DataError.Kind.invalidSetting` for bad fractions, `min_count` < 1 or `max_size` < 1.
    public func validate() throws(DataError) {
        try splits.validate()
        if minCount < 1 {
            throw DataError(.invalidSetting, problem: "min_count is \(minCount)", fix: "set min_count to 1 or more")
        }
        if let maxSize, maxSize < 1 {
            throw DataError(.invalidSetting, problem: "max_size is \(maxSize)", fix: "set max_size to 1 or more, or leave it out")
        }
    }
}

/// A text encoded as one sequence of token ids, with its vocabulary and time-ordered splits.
public struct TextCorpus: Sendable {
    /// The file read.
    public let path: String
    /// The settings it was read with.
    public let options: TextOptions
    /// Token ids, fitted on the training split or given.
    public let vocabulary: Vocabulary
    /// Every token of the file in order (16-bit when the vocabulary fits).
    public private(set) var tokens: TokenStorage
    /// Size of the file in bytes (of all the files, with given splits).
    public private(set) var byteCount: Int
    private var splitRanges: [Range<Int>]

    /// The token range of one split.
    public func range(_ split: DataSplit) -> Range<Int> { splitRanges[split.index] }

    /// This text with `other`'s tokens after its own as the split `split` (Note [Given splits]).
    /// - Precondition: `other` was read with this text's vocabulary.
    public func appending(_ other: TextCorpus, as split: DataSplit) -> TextCorpus {
        precondition(other.vocabulary == vocabulary, "appending: a given split is read with the training file's vocabulary")
        var c = self
        let start = tokens.count
        switch (tokens, other.tokens) {
        case (.uint16(let a), .uint16(let b)): c.tokens = .uint16(a + b)
        case (.int32(let a), .int32(let b)): c.tokens = .int32(a + b)
        default: preconditionFailure("appending: one vocabulary stores its ids one way")
        }
        c.byteCount += other.byteCount
        c.splitRanges[split.index] = start ..< start + other.tokens.count
        return c
    }

    /// Reads and encodes `path`.
    /// - Parameters:
    ///   - vocabulary: a stored vocabulary (evaluation, sampling): its ids are used and nothing is
    ///     fitted; unseen tokens map to its `<unk>`.
    /// - Throws: `DataError` for a missing, empty or non-UTF-8 file, bad settings, or a character
    ///   outside the vocabulary when there is no `<unk>`.
    public static func load(path: String, options: TextOptions = TextOptions(),
                            vocabulary: Vocabulary? = nil) throws(DataError) -> TextCorpus {
        try options.validate()
        if let vocabulary, vocabulary.level != options.level {
            throw DataError(.invalidSetting, file: path,
                            problem: "the stored vocabulary is of \(vocabulary.level) but the data asks for \(options.level)",
                            fix: "use the same level (chars or words) as the model was trained with")
        }
        switch options.level {
        case .chars:
            if var p = try CharEncoder.decode(path, as: UInt16.self) {
                return try finishChars(&p, path: path, options: options, stored: vocabulary)
            }
            guard var p = try CharEncoder.decode(path, as: Int32.self) else {
                preconditionFailure("a text cannot hold more than 2³¹ distinct characters")
            }
            return try finishChars(&p, path: path, options: options, stored: vocabulary)
        case .words:
            var p = try WordEncoder.decode(path, tokenizer: vocabulary?.tokenizer ?? options.tokenizer)
            return try finishWords(&p, path: path, options: options, stored: vocabulary)
        }
    }

    private init(path: String, options: TextOptions, vocabulary: Vocabulary, tokens: TokenStorage,
                 byteCount: Int, splitRanges: [Range<Int>]) {
        self.path = path
        self.options = options
        self.vocabulary = vocabulary
        self.tokens = tokens
        self.byteCount = byteCount
        self.splitRanges = splitRanges
    }

    /// The split a token index falls in, for messages.
    private static func splitName(_ index: Int, _ ranges: [Range<Int>]) -> String {
        DataSplit.allCases.first { ranges[$0.index].contains(index) }?.name ?? "unused tail"
    }

    /// Builds or applies the vocabulary and remaps the ids in place. Takes `p.ids` (leaving it
    /// empty) so the remap does not copy the largest array of the load.
    private static func finishChars<T: FixedWidthInteger>(_ p: inout CharEncoder.Provisional<T>, path: String,
                                                          options: TextOptions, stored: Vocabulary?) throws(DataError) -> TextCorpus {
        var ids: [T] = []
        swap(&ids, &p.ids)
        let ranges = options.splits.ranges(count: ids.count)
        if ids.isEmpty {
            throw DataError(.emptyFile, file: path, problem: "the file holds no characters", fix: "point to a file that holds text")
        }
        let vocabulary: Vocabulary
        var map = [Int32](repeating: 0, count: p.scalars.count)
        let p = p
        // A file read whole (recur predict) has no splits worth naming.
        let wholeFileTrains = ranges[1].isEmpty && ranges[2].isEmpty && ranges[0].count == ids.count
        func unseen(_ k: Int, _ why: String, _ fix: String) -> DataError {
            let place = UTF8Scan.locate(p.firstOffset[k], inFile: path)
            return DataError(.unseenToken, file: path, line: place?.line, column: place?.column,
                             problem: "character \(UTF8Scan.describe(p.scalars[k]))\(wholeFileTrains ? "" : " in the \(splitName(p.firstIndex[k], ranges)) split") \(why)",
                             fix: fix)
        }
        if let stored {
            vocabulary = stored
            for k in 0..<p.scalars.count {
                let text = String(Character(Unicode.Scalar(p.scalars[k])!))
                guard let id = stored.id(of: text) ?? stored.unknownID else {
                    throw options.vocabularyFromTrainingFile
                        ? unseen(k, "never occurs in the training text (data.path's training split)",
                                 "set data.vocabulary.unknown: true, or remove the character")
                        : unseen(k, "is not in the model's vocabulary",
                                 "remove the character, or train with data.vocabulary.unknown: true")
                }
                map[k] = Int32(id)
            }
        } else {
            // Provisional ids are numbered by first appearance, so the characters of the
            // training split are exactly the ids whose first appearance lies inside it.
            let trainEnd = ranges[0].upperBound
            let seen = p.firstIndex.firstIndex { $0 >= trainEnd } ?? p.scalars.count
            let order = (0..<seen).sorted { p.scalars[$0] < p.scalars[$1] }
            for (final, k) in order.enumerated() { map[k] = Int32(final) }
            var texts = order.map { String(Character(Unicode.Scalar(p.scalars[$0])!)) }
            var unknownID: Int? = nil
            if options.unknownToken {
                unknownID = texts.count
                texts.append(Vocabulary.unknownToken)
            }
            for k in seen..<p.scalars.count {
                guard let unknownID else {
                    throw unseen(k, "never occurs in the training text",
                                 "set data.vocabulary.unknown: true, or raise data.split.train so the training text holds it")
                }
                map[k] = Int32(unknownID)
            }
            vocabulary = Vocabulary(level: .chars, tokens: texts, unknownID: unknownID)
        }
        CharEncoder.remap(&ids, map)
        let byteCount = try fileSize(path)
        return TextCorpus(path: path, options: options, vocabulary: vocabulary,
                          tokens: storage(ids, fits16: vocabulary.fitsUInt16),
                          byteCount: byteCount, splitRanges: ranges)
    }

    private static func finishWords(_ p: inout WordEncoder.Provisional, path: String, options: TextOptions,
                                    stored: Vocabulary?) throws(DataError) -> TextCorpus {
        var ids: [Int32] = []
        swap(&ids, &p.ids)
        let ranges = options.splits.ranges(count: ids.count)
        if ids.isEmpty {
            throw DataError(.emptyFile, file: path, problem: "the file holds no words", fix: "point to a file that holds text")
        }
        let p = p
        let vocabulary: Vocabulary
        var map = [Int32](repeating: 0, count: p.table.count)
        if let stored {
            vocabulary = stored
            let unk = Int32(stored.unknownID ?? 0)
            for k in 0..<p.table.count { map[k] = stored.id(of: p.table.string(k)).map(Int32.init) ?? unk }
        } else {
            var counts = [Int](repeating: 0, count: p.table.count)
            ids.withUnsafeBufferPointer { t in
                for i in ranges[0] { counts[Int(t[i])] += 1 }
            }
            var kept = (0..<p.table.count).filter { counts[$0] >= options.minCount }
            kept.sort { a, b in
                counts[a] != counts[b] ? counts[a] > counts[b] : p.table.bytes(a).lexicographicallyPrecedes(p.table.bytes(b))
            }
            if let maxSize = options.maxSize, kept.count > maxSize { kept.removeSubrange(maxSize...) }
            let unk = Int32(kept.count)
            for k in 0..<map.count { map[k] = unk }
            for (final, k) in kept.enumerated() { map[k] = Int32(final) }
            vocabulary = Vocabulary(level: .words, tokens: kept.map { p.table.string($0) } + [Vocabulary.unknownToken],
                                    unknownID: kept.count, tokenizer: options.tokenizer)
        }
        CharEncoder.remap(&ids, map)
        let tokens: TokenStorage
        if vocabulary.fitsUInt16 {
            let wide = ids
            ids = []
            tokens = .uint16(wide.map { UInt16(truncatingIfNeeded: $0) })
        } else {
            tokens = .int32(ids)
        }
        return TextCorpus(path: path, options: options, vocabulary: vocabulary, tokens: tokens,
                          byteCount: try fileSize(path), splitRanges: ranges)
    }

    /// Final storage for char ids of type `T`.
    private static func storage<T: FixedWidthInteger>(_ ids: [T], fits16: Bool) -> TokenStorage {
        if T.self == UInt16.self {
            let narrow = unsafeBitCast(ids, to: [UInt16].self)
            return fits16 ? .uint16(narrow) : .int32(narrow.map { Int32($0) })
        }
        let wide = unsafeBitCast(ids, to: [Int32].self)
        return fits16 ? .uint16(wide.map { UInt16(truncatingIfNeeded: $0) }) : .int32(wide)
    }

    private static func fileSize(_ path: String) throws(DataError) -> Int {
        let (fd, size) = try FileReader.open(path)
        closeDescriptor(fd)
        return size
    }
}
