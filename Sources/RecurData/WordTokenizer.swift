// The word tokenizer: words and punctuation from UTF-8 bytes, by one documented rule, with an
// ASCII fast path. It only splits text; counting, min_count and ids belong to the word encoder.

import RecurFiles

/// Splits text into words and punctuation. Its settings are stored with the vocabulary.
///
/// The rule, on the text's Unicode scalars:
/// 1. White space (Unicode `White_Space`) separates tokens and is dropped — except a line feed,
///    which is the token `"\n"` when `newlineToken` is true (so generated text keeps its lines).
/// 2. A word is a maximal run of word scalars: letters (`Alphabetic`), digits and other numerals,
///    combining marks, and `_`. An apostrophe (`'` or `’`) between two word scalars belongs to
///    the word: `don't`, `o'er`.
/// 3. Every other scalar — punctuation, symbols — is a token by itself: `"Hi, you!"` gives
///    `Hi` `,` `you` `!`.
/// 4. With `lowercase`, words are lowercased (Unicode rules); punctuation is kept as it is.
public struct WordTokenizer: Codable, Sendable, Equatable {
    public var lowercase: Bool
    public var newlineToken: Bool

    public init(lowercase: Bool = false, newlineToken: Bool = true) {
        self.lowercase = lowercase
        self.newlineToken = newlineToken
    }

    /// The tokens of `text`, as strings (prompts, tests; the corpus reader works on bytes).
    public func tokens(in text: String) -> [String] {
        var result: [String] = []
        var scratch: [UInt8] = []
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { p in
            _ = scan(p, scratch: &scratch) { token, _ in
                result.append(String(decoding: token, as: UTF8.self))
            }
        }
        return result
    }

    enum ScalarClass { case space, newline, word, apostrophe, other }

    /// Classes of the ASCII bytes.
    static let asciiClass: [ScalarClass] = (0..<128).map { (b: Int) -> ScalarClass in
        switch b {
        case 0x0A: return .newline
        case 0x09, 0x0B, 0x0C, 0x0D, 0x20: return .space
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: return .word
        case 0x27: return .apostrophe
        default: return .other
        }
    }

    static func classify(_ scalar: UInt32) -> ScalarClass {
        if scalar == 0x2019 { return .apostrophe }
        guard let s = Unicode.Scalar(scalar) else { return .other }
        let p = s.properties
        if p.isWhitespace { return .space }
        if p.isAlphabetic || p.numericType != nil { return .word }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation: return .word
        default: return .other
        }
    }

    /// The class and byte length of the scalar at `p[i]`, or nil when the bytes are not UTF-8.
    @inline(__always)
    static func scalarClass(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (ScalarClass, Int)? {
        let b = p[i]
        if b < 0x80 { return (asciiClass[Int(b)], 1) }
        if case .scalar(let v, let length) = UTF8Scan.decode(p, at: i) { return (classify(v), length) }
        return nil
    }

    /// Scans all of `p` and calls `emit(tokenBytes, byteOffset)` for each token in order.
    /// `scratch` holds lowercased words between calls.
    /// - Returns: the offset in `p` of the first byte that is not UTF-8, or nil.
    func scan(_ p: UnsafeBufferPointer<UInt8>, scratch: inout [UInt8],
              emit: (UnsafeBufferPointer<UInt8>, Int) -> Void) -> Int? {
        let n = p.count
        var i = 0
        while i < n {
            guard let (cls, length) = WordTokenizer.scalarClass(p, at: i) else { return i }
            switch cls {
            case .space:
                i += length
            case .newline:
                if newlineToken { emit(UnsafeBufferPointer(rebasing: p[i..<i + 1]), i) }
                i += 1
            case .other, .apostrophe:
                emit(UnsafeBufferPointer(rebasing: p[i..<i + length]), i)
                i += length
            case .word:
                let start = i
                var ascii = length == 1
                i += length
                while i < n {
                    guard let (next, nextLength) = WordTokenizer.scalarClass(p, at: i) else { return i }
                    if next == .word {
                        ascii = ascii && nextLength == 1
                        i += nextLength
                    } else if next == .apostrophe, i + nextLength < n,
                              let (after, afterLength) = WordTokenizer.scalarClass(p, at: i + nextLength), after == .word {
                        ascii = ascii && nextLength == 1 && afterLength == 1
                        i += nextLength + afterLength
                    } else {
                        break
                    }
                }
                let word = UnsafeBufferPointer(rebasing: p[start..<i])
                if !lowercase {
                    emit(word, start)
                } else {
                    scratch.removeAll(keepingCapacity: true)
                    if ascii {
                        for b in word { scratch.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b) }
                    } else {
                        scratch.append(contentsOf: String(decoding: word, as: UTF8.self).lowercased().utf8)
                    }
                    scratch.withUnsafeBufferPointer { emit($0, start) }
                }
            }
        }
        return nil
    }
}
