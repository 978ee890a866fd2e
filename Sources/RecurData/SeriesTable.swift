// The table a time series is read from (Note [NumPy series]): a CSV file's rows, or NumPy
// arrays as its columns, both seen as a header and rows of cells, so TimeSeries reads either
// the same way. It checks the header and row shapes; what the cells must hold is TimeSeries's.

import RecurKernels
import RecurFiles

// Note [NumPy series]
// A series table may come as NumPy arrays: an `.npz` of one 1-D array per column, all of one
// length, its names the header (np.savez("s.npz", month=months, shop=shops, sales=sales));
// string arrays are text columns (series names, dates), number arrays are read as numbers (NaN
// missing). A `.npy` of shape [T] or [T, C] is a table of C numeric columns named column1 …
// columnC. Cells are read from the mapping as the rows are parsed, so the values are copied
// once, into the series. Row r of the arrays is reported as line r + 1.

struct SeriesTable {
    let path: String
    /// Column names.
    let header: [String]
    /// The header's line (0: the file has none, or is NumPy's).
    let headerLine: Int
    /// What the reader decided and the user should know.
    var notes: [String] = []
    private let source: Source

    private enum Source {
        case csv(CSVReader)
        /// Columns of `rows` elements: numbers read from the mapping, or texts.
        case arrays([Column], rows: Int)
    }

    private enum Column {
        /// Element r·stride + offset of the array is row r's cell.
        case numbers(NumPyArray, stride: Int, offset: Int)
        case texts([String])
    }

    /// One row's cells.
    struct Row {
        fileprivate let table: SeriesTable
        fileprivate let fields: [CSVField]
        fileprivate let index: Int
        /// The row's number of cells.
        var count: Int {
            switch table.source { case .csv: fields.count; case .arrays(let columns, _): columns.count }
        }
        /// Cell `f` read as a number.
        func cell(_ f: Int) -> CSVCell {
            switch table.source {
            case .csv(let csv): return csv.cell(fields[f])
            case .arrays(let columns, _):
                switch columns[f] {
                case .numbers(let a, let stride, let offset):
                    let v = a.double(at: index * stride + offset)
                    return v.isNaN ? .missing : v.isFinite ? .number(v) : .text("\(v)")
                case .texts(let t):
                    return CSVReader.cell(text: t[index])
                }
            }
        }
        /// Cell `f` as written, without surrounding spaces.
        func text(_ f: Int) -> String {
            switch table.source {
            case .csv(let csv): return csv.text(fields[f]).trimmingSpaces()
            case .arrays(let columns, _):
                switch columns[f] {
                case .numbers(let a, let stride, let offset):
                    let v = a.double(at: index * stride + offset)
                    return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
                case .texts(let t): return t[index].trimmingSpaces()
                }
            }
        }
    }

    /// Opens `path`: NumPy's formats by their extension, else a CSV whose first row is the
    /// header as `header` says (nil: auto).
    /// - Throws: `DataError` for an unreadable file, a duplicate column name, or arrays that
    ///   are not one table.
    init(path: String, header mode: HeaderMode?) throws(DataError) {
        self.path = path
        switch ArrayFormat(path: path) {
        case .npy?, .npz?:
            let (names, columns, rows) = try Self.arrays(path)
            header = names; headerLine = 0; source = .arrays(columns, rows: rows)
        case .ts?:
            throw DataError(.invalidSetting, file: path, problem: "a .ts file holds labelled sequences, not a time series table",
                            fix: "set data.kind: sequences, or give the series as CSV or NumPy")
        case nil:
            let csv = try CSVReader(path: path)
            var first: [String] = [], line = 1, numeric = false
            try csv.forEachRow { (l, fields) throws(DataError) -> Bool in
                first = fields.map { csv.text($0).trimmingSpaces() }
                numeric = fields.allSatisfy { if case .number = csv.cell($0) { return true } else { return false } }
                line = l
                return false
            }
            if mode == .absent {
                // No header: every row is data, and the columns are named by position.
                header = (1...max(first.count, 1)).map { "column\($0)" }
                headerLine = 0
            } else {
                header = first; headerLine = line
                if mode != .present && numeric {
                    notes.append("\(path):\(line): the first row (\(quotedForMessage(first.prefix(4).joined(separator: ", "), limit: 80))\(first.count > 4 ? ", …" : "")) reads as numbers but was taken as the header (data.header: auto); set data.header: false if the file has no header (its columns are then column1, column2, …), or true to keep it and silence this")
                }
            }
            source = .csv(csv)
        }
        var seen = Set<String>()
        for n in header where !seen.insert(n).inserted {
            throw DataError(.malformedCSV, file: path, line: headerLine == 0 ? nil : headerLine,
                            problem: "the header names column '\(n)' twice", fix: "give every column a distinct name")
        }
    }

    /// The columns of a NumPy file (Note [NumPy series]).
    private static func arrays(_ path: String) throws(DataError) -> ([String], [Column], Int) {
        let arrays = try NumPyArchive.read(path: path)
        if arrays.count == 1 && arrays[0].array.member == nil {
            let a = arrays[0].array
            guard a.isNumeric, a.shape.count == 1 || a.shape.count == 2 else {
                throw DataError(.wrongFieldCount, file: path,
                                problem: "the array has shape \(a.shapeText) of '\(a.descr)', but a series table in a .npy is numbers of shape [T] or [T, C]",
                                fix: "save the columns by name instead: np.savez('series.npz', date=dates, sales=sales)")
            }
            let c = a.shape.count == 2 ? a.shape[1] : 1
            return ((1...max(c, 1)).map { "column\($0)" }, (0..<c).map { .numbers(a, stride: c, offset: $0) }, a.shape[0])
        }
        guard let first = arrays.first else {
            throw DataError(.emptyFile, file: path, problem: "the archive holds no arrays", fix: "save one array per column: np.savez('series.npz', sales=sales)")
        }
        var columns: [Column] = []
        for (name, a) in arrays {
            guard a.shape.count == 1 else {
                throw DataError(.wrongFieldCount, file: path,
                                problem: "array '\(name)' has shape \(a.shapeText), but each column of a series table is a 1-D array",
                                fix: "save one 1-D array per column: np.savez('series.npz', date=dates, sales=sales)")
            }
            guard a.shape[0] == first.array.shape[0] else {
                throw DataError(.wrongFieldCount, file: path,
                                problem: "array '\(name)' has \(a.shape[0]) elements but '\(first.name)' has \(first.array.shape[0]); the columns of a table are rows of one length",
                                fix: "save columns of equal length, one element per time step")
            }
            columns.append(a.isText ? .texts(try a.strings()) : .numbers(a, stride: 1, offset: 0))
        }
        return (arrays.map(\.name), columns, first.array.shape[0])
    }

    /// Calls `body(line, row)` for every data row, in order, until it returns false.
    /// - Throws: `DataError` for a CSV row whose field count differs from the header's, or what `body` throws.
    func forEachRow(_ body: (Int, Row) throws(DataError) -> Bool) throws(DataError) {
        switch source {
        case .csv(let csv):
            try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
                if line == headerLine { return true }
                if fields.count != header.count {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this row has \(fields.count) fields but the header has \(header.count)",
                                    fix: "give every row one value per header column (an empty field is written as nothing between two commas)")
                }
                return try body(line, Row(table: self, fields: fields, index: 0))
            }
        case .arrays(_, let rows):
            for r in 0..<rows where try !body(r + 1, Row(table: self, fields: [], index: r)) { return }
        }
    }

    /// Indices of the columns whose first non-empty cell is a number.
    /// - Throws: `DataError` when there is no data row.
    func numericColumns() throws(DataError) -> [Int] {
        var decided = [Bool?](repeating: nil, count: header.count)
        var open = header.count
        var sawRow = false
        try forEachRow { (_, row) throws(DataError) -> Bool in
            sawRow = true
            for f in 0..<min(header.count, row.count) where decided[f] == nil {
                switch row.cell(f) {
                case .number: decided[f] = true; open -= 1
                case .text: decided[f] = false; open -= 1
                case .missing: break
                }
            }
            return open > 0
        }
        if !sawRow { throw TimeSeries.noRows(path) }
        return header.indices.filter { decided[$0] == true }
    }
}
