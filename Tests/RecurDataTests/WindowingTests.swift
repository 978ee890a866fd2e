// Window arithmetic and filled batch layouts, each against hand-computed expectations: the
// issue's example, every target mode with horizons, token and feature layouts, split borders.

import XCTest
import RecurKernels
@testable import RecurData

final class WindowingTests: XCTestCase {

    func testWindows_Stride2Overlap_MatchHandExample() throws {
        // Data 0…6, seq_len 4, stride 2 → [0 1 2 3]→4 and [2 3 4 5]→6.
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 7),
                                     windowing: Windowing(seqLen: 4, stride: 2, target: .last))
        XCTAssertEqual(data.windowCount(.train), 2)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 1], into: batch)
        // Time-major: inputs[t·b + j].
        XCTAssertEqual(batch.inputFeatures!.array, [0, 2, 1, 3, 2, 4, 3, 5])
        XCTAssertEqual(batch.targetValues!.array, [4, 6])
    }

    func testWindowCount_Formula_MatchesEnumerationForAllCombinations() {
        for n in 0...24 {
            for l in 1...5 {
                for stride in 1...4 {
                    for k in 1...3 {
                        for target in WindowTarget.allCases {
                            let w = Windowing(seqLen: l, stride: stride, target: target, horizon: k)
                            let brute = (0..<max(n, 1)).filter { i in i * stride + l + k <= n }.count
                            XCTAssertEqual(w.windowCount(length: n), brute, "N \(n) L \(l) stride \(stride) k \(k) \(target)")
                            if n >= l + k {
                                XCTAssertEqual(w.windowCount(length: n), (n - l - k) / stride + 1)
                            }
                        }
                    }
                }
            }
        }
    }

    func testWindows_NextHorizon2_MatchHand() throws {
        // N = 10, L = 3, stride 3, next, k = 2 → (10−3−2)/3+1 = 2 windows at 0 and 3.
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 10),
                                     windowing: Windowing(seqLen: 3, stride: 3, target: .next, horizon: 2))
        XCTAssertEqual(data.windowCount(.train), 2)
        XCTAssertEqual(data.outputSize, 2)
        XCTAssertEqual(data.targetsPerWindow, 6)
        XCTAssertEqual(data.targetKind, .nextValues)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 1], into: batch)
        XCTAssertEqual(batch.inputFeatures!.array, [0, 3, 1, 4, 2, 5])
        // targets[(t·b + j)·k + h]: window 0 step t → t+1, t+2; window 1 → t+4, t+5.
        XCTAssertEqual(batch.targetValues!.array, [1, 2, 4, 5,   2, 3, 5, 6,   3, 4, 6, 7])
    }

    func testWindows_LastHorizon3_MatchHand() throws {
        // N = 8, L = 2, stride 1, last, k = 3 → (8−2−3)/1+1 = 4 windows; window 3 → 5, 6, 7.
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 8),
                                     windowing: Windowing(seqLen: 2, stride: 1, target: .last, horizon: 3))
        XCTAssertEqual(data.windowCount(.train), 4)
        XCTAssertEqual(data.targetsPerWindow, 3)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [3, 0], into: batch)
        XCTAssertEqual(batch.inputFeatures!.array, [3, 0, 4, 1])
        XCTAssertEqual(batch.targetValues!.array, [5, 6, 7, 2, 3, 4])
    }

    func testWindows_NextHorizon1_TargetsShiftedByOne() throws {
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 6), windowing: Windowing(seqLen: 3, stride: 1))
        XCTAssertEqual(data.windowCount(.train), 3)   // (6−3−1)/1+1
        let batch = BatchBuffers(for: data, capacity: 1)
        data.fill(.train, windows: [2], into: batch)
        XCTAssertEqual(batch.inputFeatures!.array, [2, 3, 4])
        XCTAssertEqual(batch.targetValues!.array, [3, 4, 5])
    }

    func testWindows_MultivariateFeaturesAndTargets_Layout() throws {
        let dir = TempDir()
        let path = dir.write("m.csv", "a,b,c\n0,100,7\n1,101,7\n2,102,7\n3,103,7\n4,104,7\n")
        let series = try TimeSeries.load(path: path, options: SeriesOptions(features: ["a", "b"], targets: ["b", "a"],
                                                                           normalization: .none,
                                                                           splits: SplitFractions(train: 1, validation: 0)))
        XCTAssertEqual(series.columns, ["a", "b"])
        let data = try SeriesDataset(series: series, windowing: Windowing(seqLen: 2, stride: 1, target: .next, horizon: 2))
        XCTAssertEqual(data.featureCount, 2)
        XCTAssertEqual(data.outputSize, 4)     // k·O
        XCTAssertEqual(data.windowCount(.train), 2)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 1], into: batch)
        // inputs[(t·b + j)·F + f]
        XCTAssertEqual(batch.inputFeatures!.array, [0, 100, 1, 101,   1, 101, 2, 102])
        // targets[(t·b + j)·(k·O) + h·O + o] with O = (b, a)
        XCTAssertEqual(batch.targetValues!.array, [101, 1, 102, 2,   102, 2, 103, 3,
                                                   102, 2, 103, 3,   103, 3, 104, 4])
        let manifest = data.manifest
        XCTAssertEqual(manifest.featureColumns, ["a", "b"])
        XCTAssertEqual(manifest.targetColumns, ["b", "a"])
    }

    func testWindows_EachSplitWindowedOnItsOwn() throws {
        let dir = TempDir()
        let series = try countingSeries(dir, 20, splits: SplitFractions(train: 0.5, validation: 0.3, test: 0.2))
        XCTAssertEqual(series.range(.train), 0..<10)
        XCTAssertEqual(series.range(.validation), 10..<16)
        XCTAssertEqual(series.range(.test), 16..<20)
        let data = try SeriesDataset(series: series, windowing: Windowing(seqLen: 2, stride: 1, target: .last))
        XCTAssertEqual(data.windowCount(.train), 8)
        XCTAssertEqual(data.windowCount(.validation), 4)
        XCTAssertEqual(data.windowCount(.test), 2)
        let batch = BatchBuffers(for: data, capacity: 4)
        data.fill(.validation, windows: [0, 3], into: batch)
        XCTAssertEqual(batch.inputFeatures!.array[0..<4], [10, 13, 11, 14])
        XCTAssertEqual(batch.targetValues!.array[0..<2], [12, 15])   // 15 is validation's last row
        data.fill(.test, windows: [1], into: batch)
        XCTAssertEqual(batch.targetValues![0], 19)
    }

    func testWindows_TokensNext_TimeMajor() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", "abcdefgh")
        let corpus = try TextCorpus.load(path: path, options: TextOptions(splits: SplitFractions(train: 1, validation: 0)))
        let data = try TokenDataset(corpus: corpus, windowing: Windowing(seqLen: 3, stride: 2))
        XCTAssertEqual(data.windowCount(.train), 3)   // (8−3−1)/2+1
        XCTAssertEqual(data.input, .tokens(vocabularySize: 8))
        XCTAssertEqual(data.targetKind, .nextTokens)
        XCTAssertEqual(data.targetsPerWindow, 3)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [2, 0], into: batch)
        // a…h are ids 0…7; window 2 starts at 4, window 0 at 0.
        XCTAssertEqual(batch.inputTokens!.array, [4, 0, 5, 1, 6, 2])
        XCTAssertEqual(batch.targetTokens!.array, [5, 1, 6, 2, 7, 3])
    }

    func testWindows_TokensLast_OneTargetPerWindow() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", "abcdefg")
        let corpus = try TextCorpus.load(path: path, options: TextOptions(splits: SplitFractions(train: 1, validation: 0)))
        let data = try TokenDataset(corpus: corpus, windowing: Windowing(seqLen: 4, stride: 2, target: .last))
        XCTAssertEqual(data.windowCount(.train), 2)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 1], into: batch)
        XCTAssertEqual(batch.inputTokens!.array, [0, 2, 1, 3, 2, 4, 3, 5])
        XCTAssertEqual(batch.targetTokens!.array, [4, 6])
    }

    func testWindows_TokensHorizon2_Throws() throws {
        let dir = TempDir()
        let corpus = try TextCorpus.load(path: dir.write("t.txt", "abcdefg"),
                                         options: TextOptions(splits: SplitFractions(train: 1, validation: 0)))
        expectDataError(.invalidSetting, ["horizon 2", "horizon 1"]) {
            _ = try TokenDataset(corpus: corpus, windowing: Windowing(seqLen: 2, horizon: 2))
        }
    }

    func testWindows_SeriesShorterThanSeqLenPlusHorizon_Throws() throws {
        let dir = TempDir()
        let series = try countingSeries(dir, 6)
        expectDataError(.tooShort, ["count6.csv", "training split has 6 rows", "seq_len 5 + horizon 2", "at least 7", "lower seq_len"], in: dir) {
            _ = try SeriesDataset(series: series, windowing: Windowing(seqLen: 5, target: .last, horizon: 2))
        }
        // Exactly seq_len + horizon rows make one window.
        XCTAssertEqual(try SeriesDataset(series: series, windowing: Windowing(seqLen: 4, target: .last, horizon: 2)).windowCount(.train), 1)
    }

    func testWindows_ValidationSplitTooShort_Throws() throws {
        let dir = TempDir()
        let series = try countingSeries(dir, 20, splits: SplitFractions(train: 0.9, validation: 0.1))
        expectDataError(.tooShort, ["validation split has 2 rows"]) {
            _ = try SeriesDataset(series: series, windowing: Windowing(seqLen: 3))
        }
    }

    func testWindowing_BadSettings_Throw() {
        expectDataError(.invalidSetting, ["seq_len is 0"]) { try Windowing(seqLen: 0).validate() }
        expectDataError(.invalidSetting, ["stride is 0"]) { try Windowing(seqLen: 2, stride: 0).validate() }
        expectDataError(.invalidSetting, ["horizon is 0"]) { try Windowing(seqLen: 2, horizon: 0).validate() }
    }
}
