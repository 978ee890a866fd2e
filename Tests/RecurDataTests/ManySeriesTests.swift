// Many series in one long table (Note [Many series]) and the time axis (Note [Time axis]):
// rows regrouped by series in file order, each series split by time and windowed on its own
// (no window crosses a series or split), normalisation per series or over all, and times read
// as dates or numbers, checked to increase, and continued by the data's spacing.

import XCTest
@testable import RecurData

final class ManySeriesTests: XCTestCase {
    /// Three series of 10 rows each, interleaved by date: series k's row i holds 100·k + i.
    func interleaved(_ dir: TempDir) -> String {
        var text = "date,store,sales\n"
        for i in 0..<10 {
            for k in 0..<3 { text += "2020-\(i < 9 ? "0" : "")\(i + 1)-15,st\(k),\(100 * k + i)\n" }
        }
        return dir.write("long.csv", text)
    }

    func options(_ per: NormalizationScope = .all, normalization: NormalizationKind = .none,
                 splits: SplitFractions = SplitFractions(train: 0.6, validation: 0.4, test: 0)) -> SeriesOptions {
        var o = SeriesOptions(features: ["sales"], normalization: normalization, splits: splits)
        o.seriesColumn = "store"; o.normalizePer = per
        return o
    }

    func testSeries_AreRegrouped_AndSplitByTimeEachOnItsOwn() throws {
        let dir = TempDir()
        let s = try TimeSeries.load(path: interleaved(dir), options: options(splits: SplitFractions(train: 0.6, validation: 0.2, test: 0.2)))
        XCTAssertEqual(s.parts.map(\.name), ["st0", "st1", "st2"])
        XCTAssertEqual(s.parts.map(\.rows), [0..<10, 10..<20, 20..<30])
        XCTAssertEqual(s.values[10..<20].map { $0 }, (0..<10).map { Float(100 + $0) }, "series st1 in its time order")
        XCTAssertEqual(s.lines[10], 3, "st1's first row is line 3 of the file")
        XCTAssertEqual(s.pieces(.train).map(\.rows), [0..<6, 10..<16, 20..<26])
        XCTAssertEqual(s.pieces(.validation).map(\.rows), [6..<8, 16..<18, 26..<28])
        XCTAssertEqual(s.pieces(.test).map(\.rows), [8..<10, 18..<20, 28..<30])
        XCTAssertEqual(s.time?.name, "date", "detected by its name, never a feature")
        XCTAssertEqual(s.time?.labels[10], "2020-01-15")
        XCTAssertEqual(s.columns, ["sales"])
    }

    func testWindows_NeverCrossASeries() throws {
        let dir = TempDir()
        let data = try SeriesDataset(series: TimeSeries.load(path: interleaved(dir), options: options()),
                                     windowing: Windowing(seqLen: 3, stride: 1, target: .last, horizon: 1))
        // 6 training rows per series: 3 windows of 3 steps and a target each, 9 in all.
        XCTAssertEqual(data.windowCount(.train), 9)
        XCTAssertEqual(data.windowCount(.validation), 3, "4 validation rows per series: one window of 3 and a target each")
        let batch = BatchBuffers(for: data, capacity: 9)
        data.fill(.train, windows: 0..<9, into: batch)
        for w in 0..<9 {
            let k = w / 3, first = Float(100 * k + w % 3)
            let inputs = (0..<3).map { batch.inputFeatures!.base[$0 * 9 + w] }
            XCTAssertEqual(inputs, [first, first + 1, first + 2], "window \(w)")
            XCTAssertEqual(batch.targetValues!.base[w], first + 3, "window \(w)'s target is its own series' next row")
            XCTAssertEqual(inputs.map { Int($0) / 100 }, [k, k, k], "every input row of window \(w) is series \(k)'s")
        }
        XCTAssertEqual(data.place(.train, 4).piece.series, 1)
        XCTAssertEqual(data.targetRow(.train, 4), 14)
    }

    func testNormalization_PerSeries_OrOverAll() throws {
        let dir = TempDir()
        let path = interleaved(dir)
        let all = try TimeSeries.load(path: path, options: options(.all, normalization: .zscore))
        XCTAssertNil(all.seriesNormalization)
        // One mean over every series' training rows: 0…5, 100…105, 200…205.
        XCTAssertEqual(all.normalization.shift[0], 102.5, accuracy: 1e-9)
        let per = try TimeSeries.load(path: path, options: options(.series, normalization: .zscore))
        XCTAssertEqual(per.seriesNormalization?["st2"]?.shift[0] ?? .nan, 202.5, accuracy: 1e-9)
        XCTAssertEqual(per.values[20], per.values[0], accuracy: 1e-6, "each series normalised by its own training rows")
        var y: [Float] = [per.values[25]]
        let data = try SeriesDataset(series: per, windowing: Windowing(seqLen: 2, stride: 1, target: .last, horizon: 1))
        y.withUnsafeMutableBufferPointer { data.denormalizeTargets($0, series: 2) }
        XCTAssertEqual(y[0], 205, accuracy: 1e-4, "back to original units with its own series' statistics")
        // Stored statistics must name every series read.
        XCTAssertThrowsError(try TimeSeries.load(path: path, options: options(.series), seriesNormalization: ["st0": per.seriesNormalization!["st0"]!])) { error in
            XCTAssert("\(error)".contains("series 'st1' was not in the training data"), "\(error)")
        }
    }

    func testSeasonalNaiveScale_IsEachSeries() throws {
        let dir = TempDir()
        let data = try SeriesDataset(series: TimeSeries.load(path: interleaved(dir), options: options()),
                                     windowing: Windowing(seqLen: 2, stride: 1, target: .last, horizon: 1))
        // Every series rises by 1 a row: |y_t − y_{t−2}| = 2 on its own training rows.
        XCTAssertEqual(data.seasonalNaiveMAE(targetColumn: 0, seasonality: 2, series: 1), 2, accuracy: 1e-9)
    }

    func testTimeColumn_Errors_NameFileLineAndFix() throws {
        let dir = TempDir()
        var o = SeriesOptions(features: ["v"])
        o.timeColumn = "when"
        let unsorted = dir.write("u.csv", "when,v\n2020-01-01,1\n2020-03-01,2\n2020-02-01,3\n")
        XCTAssertThrowsError(try TimeSeries.load(path: unsorted, options: o)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.line, 4); XCTAssertEqual(e?.column, 1)
            XCTAssert("\(error)".contains("the time '2020-02-01' (data.time_column) does not come after '2020-03-01' on line 3"), "\(error)")
            XCTAssert("\(error)".contains("sort the rows by time"), "\(error)")
        }
        let bad = dir.write("b.csv", "when,v\n2020-01-01,1\nyesterday,2\n")
        XCTAssertThrowsError(try TimeSeries.load(path: bad, options: o)) { error in
            XCTAssertEqual((error as? DataError)?.line, 3)
            XCTAssert("\(error)".contains("the time 'yesterday' (column 'when', data.time_column) is neither a number nor a date"), "\(error)")
        }
        var named = SeriesOptions(features: ["v", "when"])
        named.timeColumn = "when"
        XCTAssertThrowsError(try TimeSeries.load(path: bad, options: named)) { error in
            XCTAssert("\(error)".contains("data.columns names 'when', which is data.time_column"), "\(error)")
        }
        // A column named like time that does not increase is left alone (no time axis).
        let loose = dir.write("l.csv", "t,v\n3,1\n2,2\n1,3\n")
        XCTAssertNil(try TimeSeries.load(path: loose, options: SeriesOptions(features: ["v"])).time)
        // Dates in a value column say how to make them the time axis.
        XCTAssertThrowsError(try TimeSeries.load(path: dir.write("d.csv", "x,v\n2020-01-01,1\n"), options: SeriesOptions(features: ["x", "v"]))) { error in
            XCTAssert("\(error)".contains("name it with data.time_column"), "\(error)")
        }
    }

    func testTimeAxis_ContinuesByTheDataSpacing() throws {
        let months = TimeAxis(name: "m", labels: ["2021-11", "2021-12"], values: [0, 0], isDate: true)
        XCTAssertEqual(months.labels(after: 1, previous: 0, count: 3), ["2022-01", "2022-02", "2022-03"])
        let days = TimeAxis(name: "d", labels: ["2024-02-27", "2024-02-28"], values: [0, 0], isDate: true)
        XCTAssertEqual(days.labels(after: 1, previous: 0, count: 2), ["2024-02-29", "2024-03-01"], "2024 is a leap year")
        let hours = TimeAxis(name: "t", labels: ["2024-12-31 22:00", "2024-12-31T23:00"], values: [0, 0], isDate: true)
        XCTAssertEqual(hours.labels(after: 1, previous: 0, count: 1), ["2025-01-01T00:00"])
        let years = TimeAxis(name: "YEAR", labels: ["1990", "1995"], values: [1990, 1995], isDate: false)
        XCTAssertEqual(years.labels(after: 1, previous: 0, count: 2), ["2000", "2005"])
        XCTAssertEqual(CivilTime("2020-07-02")!.decimalYear, 2020.5, accuracy: 0.003)
        XCTAssertNil(CivilTime("2020-02-30"))
        XCTAssertNil(CivilTime("2020-13"))
    }

    func testStatefulTraining_OverManySeries_IsRefused() throws {
        let dir = TempDir()
        XCTAssertThrowsError(try SeriesDataset(series: TimeSeries.load(path: interleaved(dir), options: options()),
                                               windowing: Windowing(seqLen: 2, stride: 2, target: .next, horizon: 1, streams: 2))) { error in
            XCTAssert("\(error)".contains("remove data.stateful"), "\(error)")
        }
    }
}

/// Series tables from NumPy (Note [NumPy series]): an .npz of named columns, strings and
/// numbers, read as the CSV table would be; a [T, C] .npy as C numeric columns.
final class NumPySeriesTests: XCTestCase {
    func testNPZ_NamedColumns_AreALongTable() throws {
        var o = SeriesOptions(features: ["sales"], normalization: .none, missing: .interpolate, splits: SplitFractions(train: 1, validation: 0, test: 0))
        o.seriesColumn = "shop"
        let s = try TimeSeries.load(path: fixture("series_long.npz"), options: o)
        XCTAssertEqual(s.parts.map(\.name), ["a", "b"])
        XCTAssertEqual(s.parts.map(\.rows), [0..<6, 6..<12])
        XCTAssertEqual(Array(s.values[0..<6]), [10, 11, 12, 13, 14, 15])
        // b's NaN at its third month is filled between 101 and 103.
        XCTAssertEqual(Array(s.values[6..<12]), [100, 101, 102, 103, 104, 105])
        XCTAssertEqual(s.time?.name, "month", "the string column of months is the time axis")
        XCTAssertEqual(s.time?.labels[6], "2020-01")
        XCTAssertEqual(s.lines[7], 4, "row r of the arrays is line r + 1: b's second month is row 3")
    }

    func testNPZ_ErrorsName_TheArrayAndRow() throws {
        var o = SeriesOptions(features: ["sales"])
        o.seriesColumn = "shop"
        XCTAssertThrowsError(try TimeSeries.load(path: fixture("series_long.npz"), options: o)) { error in
            XCTAssertEqual((error as? DataError)?.line, 6, "the missing value under missing: error, at its row")
            XCTAssert("\(error)".contains("column 'sales' has a missing value"), "\(error)")
        }
        o.seriesColumn = "store"
        XCTAssertThrowsError(try TimeSeries.load(path: fixture("series_long.npz"), options: o)) { error in
            XCTAssert("\(error)".contains("column 'store' is not in the header") && "\(error)".contains("'month', 'shop', 'sales'"), "\(error)")
        }
    }

    func testNPY_2D_IsNumericColumns() throws {
        let s = try TimeSeries.load(path: fixture("series_2d.npy"), options: SeriesOptions(normalization: .none, splits: SplitFractions(train: 1, validation: 0, test: 0)))
        XCTAssertEqual(s.columns, ["column1", "column2"])
        XCTAssertEqual(s.values, [1, 10, 2, 20, 3, 30, 4, 40])
        XCTAssertThrowsError(try TimeSeries.load(path: fixture("series_ragged.npz"), options: SeriesOptions())) { error in
            XCTAssert("\(error)".contains("array 'b' has 2 elements but 'a' has 3"), "\(error)")
        }
        XCTAssertThrowsError(try TimeSeries.load(path: fixture("x_f4.npy"), options: SeriesOptions())) { error in
            XCTAssert("\(error)".contains("shape [T] or [T, C]"), "\(error)")
        }
    }
}
