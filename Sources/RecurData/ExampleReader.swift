// Reads labelled examples into flat Double storage for LabelledSequences: the one-row-per-
// example CSV form and the directory form (one CSV per example plus a labels file). It checks
// shapes, cells and label syntax; class counting and normalisation happen in LabelledSequences.

struct ExampleReader {
    let options: LabelledOptions
    private(set) var steps: Int?
    private(set) var features: Int?
    /// [examples, T, F], NaN-free.
    private(set) var raw: [Double] = []
    /// −1 for an example without a label (only under `labelsOptional`).
    private(set) var labels: [Int32] = []
    private(set) var unlabelledSeen = false
    /// Where each label was read, for out-of-range messages.
    private(set) var labelOrigins: [(file: String, line: Int, column: Int)] = []
    private(set) var featureNames: [String]?
    private var scratch: [Double] = []

    init(options: LabelledOptions) {
        self.options = options
        steps = options.steps
        features = options.features
    }

    /// Whether the first row `fields` is a header under `mode`.
    private static func isHeader(_ csv: CSVReader, _ fields: [CSVField], _ mode: HeaderMode) -> Bool {
        switch mode {
        case .present: return true
        case .absent: return false
        case .auto: return fields.contains { if case .text = csv.cell($0) { return true } else { return false } }
        }
    }

    /// A label cell as a class id, or nil when the example is dropped.
    private func label(_ csv: CSVReader, _ field: CSVField, line: Int, column: Int) throws(DataError) -> Int32? {
        switch csv.cell(field) {
        case .number(let v) where v == v.rounded() && v >= 0 && v < Double(Int32.max):
            return Int32(v)
        case .number(let v) where v == v.rounded() && v < 0:
            throw DataError(.labelOutOfRange, file: csv.path, line: line, column: column,
                            problem: "label \(Int(v)) is negative", fix: "number the classes 0…C−1")
        case .missing:
            if options.missing == .drop { return nil }
            throw DataError(.badCell, file: csv.path, line: line, column: column, problem: "the label is missing",
                            fix: "give every example a class, or choose missing: drop")
        default:
            throw DataError(.badCell, file: csv.path, line: line, column: column,
                            problem: "the label '\(csv.text(field).trimmingSpaces())' is not a whole number ≥ 0",
                            fix: "write classes as numbers 0…C−1")
        }
    }

    /// Parses one value cell into `scratch`; false when the example is to be dropped.
    private mutating func value(_ csv: CSVReader, _ field: CSVField, line: Int, column: Int) throws(DataError) -> Bool {
        let cell = csv.cell(field)
        if case .number(let v) = cell { scratch.append(v); return true }
        switch options.missing {
        case .error:
            if case .text(let text) = cell {
                throw DataError(.badCell, file: csv.path, line: line, column: column,
                                problem: "'\(text)' is not a number",
                                fix: "correct the value, or choose missing: interpolate, forward_fill or drop to treat it as missing")
            }
            throw DataError(.badCell, file: csv.path, line: line, column: column, problem: "the value is missing",
                            fix: "fill it in, or choose missing: interpolate, forward_fill or drop")
        case .drop:
            return false
        case .interpolate, .forwardFill:
            scratch.append(.nan)
            return true
        }
    }

    /// Fills gaps of the example in `scratch` along time, then stores it with `label`.
    private mutating func commit(label: Int32, origin: (file: String, line: Int, column: Int), file: String, line: Int) throws(DataError) {
        let t = steps!, f = features!
        if options.missing == .interpolate || options.missing == .forwardFill, scratch.contains(where: { $0.isNaN }) {
            for q in 0..<f where !GapFill.fill(&scratch, range: 0..<t, stride: f, offset: q, policy: options.missing) {
                throw DataError(.badCell, file: file, line: line,
                                problem: "feature \(q) has no value in any step of this example",
                                fix: "supply at least one value, or choose missing: drop")
            }
        }
        raw.append(contentsOf: scratch)
        labels.append(label)
        labelOrigins.append(origin)
    }

    // MARK: One example per CSV row

    /// Reads rows of T·F values followed by the label.
    mutating func readCSV(_ path: String) throws(DataError) {
        let csv = try CSVReader(path: path)
        var first = true
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if first {
                first = false
                if ExampleReader.isHeader(csv, fields, options.header) { return true }
            }
            let n = fields.count
            if steps == nil || features == nil {
                let values = n - 1
                let given = features ?? steps
                if values < 1 || (given.map { values % $0 != 0 } ?? false) {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this row has \(n) fields, which is not \(given.map { "a multiple of \($0)" } ?? "at least two") values plus a label",
                                    fix: "check steps and features: a row holds steps × features values, then the label")
                }
                if let f = features { steps = values / f } else if let t = steps { features = values / t } else { steps = values; features = 1 }
            }
            let t = steps!, f = features!
            if options.labelsOptional && n == t * f {
                scratch.removeAll(keepingCapacity: true)
                for k in 0..<n {
                    if try !value(csv, fields[k], line: line, column: k + 1) { return true }
                }
                unlabelledSeen = true
                try commit(label: -1, origin: (path, line, n), file: path, line: line)
                return true
            }
            if n != t * f + 1 {
                throw DataError(.wrongFieldCount, file: path, line: line,
                                problem: "this row has \(n) fields but rows here hold \(t * f + 1) (\(t) steps × \(f) features, then the label)"
                                    + (options.labelsOptional ? " or \(t * f) (no label)" : ""),
                                fix: "give every row the same number of values, or correct steps and features")
            }
            scratch.removeAll(keepingCapacity: true)
            for k in 0..<(n - 1) {
                if try !value(csv, fields[k], line: line, column: k + 1) { return true }
            }
            guard let l = try label(csv, fields[n - 1], line: line, column: n) else { return true }
            try commit(label: l, origin: (path, line, n), file: path, line: line)
            return true
        }
    }

    // MARK: One example per file

    /// Reads `directory/labelsFile` (rows `file,label`) and each named CSV of T rows × F columns.
    mutating func readDirectory(_ directory: String) throws(DataError) {
        let labelsPath = directory.hasSuffix("/") ? directory + options.labelsFile : directory + "/" + options.labelsFile
        let index = try CSVReader(path: labelsPath)
        var first = true
        try index.forEachRow { (line, fields) throws(DataError) -> Bool in
            if fields.count != 2 {
                throw DataError(.wrongFieldCount, file: labelsPath, line: line,
                                problem: "this row has \(fields.count) fields but rows of a labels file hold 2 (file, label)",
                                fix: "write one `file,label` pair per line")
            }
            if first {
                first = false
                if options.header == .present { return true }
                if options.header == .auto, case .text = index.cell(fields[1]) { return true }
            }
            let name = index.text(fields[0]).trimmingSpaces()
            guard let l = try label(index, fields[1], line: line, column: 2) else { return true }
            let file = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let sequence: CSVReader
            do throws(DataError) {
                sequence = try CSVReader(path: file)
            } catch {
                var e = error
                e.problem += " (named on line \(line) of \(labelsPath))"
                throw e
            }
            if try readSequence(sequence) {
                try commit(label: l, origin: (labelsPath, line, 2), file: file, line: 1)
            }
            return true
        }
    }

    /// Reads one sequence file into `scratch`; false when the example is dropped.
    private mutating func readSequence(_ csv: CSVReader) throws(DataError) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        var rows = 0
        var first = true
        var keep = true
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if first {
                first = false
                if ExampleReader.isHeader(csv, fields, options.header) {
                    if featureNames == nil { featureNames = fields.map { csv.text($0).trimmingSpaces() } }
                    return true
                }
            }
            if features == nil { features = fields.count }
            if fields.count != features! {
                throw DataError(.wrongFieldCount, file: csv.path, line: line,
                                problem: "this row has \(fields.count) fields but sequences here have \(features!) features per step",
                                fix: "give every step of every sequence file the same columns")
            }
            rows += 1
            for k in 0..<fields.count where keep {
                keep = try value(csv, fields[k], line: line, column: k + 1)
            }
            return true
        }
        if steps == nil { steps = rows }
        if rows != steps! {
            throw DataError(.wrongFieldCount, file: csv.path,
                            problem: "this sequence has \(rows) steps but the others have \(steps!)",
                            fix: "give every sequence the same number of rows (resample or pad them), or set steps to match")
        }
        if let names = featureNames, names.count != features! { featureNames = nil }
        return keep
    }
}
