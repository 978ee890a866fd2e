// A vocabulary: the token text of every id, the optional <unk> id and, for words, the
// tokenizer settings. Codable, because it is stored with the model; building one from a corpus
// belongs to the encoders, not here.

import RecurFiles

/// The ids of characters or words. Stored with the model so that evaluation and sampling use
/// the same ids as training.
///
/// - Characters are Unicode scalars (as Python's `str` counts them); ids follow the sorted order
///   of the scalars of the training text, as char-rnn and nanoGPT do. `<unk>`, when enabled, is
///   the last id.
/// - Words are ordered by descending count in the training text, ties by their UTF-8 bytes;
///   `<unk>` is always present and is the last id.
public struct Vocabulary: Codable, Sendable, Equatable {
    /// The unit of a token.
    public enum Level: String, Codable, Sendable, CaseIterable { case chars, words }

    /// The text of the unknown token.
    public static let unknownToken = "<unk>"

    public let level: Level
    /// The text of each id.
    public let tokens: [String]
    /// The id of `<unk>`, if the vocabulary has one.
    public let unknownID: Int?
    /// How words were split (nil for characters).
    public let tokenizer: WordTokenizer?
    private let index: [String: Int]

    /// - Parameters:
    ///   - tokens: token text by id; for characters, each one Unicode scalar.
    ///   - unknownID: the id of `<unk>` in `tokens`, if any.
    public init(level: Level, tokens: [String], unknownID: Int?, tokenizer: WordTokenizer? = nil) {
        precondition(unknownID.map { tokens.indices.contains($0) } ?? true, "Vocabulary: unknownID out of range")
        self.level = level
        self.tokens = tokens
        self.unknownID = unknownID
        self.tokenizer = level == .words ? (tokenizer ?? WordTokenizer()) : nil
        var index: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where i != unknownID { index[t] = i }
        self.index = index
    }

    private enum CodingKeys: String, CodingKey { case level, tokens, unknownID = "unknown_id", tokenizer }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(level: try c.decode(Level.self, forKey: .level),
                  tokens: try c.decode([String].self, forKey: .tokens),
                  unknownID: try c.decodeIfPresent(Int.self, forKey: .unknownID),
                  tokenizer: try c.decodeIfPresent(WordTokenizer.self, forKey: .tokenizer))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(level, forKey: .level)
        try c.encode(tokens, forKey: .tokens)
        try c.encodeIfPresent(unknownID, forKey: .unknownID)
        try c.encodeIfPresent(tokenizer, forKey: .tokenizer)
    }

    /// Number of ids, `<unk>` included.
    public var count: Int { tokens.count }

    /// Whether ids fit 16-bit storage.
    public var fitsUInt16: Bool { count <= Int(UInt16.max) + 1 }

    /// The id of a token's text, or nil when it is not in the vocabulary (`<unk>` is not looked up).
    public func id(of token: String) -> Int? { index[token] }

    /// The ids of `text` (prompts for sampling). Unseen tokens become `<unk>`.
    /// - Throws: `DataError.Kind.unseenToken` for an unseen character when there is no `<unk>`.
    public func encode(_ text: String) throws(DataError) -> [Int32] {
        var ids: [Int32] = []
        switch level {
        case .chars:
            for scalar in text.unicodeScalars {
                if let id = index[String(scalar)] ?? unknownID {
                    ids.append(Int32(id))
                } else {
                    throw DataError(.unseenToken, problem: "character \(UTF8Scan.describe(scalar.value)) is not in the vocabulary",
                                    fix: "use only characters of the training text, or train with data.vocabulary.unknown: true")
                }
            }
        case .words:
            for token in (tokenizer ?? WordTokenizer()).tokens(in: text) {
                ids.append(Int32(index[token] ?? unknownID ?? 0))
            }
        }
        return ids
    }

    /// The text of `ids`: characters concatenated; words joined by single spaces, with `"\n"`
    /// tokens as line breaks (readable, not the original spacing).
    public func decode(_ ids: some Sequence<Int32>) -> String {
        var text = ""
        var atLineStart = true
        for id in ids { text += decode(id, atLineStart: &atLineStart) }
        return text
    }

    /// The text of one more token after those decoded so far (`atLineStart` carries the spacing
    /// from call to call; start it at true): what `decode` appends for it, for streaming.
    public func decode(_ id: Int32, atLineStart: inout Bool) -> String {
        let t = tokens[Int(id)]
        switch level {
        case .chars:
            return t
        case .words:
            if t == "\n" { atLineStart = true; return t }
            defer { atLineStart = false }
            return atLineStart ? t : " " + t
        }
    }
}
