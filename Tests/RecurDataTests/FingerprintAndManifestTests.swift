// The data fingerprint (stable across loads and pinned to a fixed value so it cannot drift
// between builds or platforms, different when data or settings differ) and the Codable manifest
// stored with a model.

import Foundation
import RecurKernels
import XCTest
@testable import RecurData

final class FingerprintAndManifestTests: XCTestCase {

    func testStableHasher_PinnedValues() {
        var h = StableHasher()
        h.combine("recur")
        h.combine(42)
        h.combine(array: [Float(1.5), -2])
        XCTAssertEqual(h.finalize(), PINNED)
        XCTAssertNotEqual(StableHasher().finalize(), PINNED)
        var a = StableHasher(), b = StableHasher()
        a.combine("ab"); a.combine("c")
        b.combine("a"); b.combine("bc")
        XCTAssertNotEqual(a.finalize(), b.finalize())
    }

    func testFingerprint_SameDataSameHash_DifferentSettingsDifferentHash() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", String(repeating: "to be or not to be\n", count: 20))
        func dataset(_ level: Vocabulary.Level, seqLen: Int) throws -> TokenDataset {
            try TokenDataset(corpus: TextCorpus.load(path: path, options: TextOptions(level: level)), windowing: Windowing(seqLen: seqLen))
        }
        let a = try dataset(.chars, seqLen: 8).fingerprint()
        XCTAssertEqual(a, try dataset(.chars, seqLen: 8).fingerprint())
        XCTAssertNotEqual(a, try dataset(.chars, seqLen: 9).fingerprint())
        XCTAssertNotEqual(a, try dataset(.words, seqLen: 8).fingerprint())
        let changed = dir.write("u.txt", String(repeating: "to be or not to be\n", count: 19) + "to be or not to bE\n")
        let b = try TokenDataset(corpus: TextCorpus.load(path: changed, options: TextOptions(unknownToken: true)), windowing: Windowing(seqLen: 8))
        XCTAssertNotEqual(a, b.fingerprint())

        let series = try countingSeries(dir, 30)
        let s1 = try SeriesDataset(series: series, windowing: Windowing(seqLen: 3)).fingerprint()
        XCTAssertEqual(s1, try SeriesDataset(series: countingSeries(dir, 30), windowing: Windowing(seqLen: 3)).fingerprint())
        XCTAssertNotEqual(s1, try SeriesDataset(series: series, windowing: Windowing(seqLen: 3, target: .last)).fingerprint())
    }

    func testManifest_CodableRoundTrip() throws {
        let dir = TempDir()
        let path = dir.write("m.csv", "YEAR,SUN\n1700,5\n1701,11\n1702,16\n1703,23\n1704,36\n1705,58\n1706,29\n1707,20\n1708,10\n1709,8\n")
        let series = try TimeSeries.load(path: path, options: SeriesOptions(features: ["SUN"], splits: SplitFractions(train: 0.7, validation: 0.3)))
        let data = try SeriesDataset(series: series, windowing: Windowing(seqLen: 2, stride: 1, target: .last, horizon: 1))
        let manifest = data.manifest
        let json = try JSONEncoder().encode(manifest)
        let back = try JSONDecoder().decode(DataManifest.self, from: json)
        XCTAssertEqual(back, manifest)
        XCTAssertEqual(back.kind, .series)
        XCTAssertEqual(back.featureColumns, ["SUN"])
        XCTAssertEqual(back.targetColumns, ["SUN"])
        XCTAssertEqual(back.normalization?.columns, ["SUN"])
        // Reloading with the stored statistics gives the same values.
        let again = try TimeSeries.load(path: path, options: series.options, normalization: back.normalization)
        XCTAssertEqual(again.values, series.values)

        let corpus = try TextCorpus.load(path: dir.write("t.txt", "hello there, general kenobi, hello"), options: TextOptions(unknownToken: true))
        let tokens = try TokenDataset(corpus: corpus, windowing: Windowing(seqLen: 2))
        let tokenManifest = try JSONDecoder().decode(DataManifest.self, from: JSONEncoder().encode(tokens.manifest))
        XCTAssertEqual(tokenManifest.vocabulary, corpus.vocabulary)
        XCTAssertEqual(tokenManifest.windowing, Windowing(seqLen: 2))
    }
}

private let PINNED: UInt64 = 17_063_013_127_316_869_674
