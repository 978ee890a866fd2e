// Character and word corpora: vocabulary rules (sorted characters of the training text, <unk>,
// min_count, max_size, ordering), the tokenizer, UTF-8 decoding across chunk borders, 16/32-bit
// storage and stored vocabularies.

import Foundation
import XCTest
@testable import RecurData

final class TextCorpusTests: XCTestCase {
    let allTrain = SplitFractions(train: 1, validation: 0)

    func testChars_VocabularyIsSortedCharactersOfTrainingText() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", "hello world\n")
        let corpus = try TextCorpus.load(path: path, options: TextOptions(splits: allTrain))
        XCTAssertEqual(corpus.vocabulary.tokens, ["\n", " ", "d", "e", "h", "l", "o", "r", "w"])
        XCTAssertNil(corpus.vocabulary.unknownID)
        XCTAssertEqual(corpus.tokens.ids(0..<5), [4, 3, 5, 5, 6])
        XCTAssertEqual(corpus.tokens.count, 12)
        XCTAssertEqual(corpus.byteCount, 12)
        XCTAssertEqual(corpus.vocabulary.decode(corpus.tokens.ids(0..<12)), "hello world\n")
        guard case .uint16 = corpus.tokens else { return XCTFail("chars should be stored as UInt16") }
    }

    func testChars_NonASCII_DecodedAsScalars() throws {
        let dir = TempDir()
        let text = "héllo → ü𝄞é"
        let corpus = try TextCorpus.load(path: dir.write("u.txt", text), options: TextOptions(splits: allTrain))
        XCTAssertEqual(corpus.tokens.count, text.unicodeScalars.count)
        XCTAssertEqual(corpus.vocabulary.tokens, Array(Set(text.unicodeScalars.map { String($0) })).sorted {
            $0.unicodeScalars.first!.value < $1.unicodeScalars.first!.value })
        XCTAssertEqual(corpus.vocabulary.decode(corpus.tokens.ids(0..<corpus.tokens.count)), text)
    }

    func testChars_ChunkBordersInsideMultibyteScalars_SameIDs() throws {
        let dir = TempDir()
        let text = String(repeating: "aé€𝄞b\n", count: 50)
        let path = dir.write("c.txt", text)
        let whole = try XCTUnwrap(CharEncoder.decode(path, as: UInt16.self))
        for chunk in [16, 17, 18, 19, 23] {
            let small = try XCTUnwrap(CharEncoder.decode(path, as: UInt16.self, chunkSize: chunk))
            XCTAssertEqual(small.ids, whole.ids, "chunk \(chunk)")
            XCTAssertEqual(small.scalars, whole.scalars)
            XCTAssertEqual(small.firstOffset, whole.firstOffset)
        }
        XCTAssertEqual(whole.ids.count, 300)
    }

    func testChars_ByteOrderMarkSkipped() throws {
        let dir = TempDir()
        let path = dir.write("bom.txt", bytes: [0xEF, 0xBB, 0xBF] + Array("ab".utf8))
        let corpus = try TextCorpus.load(path: path, options: TextOptions(splits: allTrain))
        XCTAssertEqual(corpus.vocabulary.tokens, ["a", "b"])
        XCTAssertEqual(corpus.tokens.count, 2)
    }

    func testChars_UnseenInValidation_ErrorsWithoutUnk() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", "abababababababab\nabZ")   // Z only in the last 10 %
        expectDataError(.unseenToken, ["t.txt:2:3", "'Z' (U+005A)", "validation split", "never occurs in the training text", "data.vocabulary.unknown: true"], in: dir) {
            _ = try TextCorpus.load(path: path, options: TextOptions())
        }
    }

    func testChars_UnseenInValidation_MapsToUnkWhenEnabled() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", "abababababababab\nabZ")
        let corpus = try TextCorpus.load(path: path, options: TextOptions(unknownToken: true))
        XCTAssertEqual(corpus.vocabulary.tokens, ["\n", "a", "b", "<unk>"])
        XCTAssertEqual(corpus.vocabulary.unknownID, 3)
        XCTAssertEqual(corpus.range(.train), 0..<18)
        XCTAssertEqual(corpus.range(.validation), 18..<20)
        XCTAssertEqual(corpus.tokens[19], 3)
    }

    func testChars_StoredVocabulary_ReusesIDsAndMapsUnseenToUnk() throws {
        let dir = TempDir()
        let train = try TextCorpus.load(path: dir.write("a.txt", "abc"), options: TextOptions(splits: allTrain, unknownToken: true))
        let other = try TextCorpus.load(path: dir.write("b.txt", "cax"), options: TextOptions(splits: allTrain),
                                        vocabulary: train.vocabulary)
        XCTAssertEqual(other.vocabulary, train.vocabulary)
        XCTAssertEqual(other.tokens.ids(0..<3), [2, 0, 3])
        let strict = try TextCorpus.load(path: dir.write("c.txt", "abc"), options: TextOptions(splits: allTrain))
        expectDataError(.unseenToken, ["b.txt:1:3", "'x'", "not in the model's vocabulary"]) {
            _ = try TextCorpus.load(path: dir.path + "/b.txt", options: TextOptions(splits: allTrain), vocabulary: strict.vocabulary)
        }
    }

    func testChars_MoreThan65536Distinct_StoredAsInt32() throws {
        let dir = TempDir()
        var text = "a"
        text.unicodeScalars.append(contentsOf: (0x10000..<0x20000).map { Unicode.Scalar($0)! })
        let corpus = try TextCorpus.load(path: dir.write("wide.txt", text), options: TextOptions(splits: allTrain))
        XCTAssertEqual(corpus.vocabulary.count, 65_537)
        guard case .int32 = corpus.tokens else { return XCTFail("65,537 ids need Int32 storage") }
        XCTAssertEqual(corpus.tokens[0], 0)
        XCTAssertEqual(corpus.tokens[65_536], 65_536)
    }

    // MARK: Words

    func testWordTokenizer_WordsPunctuationApostrophesNewlines() {
        let t = WordTokenizer()
        XCTAssertEqual(t.tokens(in: "Don't stop, o'er the hill!\nNew  line's end'"),
                       ["Don't", "stop", ",", "o'er", "the", "hill", "!", "\n", "New", "line's", "end", "'"])
        XCTAssertEqual(t.tokens(in: "Café naïve 42nd_x l’été — «oui»"),
                       ["Café", "naïve", "42nd_x", "l’été", "—", "«", "oui", "»"])
        XCTAssertEqual(WordTokenizer(lowercase: true, newlineToken: false).tokens(in: "The CAFÉ\nIs OPEN."),
                       ["the", "café", "is", "open", "."])
    }

    func testWords_MinCountMaxSizeAndUnk() throws {
        let dir = TempDir()
        // Counts in training: the 4, cat 3, sat 2, a 2, mat 1, "." 2.
        let text = "the cat sat . the cat sat . the cat a a mat the"
        let path = dir.write("w.txt", text)
        let all = try TextCorpus.load(path: path, options: TextOptions(level: .words, splits: allTrain))
        XCTAssertEqual(all.vocabulary.tokens, ["the", "cat", ".", "a", "sat", "mat", "<unk>"])
        XCTAssertEqual(all.vocabulary.unknownID, 6)
        XCTAssertEqual(all.tokens.ids(0..<4), [0, 1, 4, 2])
        let frequent = try TextCorpus.load(path: path, options: TextOptions(level: .words, splits: allTrain, minCount: 2))
        XCTAssertEqual(frequent.vocabulary.tokens, ["the", "cat", ".", "a", "sat", "<unk>"])
        XCTAssertEqual(frequent.tokens[12], 5)   // "mat" → <unk>
        let small = try TextCorpus.load(path: path, options: TextOptions(level: .words, splits: allTrain, maxSize: 2))
        XCTAssertEqual(small.vocabulary.tokens, ["the", "cat", "<unk>"])
        XCTAssertEqual(small.tokens.ids(0..<4), [0, 1, 2, 2])
    }

    func testWords_VocabularyFromTrainingSplitOnly() throws {
        let dir = TempDir()
        let path = dir.write("w.txt", "a b a b a b a b a zebra")   // 10 tokens; zebra is validation
        let corpus = try TextCorpus.load(path: path, options: TextOptions(level: .words))
        XCTAssertEqual(corpus.range(.train), 0..<9)
        XCTAssertEqual(corpus.vocabulary.tokens, ["a", "b", "<unk>"])
        XCTAssertEqual(corpus.tokens[9], 2)
    }

    func testWords_ChunkBorders_SameTokensAsWhole() throws {
        let dir = TempDir()
        let text = String(repeating: "Hello, wörld! Don't\n  panic…  supercalifragilistic ", count: 20)
        let path = dir.write("w.txt", text)
        let whole = try WordEncoder.decode(path, tokenizer: WordTokenizer())
        let small = try WordEncoder.decode(path, tokenizer: WordTokenizer(), chunkSize: 16)
        XCTAssertEqual(small.ids, whole.ids)
        XCTAssertEqual(small.table.count, whole.table.count)
        XCTAssertEqual(whole.ids.count, WordTokenizer().tokens(in: text).count)
    }

    func testWords_LargeVocabulary_StoredAsInt32() throws {
        let dir = TempDir()
        let text = (0..<70_000).map { "w\($0)" }.joined(separator: " ")
        let corpus = try TextCorpus.load(path: dir.write("big.txt", text), options: TextOptions(level: .words, splits: allTrain))
        XCTAssertEqual(corpus.vocabulary.count, 70_001)
        guard case .int32 = corpus.tokens else { return XCTFail("70,001 ids need Int32 storage") }
        let words = try TextCorpus.load(path: dir.write("small.txt", "x y z"), options: TextOptions(level: .words, splits: allTrain))
        guard case .uint16 = words.tokens else { return XCTFail("3 words fit UInt16") }
    }

    func testVocabulary_CodableRoundTripAndPromptEncoding() throws {
        let dir = TempDir()
        let corpus = try TextCorpus.load(path: dir.write("w.txt", "The cat, the hat."),
                                         options: TextOptions(level: .words, splits: allTrain, tokenizer: WordTokenizer(lowercase: true)))
        let data = try JSONEncoder().encode(corpus.vocabulary)
        let back = try JSONDecoder().decode(Vocabulary.self, from: data)
        XCTAssertEqual(back, corpus.vocabulary)
        XCTAssertEqual(back.tokenizer, WordTokenizer(lowercase: true))
        XCTAssertEqual(back.tokens, ["the", ",", ".", "cat", "hat", "<unk>"])
        XCTAssertEqual(try back.encode("THE dog,"), [0, 5, 1])
        XCTAssertEqual(back.id(of: "cat"), 3)
        XCTAssertEqual(back.decode([0, 3, 1, 4]), "the cat , hat")
        let chars = Vocabulary(level: .chars, tokens: ["a", "b"], unknownID: nil)
        expectDataError(.unseenToken, ["'c' (U+0063)"]) { _ = try chars.encode("abc") }
    }

    func testText_NotUTF8_NamesByteOffsetLineAndColumn() throws {
        let dir = TempDir()
        let path = dir.write("bad.txt", bytes: Array("ab\ncd".utf8) + [0xFF] + Array("ef".utf8))
        expectDataError(.notUTF8, ["bad.txt:2:3", "byte offset 5", "not valid UTF-8", "iconv"], in: dir) {
            _ = try TextCorpus.load(path: path, options: TextOptions(splits: allTrain))
        }
        expectDataError(.notUTF8, ["byte offset 5"], in: dir) {
            _ = try TextCorpus.load(path: path, options: TextOptions(level: .words, splits: allTrain))
        }
        // A scalar cut short by the end of the file, and an overlong encoding.
        let cut = dir.write("cut.txt", bytes: Array("abc".utf8) + [0xE2, 0x82])
        expectDataError(.notUTF8, ["byte offset 3"]) { _ = try TextCorpus.load(path: cut, options: TextOptions(splits: allTrain)) }
        let overlong = dir.write("over.txt", bytes: [0x61, 0xC0, 0xAF])
        expectDataError(.notUTF8, ["byte offset 1"]) { _ = try TextCorpus.load(path: overlong, options: TextOptions(splits: allTrain)) }
    }

    func testText_MissingAndEmptyFiles_Throw() throws {
        let dir = TempDir()
        expectDataError(.fileNotFound, ["nope.txt", "does not exist"], in: dir) {
            _ = try TextCorpus.load(path: dir.path + "/nope.txt")
        }
        let empty = dir.write("empty.txt", "")
        expectDataError(.emptyFile, ["empty.txt", "empty"], in: dir) { _ = try TextCorpus.load(path: empty) }
        let blank = dir.write("blank.txt", "  \t  ")
        expectDataError(.emptyFile, ["no words"], in: dir) {
            _ = try TextCorpus.load(path: blank, options: TextOptions(level: .words))
        }
        expectDataError(.unreadable, ["directory"]) { _ = try TextCorpus.load(path: dir.path) }
    }

    func testText_BadOptions_Throw() {
        expectDataError(.invalidSetting, ["min_count is 0"]) { try TextOptions(minCount: 0).validate() }
        expectDataError(.invalidSetting, ["add up to"]) { try TextOptions(splits: SplitFractions(train: 0.8, validation: 0.3)).validate() }
    }
}
