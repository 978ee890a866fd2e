// The load benchmark: a small always-on sanity check of the measurement, and the issue's
// 100 MB measurement, run only when RECUR_BENCH_TEXT (a text path) or RECUR_BENCH_SERIES
// (a CSV path) is set — e.g. in a release build; results are printed, never written.

import Foundation
import XCTest
@testable import RecurData

final class LoadBenchmarkTests: XCTestCase {

    func testBenchmarkLoad_SmallText_ReportsSaneFigures() throws {
        let dir = TempDir()
        let path = dir.write("t.txt", String(repeating: "abc\n", count: 1000))
        let m = try TextCorpus.benchmarkLoad(path: path, options: TextOptions(splits: SplitFractions(train: 1, validation: 0)))
        XCTAssertEqual(m.inputBytes, 4000)
        XCTAssertEqual(m.items, 4000)
        XCTAssertGreaterThan(m.seconds, 0)
        XCTAssertGreaterThan(m.peakResidentBytes, 0)
        XCTAssertGreaterThanOrEqual(m.peakResidentBytes, m.residentBeforeBytes)
        let series = try TimeSeries.benchmarkLoad(path: dir.write("s.csv", seriesCSV([1, 2, 3])))
        XCTAssertEqual(series.items, 3)
    }

    func testBenchmark_LoadText_FromEnvironment() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["RECUR_BENCH_TEXT"] else { throw XCTSkip("set RECUR_BENCH_TEXT to a text file to measure") }
        let level = Vocabulary.Level(rawValue: env["RECUR_BENCH_LEVEL"] ?? "chars") ?? .chars
        let m = try TextCorpus.benchmarkLoad(path: path, options: TextOptions(level: level))
        print("RecurData load benchmark (\(level.rawValue)): \(m)")
    }

    func testBenchmark_LoadSeries_FromEnvironment() throws {
        guard let path = ProcessInfo.processInfo.environment["RECUR_BENCH_SERIES"] else {
            throw XCTSkip("set RECUR_BENCH_SERIES to a CSV file to measure")
        }
        let m = try TimeSeries.benchmarkLoad(path: path)
        print("RecurData series load benchmark: \(m)")
    }
}
