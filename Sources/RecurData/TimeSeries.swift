// Reads a numeric table (CSV with a header) as one time series: feature and target columns by
// name, missing cells by policy, time-ordered splits, normalisation fitted on the training rows
// only. It does not cut windows (SeriesDataset) and writes nothing anywhere.

import RecurKernels

/// Settings of a time-series table.
public struct SeriesOptions: Sendable, Equatable, Codable {
    /// Input columns by name; nil: every numeric column (a column is numeric when its first
    /// non-empty cell is a number).
    public var features: [String]?
    /// Predicted columns by name; nil: the same as the features (univariate when there is one).
    public var targets: [String]?
    /// How values are scaled (fitted on the training rows).
    public var normalization: NormalizationKind
    /// What happens to empty or non-numeric cells.
    public var missing: MissingValuePolicy
    /// Fractions of the rows in each split, in time order.
    public var splits: SplitFractions
    /// Whether the first row names the columns; nil is `.auto`: it does, and a first row that
    /// reads as numbers only is said to be taken as the header (`notes`). Without one the
    /// columns are named column1, column2, …
    public var header: HeaderMode?

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

/// A loaded, normalised time series: `rowCount` time steps of `columns.count` values.
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
    /// Statistics of every column in `columns`, fitted on the training rows (or given).
    public let normalization: NormalizationStats
    private var splitRanges: [Range<Int>]
    /// What the reader decided and the user should know (a numeric first row taken as the header).
    public var notes: [String] = []

    /// The row range of one split.
    public func range(_ split: DataSplit) -> Range<Int> { splitRanges[split.index] }

    /// This series with `other`'s rows after its own as the split `split` (Note [Given splits]),
    /// its columns taken by name (its file may order them otherwise).
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
        s.splitRanges[split.index] = rowCount ..< rowCount + other.rowCount
        s.rowCount += other.rowCount
        s.lines += other.lines
        s.notes += other.notes
        return s
    }

    /// The column names of a CSV file's header, read as `load` reads them (quotes, BOM, CR).
    /// - Throws: `DataError` for a missing, empty or non-UTF-8 file.
    public static func headerNames(path: String) throws(DataError) -> [String] {
        let csv = try CSVReader(path: path)
        var header: [String] = []
        try csv.forEachRow { (_, fields) throws(DataError) -> Bool in
            header = fields.map { csv.text($0).trimmingSpaces() }
            return false
        }
        return header
    }

    /// Reads `path`.
    /// - Parameters:
    ///   - normalization: stored statistics (evaluation, forecasting) used instead of fitting;
    ///     they must name every column read.
    /// - Throws: `DataError` for a missing, empty or non-UTF-8 file, unknown column names, rows
    ///   with the wrong number of fields, missing or non-numeric cells under `missing: error`,
    ///   or a split in which a column has no value at all.
    public static func load(path: String, options: SeriesOptions = SeriesOptions(),
                            normalization stored: NormalizationStats? = nil) throws(DataError) -> TimeSeries {
        try options.splits.validate()
        let csv = try CSVReader(path: path)
        var header: [String] = []
        var headerLine = 1
        var firstRowNumeric = false
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            header = fields.map { csv.text($0).trimmingSpaces() }
            firstRowNumeric = fields.allSatisfy { if case .number = csv.cell($0) { return true } else { return false } }
            headerLine = line
            return false
        }
        var notes: [String] = []
        if options.header == .absent {
            // No header: every row is data, and the columns are named by position.
            header = (1...max(header.count, 1)).map { "column\($0)" }
            headerLine = 0
        } else if options.header != .present && firstRowNumeric {
            notes.append("\(path):\(headerLine): the first row (\(quotedForMessage(header.prefix(4).joined(separator: ", "), limit: 80))\(header.count > 4 ? ", …" : "")) reads as numbers but was taken as the header (data.header: auto); set data.header: false if the file has no header (its columns are then column1, column2, …), or true to keep it and silence this")
        }
        if let dup = firstDuplicate(header) {
            throw DataError(.malformedCSV, file: path, line: headerLine,
                            problem: "the header names column '\(dup)' twice", fix: "give every column a distinct name")
        }
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
        let numeric = (options.features == nil) ? try numericColumns(csv, count: header.count, skipping: headerLine) : []
        let featureFields = try options.features.map { (n) throws(DataError) in try resolve(n, "feature") } ?? numeric
        if featureFields.isEmpty {
            throw DataError(.invalidSetting, file: path,
                            problem: "no column holds numbers (columns: \(listing(header, quoted: false)))",
                            fix: "check the file, or name the feature and target columns")
        }
        let targetFields = try options.targets.map { (n) throws(DataError) in try resolve(n, "target") } ?? featureFields
        let used = Array(Set(featureFields + targetFields)).sorted()
        let c = used.count

        // Parse the used cells; NaN marks a missing cell when the policy allows it.
        var raw: [Double] = []
        var lines: [Int] = []
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if line == headerLine { return true }
            if fields.count != header.count {
                throw DataError(.wrongFieldCount, file: path, line: line,
                                problem: "this row has \(fields.count) fields but the header has \(header.count)",
                                fix: "give every row one value per header column (an empty field is written as nothing between two commas)")
            }
            for f in used {
                switch csv.cell(fields[f]) {
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
                                        fix: "correct the value, or choose missing: interpolate, forward_fill or drop to treat it as missing")
                    }
                    raw.append(.nan)
                }
            }
            lines.append(line)
            return true
        }
        if options.missing == .drop {
            var keptRaw: [Double] = [], keptLines: [Int] = []
            for r in 0..<lines.count where !raw[r * c ..< (r + 1) * c].contains(where: { $0.isNaN }) {
                keptRaw.append(contentsOf: raw[r * c ..< (r + 1) * c])
                keptLines.append(lines[r])
            }
            raw = keptRaw
            lines = keptLines
        }
        let rowCount = lines.count
        if rowCount == 0 { throw noRows(path) }
        let ranges = options.splits.ranges(count: rowCount)
        if options.missing == .interpolate || options.missing == .forwardFill {
            for split in DataSplit.allCases {
                let rows = ranges[split.index]
                for j in 0..<c where !GapFill.fill(&raw, range: rows, stride: c, offset: j, policy: options.missing) {
                    throw DataError(.badCell, file: path, line: lines[rows.lowerBound], column: used[j] + 1,
                                    problem: "column '\(header[used[j]])' has no value at all in the \(split.name) split (lines \(lines[rows.lowerBound])–\(lines[rows.upperBound - 1]))",
                                    fix: "supply values there, or choose missing: drop")
                }
            }
        }
        let names = used.map { header[$0] }
        let stats: NormalizationStats
        if let stored {
            var indices: [Int] = []
            for name in names {
                guard let k = stored.columns.firstIndex(of: name) else {
                    throw DataError(.unknownColumn, file: path, line: headerLine,
                                    problem: "column '\(name)' has no stored normalisation statistics",
                                    fix: "use the columns the model was trained on: \(stored.columns.joined(separator: ", "))")
                }
                indices.append(k)
            }
            stats = stored.selecting(indices)
        } else {
            stats = NormalizationStats.fit(options.normalization, columns: names, values: raw, rows: ranges[0])
        }
        var values = [Float](repeating: 0, count: raw.count)
        for r in 0..<rowCount {
            for j in 0..<c { values[r * c + j] = stats.normalize(raw[r * c + j], column: j) }
        }
        var series = TimeSeries(path: path, options: options, columns: names,
                                featureIndices: featureFields.map { used.firstIndex(of: $0)! },
                                targetIndices: targetFields.map { used.firstIndex(of: $0)! },
                                values: values, rowCount: rowCount, lines: lines, normalization: stats, splitRanges: ranges)
        series.notes = notes
        return series
    }

    private init(path: String, options: SeriesOptions, columns: [String], featureIndices: [Int], targetIndices: [Int],
                 values: [Float], rowCount: Int, lines: [Int], normalization: NormalizationStats, splitRanges: [Range<Int>]) {
        self.path = path
        self.options = options
        self.columns = columns
        self.featureIndices = featureIndices
        self.targetIndices = targetIndices
        self.values = values
        self.rowCount = rowCount
        self.lines = lines
        self.normalization = normalization
        self.splitRanges = splitRanges
    }

    /// Field indices of the columns whose first non-empty cell is a number.
    private static func numericColumns(_ csv: CSVReader, count: Int, skipping headerLine: Int) throws(DataError) -> [Int] {
        var decided = [Bool?](repeating: nil, count: count)
        var open = count
        var sawRow = false
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if line == headerLine { return true }
            sawRow = true
            for f in 0..<min(count, fields.count) where decided[f] == nil {
                switch csv.cell(fields[f]) {
                case .number: decided[f] = true; open -= 1
                case .text: decided[f] = false; open -= 1
                case .missing: break
                }
            }
            return open > 0
        }
        if !sawRow { throw noRows(csv.path) }
        return (0..<count).filter { decided[$0] == true }
    }

    private static func noRows(_ path: String) -> DataError {
        DataError(.emptyFile, file: path, problem: "the file has a header but no usable data rows",
                  fix: "add data rows below the header")
    }

    private static func firstDuplicate(_ names: [String]) -> String? {
        var seen = Set<String>()
        for n in names where !seen.insert(n).inserted { return n }
        return nil
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
