// Reads a numeric table (CSV with a header) as one time series: feature and target columns by
// name, missing cells by policy, time-ordered splits, normalisation fitted on the training rows
// only. It does not cut windows (SeriesDataset) and writes nothing anywhere.

import RecurKernels
import RecurFiles

/// Which rows a normalisation is fitted on, with many series (`data.normalize_per`).
public enum NormalizationScope: String, Sendable, Codable, CaseIterable {
    /// One set of statistics over every series' training rows.
    case all
    /// Each series its own, fitted on its training rows (series of different scales).
    case series
}

/// Settings of a time-series table.
public struct SeriesOptions: Sendable, Equatable, Codable {
    /// Input columns by name; nil: every numeric column (a column is numeric when its first
    /// non-empty cell is a number) but the series and time columns.
    public var features: [String]?
    /// Predicted columns by name; nil: the same as the features (univariate when there is one).
    public var targets: [String]?
    /// How values are scaled (fitted on the training rows).
    public var normalization: NormalizationKind
    /// What happens to empty or non-numeric cells.
    public var missing: MissingValuePolicy
    /// Fractions of the rows in each split, in time order (of each series).
    public var splits: SplitFractions
    /// Whether the first row names the columns; nil is `.auto`: it does, and a first row that
    /// reads as numbers only is said to be taken as the header (`notes`). Without one the
    /// columns are named column1, column2, …
    public var header: HeaderMode?
    /// The column naming each row's series (Note [Many series]); nil: the table is one series.
    public var seriesColumn: String? = nil
    /// The column of each row's time (Note [Time axis]); nil: one is detected by its name.
    public var timeColumn: String? = nil
    /// With many series: one normalisation for all, or one per series.
    public var normalizePer: NormalizationScope = .all

    /// Defaults: every numeric column as feature and target, zscore, `missing: error`, 90/10.
    public init(features: [String]? = nil, targets: [String]? = nil, normalization: NormalizationKind = .zscore,
                missing: MissingValuePolicy = .error, splits: SplitFractions = SplitFractions(), header: HeaderMode? = nil) {
        self.header = header
        self.features = features
        self.targets = targets
        self.normalization = normalization
        self.missing = missing
        self.splits = splits
    }
}

// Note [Many series]
// One long table can hold many related series (stores × products, sensors): `data.series_column`
// names each row's series, and the rows of a series are kept in file order (they need not be
// adjacent; the table is regrouped so each series is one run of rows). Every series is split
// by time on its own — the first fraction of each series' rows trains, the next validates, the
// last tests — and windowed on its own, so no window crosses from one series (or split) into
// the next; a series too short for a window of some split adds none there. Normalisation is
// fitted on the training rows of every series together (`normalize_per: all`) or of each
// series alone (`series`, stored per series name with the model). Predictions come back to
// original units with their own series' statistics, and eval reports every series and all.

/// One series of a table: its name (the series column's value; "" for a table of one
/// series) and its rows, contiguous and in time order.
public struct SeriesPart: Sendable, Equatable {
    public var name: String
    public var rows: Range<Int>
}

/// The rows of one series that fall in one split.
public struct SeriesPiece: Sendable, Equatable {
    /// Index into `TimeSeries.parts`.
    public var series: Int
    public var rows: Range<Int>
}

/// A loaded, normalised time series table: `rowCount` time steps of `columns.count` values,
/// in one or many series (Note [Many series]).
public struct TimeSeries: Sendable {
    /// The file read.
    public let path: String
    /// The settings it was read with.
    public let options: SeriesOptions
    /// The columns read (features ∪ targets), in file order.
    public let columns: [String]
    /// Feature columns as indices into `columns`, in input order.
    public let featureIndices: [Int]
    /// Target columns as indices into `columns`, in output order.
    public let targetIndices: [Int]
    /// Row-major [rowCount, columns.count], normalised.
    public private(set) var values: [Float]
    /// Time steps (rows kept).
    public private(set) var rowCount: Int
    /// The file line of each row (rows may have been dropped).
    public private(set) var lines: [Int]
    /// Statistics of every column in `columns`, fitted on the training rows (or given); with
    /// `normalize_per: series`, those of the first series (each series' are `stats(series:)`).
    public let normalization: NormalizationStats
    /// With `normalize_per: series`: each series' statistics, by series name.
    public private(set) var seriesNormalization: [String: NormalizationStats]?
    /// The series, in order of first appearance in the file.
    public private(set) var parts: [SeriesPart]
    /// Each row's time (Note [Time axis]), when the table has a time column.
    public private(set) var time: TimeAxis?
    private var splitPieces: [[SeriesPiece]]
    /// What the reader decided and the user should know (a numeric first row taken as the header).
    public var notes: [String] = []

    /// Whether the table holds more than one series.
    public var hasManySeries: Bool { options.seriesColumn != nil }

    /// The rows of each series in one split, series in order.
    public func pieces(_ split: DataSplit) -> [SeriesPiece] { splitPieces[split.index] }

    /// The row range of one split of a table of one series (with many series, from the first
    /// piece's first row to the last piece's end).
    public func range(_ split: DataSplit) -> Range<Int> {
        let p = splitPieces[split.index]
        guard let first = p.first, let last = p.last else { return 0..<0 }
        return first.rows.lowerBound ..< max(first.rows.lowerBound, last.rows.upperBound)
    }

    /// The statistics series `s` (an index into `parts`) is normalised with.
    public func stats(series s: Int) -> NormalizationStats {
        seriesNormalization?[parts[s].name] ?? normalization
    }

    /// This series with `other`'s rows after its own as the split `split` (Note [Given splits]),
    /// its columns taken by name (its file may order them otherwise), every series of it in
    /// that split.
    /// - Precondition: `other` holds this series' columns, normalised with its statistics.
    public func appending(_ other: TimeSeries, as split: DataSplit) -> TimeSeries {
        let place = columns.map { name in
            guard let k = other.columns.firstIndex(of: name) else { preconditionFailure("appending: column \(name) missing") }
            return k
        }
        var s = self
        let c = columns.count, oc = other.columns.count
        s.values.reserveCapacity(values.count + other.rowCount * c)
        for r in 0..<other.rowCount {
            for j in 0..<c { s.values.append(other.values[r * oc + place[j]]) }
        }
        let first = parts.count
        s.parts += other.parts.map { SeriesPart(name: $0.name, rows: $0.rows.lowerBound + rowCount ..< $0.rows.upperBound + rowCount) }
        s.splitPieces[split.index] = (first..<s.parts.count).map { SeriesPiece(series: $0, rows: s.parts[$0].rows) }
        if let t = other.time, var mine = s.time, mine.name == t.name {
            mine.labels += t.labels; mine.values += t.values
            s.time = mine
        } else {
            s.time = nil
        }
        s.rowCount += other.rowCount
        s.lines += other.lines
        s.notes += other.notes
        return s
    }

    /// Names a column may have that make it the time axis when no data.time_column is given.
    static let timeNames: Set<String> = ["year", "date", "time", "month", "day", "t", "step", "index", "timestamp", "ds"]

    /// Reads `path`.
    /// - Parameters:
    ///   - normalization: stored statistics (evaluation, forecasting) used instead of fitting;
    ///     they must name every column read.
    ///   - seriesNormalization: stored statistics per series (`normalize_per: series`).
    /// - Throws: `DataError` for a missing, empty or non-UTF-8 file, unknown column names, rows
    ///   with the wrong number of fields, missing or non-numeric cells under `missing: error`,
    ///   a split in which a column has no value at all, a series or time cell that is missing,
    ///   times that do not increase within a series, or a series the stored statistics lack.
    public static func load(path: String, options: SeriesOptions = SeriesOptions(),
                            normalization stored: NormalizationStats? = nil,
                            seriesNormalization storedSeries: [String: NormalizationStats]? = nil) throws(DataError) -> TimeSeries {
        try options.splits.validate()
        let table = try SeriesTable(path: path, header: options.header)
        let header = table.header
        // Where messages about the header point (NumPy files and headerless CSVs have none).
        let headerLine: Int? = table.headerLine == 0 ? nil : table.headerLine
        let notes = table.notes
        func resolve(_ names: [String], _ role: String) throws(DataError) -> [Int] {
            var indices: [Int] = []
            for name in names {
                guard let i = header.firstIndex(of: name) else {
                    throw DataError(.unknownColumn, file: path, line: headerLine,
                                    problem: "\(role) column '\(name)' is not in the header",
                                    fix: "use one of the columns the file has: \(listing(header))")
                }
                indices.append(i)
            }
            if indices.isEmpty {
                throw DataError(.invalidSetting, file: path, problem: "no \(role) columns are chosen", fix: "name at least one \(role) column")
            }
            return indices
        }
        let seriesField = try options.seriesColumn.map { (n) throws(DataError) in try resolve([n], "series (data.series_column)")[0] }
        let givenTime = try options.timeColumn.map { (n) throws(DataError) in try resolve([n], "time (data.time_column)")[0] }
        if let s = seriesField, s == givenTime {
            throw DataError(.invalidSetting, file: path, problem: "data.series_column and data.time_column both name '\(header[s])'",
                            fix: "name the column of series names and the column of times")
        }
        let reserved = Set([seriesField, givenTime].compactMap { $0 })
        // A time column named by the user, or one named like time that no setting makes a feature.
        let named = Set((options.features ?? []) + (options.targets ?? []))
        let timeCandidates = givenTime.map { [$0] }
            ?? header.indices.filter { timeNames.contains(header[$0].lowercased()) && !named.contains(header[$0]) && !reserved.contains($0) }
        let numeric = (options.features == nil) ? try table.numericColumns() : []
        let featureFields = try options.features.map { (n) throws(DataError) in try resolve(n, "feature") } ?? numeric.filter { !reserved.contains($0) }
        let targetFields = try options.targets.map { (n) throws(DataError) in try resolve(n, "target") } ?? featureFields
        for (role, fields) in [("data.columns", featureFields), ("data.targets", targetFields)] {
            if let f = fields.first(where: { reserved.contains($0) }) {
                let key = f == seriesField ? "data.series_column" : "data.time_column"
                throw DataError(.invalidSetting, file: path, line: headerLine,
                                problem: "\(role) names '\(header[f])', which is \(key)", fix: "remove it from \(role): \(f == seriesField ? "series names" : "times") are not values to learn")
            }
        }
        if featureFields.isEmpty {
            throw DataError(.invalidSetting, file: path,
                            problem: "no column holds numbers (columns: \(listing(header, quoted: false)))",
                            fix: "check the file, or name the feature and target columns")
        }
        let used = Array(Set(featureFields + targetFields)).sorted()
        let c = used.count
        let autoTime = timeCandidates.filter { !used.contains($0) }

        // Parse the used cells; NaN marks a missing cell when the policy allows it.
        var raw: [Double] = []
        var lines: [Int] = []
        var seriesNames: [String] = []
        // Each time candidate's cells as written and read (NaN: not a time), and whether it
        // still reads as times of one kind (all dates or all numbers): read once, here.
        var timeTexts: [[String]] = Array(repeating: [], count: autoTime.count)
        var timeValues: [[Double]] = Array(repeating: [], count: autoTime.count)
        var timeIsDate: [Bool?] = Array(repeating: nil, count: autoTime.count)
        var timeUsable = [Bool](repeating: true, count: autoTime.count)
        try table.forEachRow { (line, row) throws(DataError) -> Bool in
            var keep = true
            for f in used {
                switch row.cell(f) {
                case .number(let v):
                    raw.append(v)
                case .missing:
                    if options.missing == .error {
                        throw DataError(.badCell, file: path, line: line, column: f + 1,
                                        problem: "column '\(header[f])' has a missing value",
                                        fix: "fill it in, or choose missing: interpolate, forward_fill or drop")
                    }
                    raw.append(.nan)
                case .text(let text):
                    if options.missing == .error {
                        throw DataError(.badCell, file: path, line: line, column: f + 1,
                                        problem: "column '\(header[f])' holds '\(text)', which is not a number",
                                        fix: "correct the value, or choose missing: interpolate, forward_fill or drop to treat it as missing"
                                            + (CivilTime(text) != nil ? " (a column of dates is the time axis: name it with data.time_column)" : ""))
                    }
                    raw.append(.nan)
                }
            }
            if let s = seriesField {
                let name = row.text(s)
                if name.isEmpty {
                    if options.missing == .drop { keep = false } else {
                        throw DataError(.badCell, file: path, line: line, column: s + 1,
                                        problem: "the series name (column '\(header[s])', data.series_column) is missing",
                                        fix: "name the series of every row, or choose missing: drop")
                    }
                }
                seriesNames.append(name)
            }
            for (k, f) in autoTime.enumerated() {
                let text = row.text(f)
                let t = TimeAxis.read(text)
                if let t {
                    if timeIsDate[k] == nil { timeIsDate[k] = t.isDate } else if timeIsDate[k] != t.isDate {
                        if givenTime != nil {
                            throw DataError(.badCell, file: path, line: line, column: f + 1,
                                            problem: "data.time_column '\(header[f])' mixes dates and numbers ('\(text)')",
                                            fix: "write every time the same way")
                        }
                        timeUsable[k] = false
                    }
                } else if givenTime != nil {
                    if text.isEmpty && options.missing == .drop { keep = false } else {
                        throw DataError(.badCell, file: path, line: line, column: f + 1,
                                        problem: text.isEmpty ? "the time (column '\(header[f])', data.time_column) is missing"
                                            : "the time '\(text)' (column '\(header[f])', data.time_column) is neither a number nor a date",
                                        fix: "write times as numbers or dates (2024-01-31, 2024-01, 2024-01-31 12:00:00)")
                    }
                } else {
                    timeUsable[k] = false
                }
                timeTexts[k].append(text)
                timeValues[k].append(t?.value ?? .nan)
            }
            if !keep { for j in (raw.count - c)..<raw.count { raw[j] = .nan } }
            lines.append(line)
            return true
        }
        if options.missing == .drop {
            let kept = (0..<lines.count).filter { r in !raw[r * c ..< (r + 1) * c].contains(where: { $0.isNaN }) }
            raw = kept.flatMap { raw[$0 * c ..< ($0 + 1) * c] }
            lines = kept.map { lines[$0] }
            if seriesField != nil { seriesNames = kept.map { seriesNames[$0] } }
            timeTexts = timeTexts.map { t in kept.map { t[$0] } }
            timeValues = timeValues.map { t in kept.map { t[$0] } }
        }
        let rowCount = lines.count
        if rowCount == 0 { throw noRows(path) }

        // Each series one run of rows, in order of first appearance (Note [Many series]).
        var parts: [SeriesPart] = []
        if seriesField != nil {
            var order: [String: Int] = [:], members: [[Int]] = []
            for (r, name) in seriesNames.enumerated() {
                if let k = order[name] { members[k].append(r) } else { order[name] = members.count; members.append([r]) }
            }
            let permutation = members.flatMap { $0 }
            if permutation != Array(0..<rowCount) {
                raw = permutation.flatMap { raw[$0 * c ..< ($0 + 1) * c] }
                lines = permutation.map { lines[$0] }
                timeTexts = timeTexts.map { t in permutation.map { t[$0] } }
                timeValues = timeValues.map { t in permutation.map { t[$0] } }
            }
            var start = 0
            for (k, m) in members.enumerated() {
                parts.append(SeriesPart(name: seriesNames[members[k][0]], rows: start ..< start + m.count))
                start += m.count
            }
        } else {
            parts = [SeriesPart(name: "", rows: 0..<rowCount)]
        }

        // The time axis: given (checked), or the first candidate that reads as increasing times.
        var time: TimeAxis? = nil
        for (k, f) in autoTime.enumerated() where timeUsable[k] {
            let values = timeValues[k]
            var increasing = true
            for part in parts where increasing {
                for r in part.rows.dropFirst() where !(values[r] > values[r - 1]) {
                    guard givenTime != nil else { increasing = false; break }
                    throw DataError(.badCell, file: path, line: lines[r], column: f + 1,
                                    problem: "the time '\(timeTexts[k][r])' (data.time_column) does not come after '\(timeTexts[k][r - 1])' on line \(lines[r - 1])\(part.name.isEmpty ? "" : " of series '\(part.name)'")",
                                    fix: "sort the rows by time\(part.name.isEmpty ? "" : " within each series"), and give every time once")
                }
            }
            if increasing { time = TimeAxis(name: header[f], labels: timeTexts[k], values: values, isDate: timeIsDate[k] ?? false); break }
        }

        // Each series split by time on its own.
        var pieces: [[SeriesPiece]] = [[], [], []]
        for (k, part) in parts.enumerated() {
            for (i, r) in options.splits.ranges(count: part.rows.count).enumerated() {
                pieces[i].append(SeriesPiece(series: k, rows: part.rows.lowerBound + r.lowerBound ..< part.rows.lowerBound + r.upperBound))
            }
        }
        if options.missing == .interpolate || options.missing == .forwardFill {
            for split in DataSplit.allCases {
                for piece in pieces[split.index] where !piece.rows.isEmpty {
                    let rows = piece.rows
                    for j in 0..<c where !GapFill.fill(&raw, range: rows, stride: c, offset: j, policy: options.missing) {
                        let name = parts[piece.series].name
                        throw DataError(.badCell, file: path, line: lines[rows.lowerBound], column: used[j] + 1,
                                        problem: "column '\(header[used[j]])' has no value at all in the \(split.name) split\(name.isEmpty ? "" : " of series '\(name)'") (lines \(lines[rows.lowerBound])–\(lines[rows.upperBound - 1]))",
                                        fix: "supply values there, or choose missing: drop")
                    }
                }
            }
        }
        let names = used.map { header[$0] }
        func fromStored(_ stats: NormalizationStats) throws(DataError) -> NormalizationStats {
            var indices: [Int] = []
            for name in names {
                guard let k = stats.columns.firstIndex(of: name) else {
                    throw DataError(.unknownColumn, file: path, line: headerLine,
                                    problem: "column '\(name)' has no stored normalisation statistics",
                                    fix: "use the columns the model was trained on: \(stats.columns.joined(separator: ", "))")
                }
                indices.append(k)
            }
            return stats.selecting(indices)
        }
        let stats: NormalizationStats
        var perSeries: [String: NormalizationStats]? = nil
        if let storedSeries {
            var chosen: [String: NormalizationStats] = [:]
            for part in parts where chosen[part.name] == nil {
                guard let s = storedSeries[part.name] else {
                    throw DataError(.unknownColumn, file: path, line: lines[part.rows.lowerBound],
                                    problem: "series '\(part.name)' was not in the training data, so it has no normalisation statistics (data.normalize_per: series)",
                                    fix: "give only series the model was trained on, or train with data.normalize_per: all")
                }
                chosen[part.name] = try fromStored(s)
            }
            perSeries = chosen
            stats = chosen[parts[0].name]!
        } else if let stored {
            stats = try fromStored(stored)
        } else if options.normalizePer == .series && seriesField != nil {
            var fitted: [String: NormalizationStats] = [:]
            for piece in pieces[0] {
                fitted[parts[piece.series].name] = NormalizationStats.fit(options.normalization, columns: names, values: raw, rows: [piece.rows])
            }
            perSeries = fitted
            stats = fitted[parts[0].name]!
        } else {
            stats = NormalizationStats.fit(options.normalization, columns: names, values: raw, rows: pieces[0].map(\.rows))
        }
        var values = [Float](repeating: 0, count: raw.count)
        for part in parts {
            let s = perSeries?[part.name] ?? stats
            for r in part.rows {
                for j in 0..<c { values[r * c + j] = s.normalize(raw[r * c + j], column: j) }
            }
        }
        var series = TimeSeries(path: path, options: options, columns: names,
                                featureIndices: featureFields.map { used.firstIndex(of: $0)! },
                                targetIndices: targetFields.map { used.firstIndex(of: $0)! },
                                values: values, rowCount: rowCount, lines: lines, normalization: stats,
                                seriesNormalization: perSeries, parts: parts, time: time, splitPieces: pieces)
        series.notes = notes
        return series
    }

    private init(path: String, options: SeriesOptions, columns: [String], featureIndices: [Int], targetIndices: [Int],
                 values: [Float], rowCount: Int, lines: [Int], normalization: NormalizationStats,
                 seriesNormalization: [String: NormalizationStats]?, parts: [SeriesPart], time: TimeAxis?, splitPieces: [[SeriesPiece]]) {
        self.path = path
        self.options = options
        self.columns = columns
        self.featureIndices = featureIndices
        self.targetIndices = targetIndices
        self.values = values
        self.rowCount = rowCount
        self.lines = lines
        self.normalization = normalization
        self.seriesNormalization = seriesNormalization
        self.parts = parts
        self.time = time
        self.splitPieces = splitPieces
    }

    static func noRows(_ path: String) -> DataError {
        DataError(.emptyFile, file: path, problem: "the file has a header but no usable data rows",
                  fix: "add data rows below the header")
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (Foundation-free).
    func trimmingSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

/// Column names for a message: the first 20 (quoted, or as they are), then how many more there are.
func listing(_ names: [String], limit: Int = 20, quoted: Bool = true) -> String {
    let shown = names.prefix(limit).map { quoted ? "'\($0)'" : $0 }.joined(separator: ", ")
    return names.count > limit ? shown + " … and \(names.count - limit) more columns" : shown
}
