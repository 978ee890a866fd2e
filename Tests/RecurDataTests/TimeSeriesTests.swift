// The time-series reader: columns by name and by default, normalisation fitted on the training
// rows only and its inverse, missing-value policies, CSV quoting, and every bad input's message.

import Foundation
import XCTest
@testable import RecurData

final class TimeSeriesTests: XCTestCase {

    func testSeries_ZScoreFittedOnTrainingRowsOnly() throws {
        let dir = TempDir()
        let path = dir.write("s.csv", seriesCSV([1, 2, 3, 4, 5, 100, 200, 300, 400, 500]))
        let series = try TimeSeries.load(path: path, options: SeriesOptions(splits: SplitFractions(train: 0.5, validation: 0.5)))
        // Training rows 1…5: mean 3, population sd √2.
        XCTAssertEqual(series.normalization.kind, .zscore)
        XCTAssertEqual(series.normalization.shift, [3])
        XCTAssertEqual(series.normalization.scale[0], 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(series.values[0], Float(-2 / 2.0.squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(series.values[5], Float(97 / 2.0.squareRoot()), accuracy: 1e-4)
        // The inverse brings values back.
        XCTAssertEqual(series.normalization.denormalize(series.values[9], column: 0), 500, accuracy: 1e-3)
    }

    func testSeries_MinMaxAndNone() throws {
        let dir = TempDir()
        let path = dir.write("s.csv", seriesCSV([2, 4, 6, 8, 10, 20]))
        let minmax = try TimeSeries.load(path: path, options: SeriesOptions(normalization: .minmax,
                                                                            splits: SplitFractions(train: 0.5, validation: 0.5)))
        XCTAssertEqual(minmax.values, [0, 0.5, 1, 1.5, 2, 4.5])
        let none = try TimeSeries.load(path: path, options: SeriesOptions(normalization: .none))
        XCTAssertEqual(none.values, [2, 4, 6, 8, 10, 20])
        // A constant training column gets scale 1 instead of dividing by zero.
        let flat = try TimeSeries.load(path: dir.write("f.csv", seriesCSV([3, 3, 3, 9])),
                                       options: SeriesOptions(splits: SplitFractions(train: 0.75, validation: 0.25)))
        XCTAssertEqual(flat.values, [0, 0, 0, 6])
    }

    func testSeries_DenormalizeTargets_BackToOriginalUnits() throws {
        let dir = TempDir()
        let path = dir.write("m.csv", "a,b\n1,10\n2,30\n3,50\n4,70\n5,90\n6,110\n")
        let series = try TimeSeries.load(path: path, options: SeriesOptions(targets: ["b", "a"], splits: SplitFractions(train: 1, validation: 0)))
        let data = try SeriesDataset(series: series, windowing: Windowing(seqLen: 2, stride: 1, target: .last, horizon: 2))
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 2], into: batch)
        data.denormalizeTargets(batch.targetValues!.buffer)
        let original = batch.targetValues!.array.map { ($0 * 1000).rounded() / 1000 }
        // [j·(k·O) + h·O + o], O = (b, a): window 0 → rows 2, 3; window 2 → rows 4, 5.
        XCTAssertEqual(original, [50, 3, 70, 4,   90, 5, 110, 6])
    }

    func testSeries_DefaultColumns_AreTheNumericOnes() throws {
        let dir = TempDir()
        let path = dir.write("d.csv", "date,temp,note,rain\n2020-01-01,,x,0.5\n2020-01-02,3.5,y,1\n")
        let series = try TimeSeries.load(path: path, options: SeriesOptions(normalization: .none, missing: .forwardFill))
        XCTAssertEqual(series.columns, ["temp", "rain"])
        XCTAssertEqual(series.featureIndices, [0, 1])
        XCTAssertEqual(series.targetIndices, [0, 1])
        XCTAssertEqual(series.values, [3.5, 0.5, 3.5, 1])
        XCTAssertEqual(series.lines, [2, 3])
    }

    func testSeries_ColumnsByName_QuotedHeaderAndCRLF() throws {
        let dir = TempDir()
        let path = dir.write("q.csv", "\"YEAR\",\"SUN, ACTIVITY\"\r\n1700,5\r\n1701,\"11\"\r\n\r\n1702,16\r\n")
        let series = try TimeSeries.load(path: path, options: SeriesOptions(features: ["SUN, ACTIVITY"], normalization: .none))
        XCTAssertEqual(series.columns, ["SUN, ACTIVITY"])
        XCTAssertEqual(series.values, [5, 11, 16])
        XCTAssertEqual(series.lines, [2, 3, 5])
    }

    func testSeries_MissingPolicies_FillWithinSplits() throws {
        let dir = TempDir()
        // Rows 0–5 train, 6–9 validation; gaps at 1–2 (train), 6 (validation start), 9 (end).
        // (A blank line is skipped, as pandas does; an empty quoted field is a missing cell.)
        let path = dir.write("g.csv", "x\n0\n\"\"\nNA\n3\n4\n5\nnull\n\n7\n8\nnan\n")
        let splits = SplitFractions(train: 0.6, validation: 0.4)
        let interpolated = try TimeSeries.load(path: path, options: SeriesOptions(normalization: .none, missing: .interpolate, splits: splits))
        XCTAssertEqual(interpolated.values, [0, 1, 2, 3, 4, 5, 7, 7, 8, 8])
        let filled = try TimeSeries.load(path: path, options: SeriesOptions(normalization: .none, missing: .forwardFill, splits: splits))
        XCTAssertEqual(filled.values, [0, 0, 0, 3, 4, 5, 7, 7, 8, 8])
        let dropped = try TimeSeries.load(path: path, options: SeriesOptions(normalization: .none, missing: .drop, splits: splits))
        XCTAssertEqual(dropped.values, [0, 3, 4, 5, 7, 8])
        XCTAssertEqual(dropped.lines, [2, 5, 6, 7, 10, 11])
    }

    func testSeries_MissingCellUnderError_NamesLineAndColumn() throws {
        let dir = TempDir()
        let path = dir.write("e.csv", "t,x\n1,5\n2,\n3,7\n")
        expectDataError(.badCell, ["e.csv:3:2", "column 'x' has a missing value", "interpolate"], in: dir) {
            _ = try TimeSeries.load(path: path)
        }
    }

    func testSeries_NonNumericCell_NamesLineAndColumn() throws {
        let dir = TempDir()
        let path = dir.write("e.csv", "t,x\n1,5\n2,abc\n")
        expectDataError(.badCell, ["e.csv:3:2", "'abc', which is not a number"], in: dir) {
            _ = try TimeSeries.load(path: path, options: SeriesOptions(features: ["x"]))
        }
    }

    func testSeries_ColumnWithNoValueInASplit_Throws() throws {
        let dir = TempDir()
        let extra = dir.write("e2.csv", "x,y\n1,1\n2,2\n3,3\n4,\n")
        expectDataError(.badCell, ["column 'y' has no value at all in the validation split"], in: dir) {
            _ = try TimeSeries.load(path: extra, options: SeriesOptions(missing: .interpolate, splits: SplitFractions(train: 0.75, validation: 0.25)))
        }
    }

    func testSeries_WrongFieldCount_NamesLine() throws {
        let dir = TempDir()
        let path = dir.write("e.csv", "a,b\n1,2\n3,4,5\n")
        expectDataError(.wrongFieldCount, ["e.csv:3", "3 fields but the header has 2"], in: dir) {
            _ = try TimeSeries.load(path: path)
        }
    }

    func testSeries_UnknownColumn_ListsAvailable() throws {
        let dir = TempDir()
        let path = dir.write("e.csv", "YEAR,SUNACTIVITY\n1700,5\n")
        expectDataError(.unknownColumn, ["e.csv:1", "target column 'sunspots' is not in the header", "'YEAR', 'SUNACTIVITY'"], in: dir) {
            _ = try TimeSeries.load(path: path, options: SeriesOptions(targets: ["sunspots"]))
        }
    }

    func testSeries_MalformedCSV_Throws() throws {
        let dir = TempDir()
        let open = dir.write("o.csv", "a\n1\n\"2\n")
        expectDataError(.malformedCSV, ["o.csv:3:1", "never closed"], in: dir) { _ = try TimeSeries.load(path: open) }
        let after = dir.write("p.csv", "a,b\n\"1\"x,2\n")
        expectDataError(.malformedCSV, ["p.csv:2:1", "after its closing quote"], in: dir) { _ = try TimeSeries.load(path: after) }
        let dup = dir.write("d.csv", "a,a\n1,2\n")
        expectDataError(.malformedCSV, ["twice"], in: dir) { _ = try TimeSeries.load(path: dup) }
    }

    func testSeries_MissingEmptyAndNonUTF8Files_Throw() throws {
        let dir = TempDir()
        expectDataError(.fileNotFound, ["none.csv", "does not exist"], in: dir) { _ = try TimeSeries.load(path: dir.path + "/none.csv") }
        let empty = dir.write("empty.csv", "")
        expectDataError(.emptyFile, ["empty.csv", "is empty"], in: dir) { _ = try TimeSeries.load(path: empty) }
        let header = dir.write("header.csv", "a,b\n")
        expectDataError(.emptyFile, ["no usable data rows"], in: dir) { _ = try TimeSeries.load(path: header) }
        let latin = dir.write("latin.csv", bytes: Array("a\n1\n".utf8) + [0xE9] + Array("\n".utf8))
        expectDataError(.notUTF8, ["latin.csv:3:1", "byte offset 4"], in: dir) { _ = try TimeSeries.load(path: latin) }
    }

    func testSeries_StoredNormalization_UsedInsteadOfFitting() throws {
        let dir = TempDir()
        let train = try TimeSeries.load(path: dir.write("a.csv", seriesCSV([0, 10])))
        let other = try TimeSeries.load(path: dir.write("b.csv", seriesCSV([5, 15, 25])), normalization: train.normalization)
        XCTAssertEqual(other.normalization, train.normalization)
        XCTAssertEqual(other.values, [0, 2, 4])
        expectDataError(.unknownColumn, ["column 'y' has no stored normalisation"]) {
            _ = try TimeSeries.load(path: dir.write("c.csv", seriesCSV([1, 2], name: "y")), normalization: train.normalization)
        }
    }

    func testSplitFractions_BoundariesRoundToNearest() {
        XCTAssertEqual(SplitFractions(train: 0.8, validation: 0.1, test: 0.1).ranges(count: 309), [0..<247, 247..<278, 278..<309])
        XCTAssertEqual(SplitFractions(train: 0.5, validation: 0.2, test: 0).ranges(count: 10), [0..<5, 5..<7, 7..<7])
        XCTAssertEqual(SplitFractions(train: 1, validation: 0).ranges(count: 3), [0..<3, 3..<3, 3..<3])
    }
}
