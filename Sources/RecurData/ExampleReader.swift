// Reads labelled examples into flat Double storage for LabelledSequences: the one-row-per-
// example CSV form (fixed width, ragged rows, or fixed width with a length column) and the
// directory form (one CSV per example plus a labels file). It checks shapes, cells and label
// syntax; class counting and normalisation happen in LabelledSequences.

import RecurFiles

struct ExampleReader {
    let options: LabelledOptions
    /// T: every example's steps, or (variable lengths) the most an example may have.
    private(set) var steps: Int?
    private(set) var features: Int?
    /// The examples' steps one after another, [Σ n_e, F], NaN-free.
    private(set) var raw: [Double] = []
    /// Each example's steps n_e (all T unless `variableLength`).
    private(set) var lengths: [Int] = []
    /// With a `labelColumn`: each step's class, aligned with `raw`'s rows (−1: none given).
    private(set) var stepLabels: [Int32] = []
    /// With a `labelColumn`: the largest class read (−1: none), the class count when not given.
    private(set) var largestStepLabel: Int32 = -1
    private var stepScratch: [Int32] = []
    /// −1 for an example without a label (only under `labelsOptional`).
    private(set) var labels: [Int32] = []
    private(set) var unlabelledSeen = false
    /// Where each label was read, for out-of-range messages.
    private(set) var labelOrigins: [(file: String, line: Int?, column: Int?)] = []
    private(set) var featureNames: [String]?
    private var scratch: [Double] = []
    /// Labels read as names (Note [Named classes]): each name's id, in order of first appearance
    /// (or of `options.classNames` when given).
    private(set) var namesMode: Bool
    private var classIndex: [String: Int32] = [:]
    private(set) var namesInOrder: [String] = []
    /// Where the file itself fixed the classes (`fixClasses`: a `.ts` @classLabel line), for
    /// messages; nil when they come from the labels or `options.classNames`.
    private(set) var classesListedIn: String?

    init(options: LabelledOptions, namesMode: Bool = false) {
        self.options = options
        steps = options.steps
        features = options.features
        self.namesMode = namesMode || options.classNames != nil
        if let given = options.classNames {
            namesInOrder = given
            for (i, name) in given.enumerated() { classIndex[name] = Int32(i) }
        }
    }

    /// Fixes the classes to `names` in this order, as `options.classNames` would (labels are
    /// read as these names and no others), because the file lists them at `place` (line `line`).
    /// - Throws: `DataError` for more names than a classifier's classes.
    mutating func fixClasses(_ names: [String], listedIn place: String, file: String, line: Int) throws(DataError) {
        precondition(options.classNames == nil, "fixClasses: data.classes names the classes already")
        guard names.count <= LabelledOptions.maxClasses else {
            throw DataError(.labelOutOfRange, file: file, line: line,
                            problem: "\(place) lists \(names.count) classes, more than a classifier's \(LabelledOptions.maxClasses)",
                            fix: "check the class list")
        }
        namesMode = true
        namesInOrder = names
        classIndex = [:]
        for (i, name) in names.enumerated() { classIndex[name] = Int32(i) }
        classesListedIn = place
    }

    /// The error that restarts a read with labels as names: a label that is not a whole number.
    static let namedLabelSeen = DataError(.invalidSetting, problem: "named labels", fix: "read them as names")

    /// Whether the first row `fields` is a header under `mode`.
    /// - Parameter labelLast: the row ends with a label, which may be a name (Note [Named
    ///   classes]): only the fields before it decide.
    private static func isHeader(_ csv: CSVReader, _ fields: [CSVField], _ mode: HeaderMode, labelLast: Bool = false) -> Bool {
        switch mode {
        case .present: return true
        case .absent: return false
        case .auto:
            let deciding = labelLast && fields.count > 1 ? fields.dropLast() : fields[...]
            return deciding.contains { if case .text = csv.cell($0) { return true } else { return false } }
        }
    }

    /// A label cell as a class id, or nil when the example is dropped.
    private mutating func label(_ csv: CSVReader, _ field: CSVField, line: Int, column: Int) throws(DataError) -> Int32? {
        try label(csv.cell(field), text: csv.text(field), file: csv.path, line: line, column: column)
    }

    /// A label as a class id, or nil when the example is dropped: `cell` is the label read as a
    /// number, `text` as written (a name, under `namesMode`).
    mutating func label(_ cell: CSVCell, text: @autoclosure () -> String, file: String, line: Int?, column: Int?) throws(DataError) -> Int32? {
        if namesMode {
            if cell.isMissing {
                if options.missing == .drop { return nil }
                throw DataError(.badCell, file: file, line: line, column: column, problem: "the label is missing",
                                fix: "give every example a class, or choose missing: drop")
            }
            let name = text().trimmingSpaces()
            if let id = classIndex[name] { return id }
            if let given = options.classNames ?? (classesListedIn != nil ? namesInOrder : nil) {
                throw DataError(.labelOutOfRange, file: file, line: line, column: column,
                                problem: "the label '\(name)' is not one of the classes (\(given.prefix(20).joined(separator: ", "))\(given.count > 20 ? ", …" : ""))",
                                fix: classesListedIn.map { "correct the label, or add it to the classes of \($0)" }
                                    ?? "correct the label (the classes are data.classes, or those the model was trained on)")
            }
            guard namesInOrder.count < LabelledOptions.maxClasses else {
                throw DataError(.labelOutOfRange, file: file, line: line, column: column,
                                problem: "the label '\(name)' is one more than a classifier's \(LabelledOptions.maxClasses) classes",
                                fix: "check the label column")
            }
            let id = Int32(namesInOrder.count)
            classIndex[name] = id
            namesInOrder.append(name)
            return id
        }
        switch cell {
        case .number(let v) where v == v.rounded() && v >= 0 && v < Double(LabelledOptions.maxClasses):
            return Int32(v)
        case .number(let v) where v == v.rounded() && v >= Double(LabelledOptions.maxClasses):
            // Checked here, before anything is sized by the largest label.
            throw DataError(.labelOutOfRange, file: file, line: line, column: column,
                            problem: "label \(v < 1e18 ? String(Int64(v)) : "\(v)") is more than a classifier's \(LabelledOptions.maxClasses) classes",
                            fix: "number the classes 0…C−1")
        case .number(let v) where v == v.rounded() && v < 0:
            throw DataError(.labelOutOfRange, file: file, line: line, column: column,
                            problem: "label \(Int(v)) is negative", fix: "number the classes 0…C−1")
        case .missing:
            if options.missing == .drop { return nil }
            throw DataError(.badCell, file: file, line: line, column: column, problem: "the label is missing",
                            fix: "give every example a class, or choose missing: drop")
        default:
            // A named class ("walking", "spk1", "0x1"): the read starts again with labels as names.
            throw Self.namedLabelSeen
        }
    }

    /// Names sorted (when they were not given), and every label renumbered to its name's place.
    mutating func sortNames() {
        guard namesMode, options.classNames == nil, classesListedIn == nil else { return }
        let sorted = namesInOrder.sorted()
        let place = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($0.element, Int32($0.offset)) })
        let remap = namesInOrder.map { place[$0]! }
        for i in labels.indices where labels[i] >= 0 { labels[i] = remap[Int(labels[i])] }
        for i in stepLabels.indices where stepLabels[i] >= 0 { stepLabels[i] = remap[Int(stepLabels[i])] }
        largestStepLabel = Int32(sorted.count - 1)
        namesInOrder = sorted
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
    private mutating func commit(label: Int32, origin: (file: String, line: Int?, column: Int?), file: String, line: Int?) throws(DataError) {
        let f = features!, t = scratch.count / f
        if options.missing == .interpolate || options.missing == .forwardFill, scratch.contains(where: { $0.isNaN }) {
            for q in 0..<f where !GapFill.fill(&scratch, range: 0..<t, stride: f, offset: q, policy: options.missing) {
                throw DataError(.badCell, file: file, line: line,
                                problem: "feature \(q) has no value in any step of this example",
                                fix: "supply at least one value, or choose missing: drop")
            }
        }
        raw.append(contentsOf: scratch)
        stepLabels.append(contentsOf: stepScratch)
        lengths.append(t)
        labels.append(label)
        labelOrigins.append(origin)
    }

    // MARK: Examples from other readers

    /// Adds one example that a reader other than CSV parsed (`.ts`, NumPy): `values` its n·F
    /// values step by step, NaN where one is missing (handled by `options.missing`), `label`
    /// its label as a cell (nil: none, allowed under `labelsOptional`) and `labelText` as written.
    /// `line`/`column` place the example in `file` for messages (nil where a format has none).
    /// - Throws: `DataError` for a feature count unlike the others', a length outside the
    ///   allowed, a missing value under `missing: error`, or a label as for CSV.
    mutating func addExample(_ values: [Double], features f: Int, label: CSVCell?, labelText: @autoclosure () -> String,
                             file: String, line: Int?, column: Int?, place: String) throws(DataError) {
        if let known = features, known != f {
            throw DataError(.wrongFieldCount, file: file, line: line, column: column,
                            problem: "\(place) has \(f) features per step but \(options.features != nil ? "the setting is" : "the others have") \(known)",
                            fix: "give every example the same features (dimensions)")
        }
        features = f
        let n = f > 0 ? values.count / f : 0
        try checkSteps(n, file: file, line: line)
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: values)
        if let missingAt = scratch.firstIndex(where: { $0.isNaN }) {
            switch options.missing {
            case .error:
                throw DataError(.badCell, file: file, line: line, column: column,
                                problem: "\(place) has a missing value at step \(missingAt / f + 1), feature \(missingAt % f + 1)",
                                fix: "fill it in, or choose missing: interpolate, forward_fill or drop")
            case .drop: return
            case .interpolate, .forwardFill: break
            }
        }
        guard let cell = label else {
            guard options.labelsOptional else {
                throw DataError(.badCell, file: file, line: line, column: column, problem: "\(place) has no label",
                                fix: "give every example a class")
            }
            unlabelledSeen = true
            try commit(label: -1, origin: (file, line, column), file: file, line: line)
            return
        }
        guard let l = try self.label(cell, text: labelText(), file: file, line: line, column: column) else { return }
        try commit(label: l, origin: (file, line, column), file: file, line: line)
    }

    // MARK: One example per CSV row

    /// Reads rows of T·F values followed by the label.
    mutating func readCSV(_ path: String) throws(DataError) {
        if options.variableLength { return try readVariableCSV(path) }
        let csv = try CSVReader(path: path)
        var first = true
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if first {
                first = false
                if ExampleReader.isHeader(csv, fields, options.header, labelLast: true) { return true }
            }
            let n = fields.count
            if steps == nil || features == nil {
                let values = n - 1
                let given = features ?? steps
                if values < 1 || (given.map { values % $0 != 0 } ?? false) {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this row has \(n) fields, which is not \(given.map { "a multiple of \($0)" } ?? "at least two") values plus a label",
                                    fix: "check steps and features: a row holds steps × features values, then the label (sequences of different lengths: set data.variable_length: true)")
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
                                fix: "give every row the same number of values, or correct steps and features (sequences of different lengths: set data.variable_length: true)")
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

    /// Checks an example of `n` steps: with variable lengths 1 … seq_len, else the steps every
    /// example has (the first one's, or seq_len when given).
    private mutating func checkSteps(_ n: Int, file: String, line: Int?, hint: String = "") throws(DataError) {
        guard options.variableLength else {
            if steps == nil { steps = n }
            if n != steps! {
                throw DataError(.wrongFieldCount, file: file, line: line,
                                problem: "this sequence has \(n) steps but \(options.steps != nil ? "data.seq_len is" : "the others have") \(steps!)",
                                fix: "give every sequence the same number of rows (resample or pad them), set data.seq_len to match, or set data.variable_length: true")
            }
            return
        }
        guard let cap = steps else { preconditionFailure("variable lengths need seq_len as their limit") }
        if n < 1 {
            throw DataError(.wrongFieldCount, file: file, line: line, problem: "this sequence has no steps",
                            fix: "give every sequence at least one step, or leave it out")
        }
        if n > cap {
            throw DataError(.wrongFieldCount, file: file, line: line,
                            problem: "this sequence has \(n) steps, more than data.seq_len (\(cap)), the longest allowed",
                            fix: "raise data.seq_len to at least \(n), or shorten the sequence" + hint)
        }
    }

    /// The index of header column `name`, which setting `key` names.
    private static func column(_ names: [String], _ name: String, key: String, path: String, line: Int) throws(DataError) -> Int {
        guard let k = names.firstIndex(of: name) else {
            throw DataError(.wrongFieldCount, file: path, line: line,
                            problem: "the header has no column '\(name)' (\(key)); it has \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : "")",
                            fix: "name the column in the first row, or correct \(key)")
        }
        return k
    }

    // MARK: Variable lengths in one CSV

    /// Reads rows of n·F values then the label (ragged rows, F = `features` or 1), or, with a
    /// `lengthColumn`, rows of that column, T·F values (those after the first n·F are padding and
    /// ignored) and the label. An empty label is an example without one under `labelsOptional`.
    private mutating func readVariableCSV(_ path: String) throws(DataError) {
        let csv = try CSVReader(path: path)
        let t = steps!
        var first = true
        var lengthIndex: Int? = nil
        let featuresGiven = features != nil
        if options.lengthColumn == nil, features == nil { features = 1 }
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if first {
                first = false
                if let name = options.lengthColumn {
                    let names = fields.map { csv.text($0).trimmingSpaces() }
                    let k = try ExampleReader.column(names, name, key: "data.length_column", path: path, line: line)
                    if k == names.count - 1 {
                        throw DataError(.wrongFieldCount, file: path, line: line,
                                        problem: "the length column '\(name)' is the last column, where each row's class goes",
                                        fix: "put the class last and the lengths in another column")
                    }
                    lengthIndex = k
                    return true
                }
                if ExampleReader.isHeader(csv, fields, options.header, labelLast: true) { return true }
            }
            let n = fields.count
            // The label's field: the last one, except an unlabelled fixed-width row (no field).
            var labelIndex: Int? = n - 1
            let steps: Int, f: Int
            if let k = lengthIndex {
                // the length, T·F values and the label (or no label, when labels are optional)
                if features == nil {
                    let values = n - 2
                    guard values >= t, values % t == 0 else {
                        throw DataError(.wrongFieldCount, file: path, line: line,
                                        problem: "this row has \(values) values besides the length and the label, which is not seq_len (\(t)) × features",
                                        fix: "pad every row to seq_len steps (the cells after a sequence's length are ignored), or correct seq_len")
                    }
                    features = values / t
                }
                f = features!
                if options.labelsOptional && n == t * f + 1 { labelIndex = nil }
                guard n == t * f + (labelIndex == nil ? 1 : 2), k < n else {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this row has \(n) fields but rows here hold \(t * f + 2) (the length, \(t) steps × \(f) features, the label)",
                                    fix: "pad every row to seq_len steps (the cells after a sequence's length are ignored)")
                }
                guard case .number(let v) = csv.cell(fields[k]), v == v.rounded(), v >= 1, v < 1e9 else {
                    throw DataError(.badCell, file: path, line: line, column: k + 1,
                                    problem: "the length '\(csv.text(fields[k]).trimmingSpaces())' is not a number of steps from 1 to data.seq_len (\(t))",
                                    fix: "write each sequence's number of steps, 1…\(t)")
                }
                steps = Int(v)
            } else {
                // n·F values, then the label
                f = features!
                let values = n - 1
                if values % f != 0 {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this row has \(values) values before the label, not a multiple of the \(f) features per step",
                                    fix: "write each step's \(f) values, then the label" + (f == 1 ? ", or set data.features" : ", or correct data.features"))
                }
                steps = values / f
            }
            try checkSteps(steps, file: path, line: line,
                           hint: featuresGiven || lengthIndex != nil ? "" : " (a ragged row is read as one value per step: set data.features if a step has several)")
            scratch.removeAll(keepingCapacity: true)
            var taken = 0
            for k in 0..<n where k != lengthIndex && k != labelIndex && taken < steps * f {
                taken += 1
                if try !value(csv, fields[k], line: line, column: k + 1) { return true }
            }
            if let li = labelIndex, !(options.labelsOptional && csv.cell(fields[li]).isMissing) {
                guard let l = try label(csv, fields[li], line: line, column: li + 1) else { return true }
                try commit(label: l, origin: (path, line, li + 1), file: path, line: line)
            } else {
                unlabelledSeen = true
                try commit(label: -1, origin: (path, line, n), file: path, line: line)
            }
            return true
        }
    }

    // MARK: A class at every step

    /// Reads sequences labelled step by step (`labelColumn`): one per file of `path` when it is
    /// a directory (every *.csv but the labels file, in name order), or one per run of rows
    /// with the same `sequenceColumn` value in one CSV. Each row is a step: its `labelColumn`
    /// cell is the step's class, the other columns its features (by the header's names).
    mutating func readStepLabelled(_ path: String) throws(DataError) {
        if FileReader.isDirectory(path) {
            let directory = path.hasSuffix("/") ? String(path.dropLast()) : path
            let names = try FileReader.list(directory, suffix: ".csv").filter { $0 != options.labelsFile }
            if names.isEmpty {
                throw DataError(.emptyFile, file: directory, problem: "the directory holds no .csv files",
                                fix: "put one CSV per sequence in it, a row per step with a '\(options.labelColumn!)' column")
            }
            for name in names { try readStepRows(directory + "/" + name, grouped: false) }
        } else {
            guard options.sequenceColumn != nil else {
                throw DataError(.invalidSetting, file: path,
                                problem: "with data.label_column (a class at every step) one CSV needs data.sequence_column to tell its sequences apart",
                                fix: "set data.sequence_column to the column that names each row's sequence, or give a directory of one CSV per sequence")
            }
            try readStepRows(path, grouped: true)
        }
    }

    /// Reads the steps of one file: a single sequence, or (`grouped`) one per run of rows with
    /// the same `sequenceColumn` value.
    private mutating func readStepRows(_ path: String, grouped: Bool) throws(DataError) {
        let csv = try CSVReader(path: path)
        let labelName = options.labelColumn!
        var labelIndex: Int? = nil, sequenceIndex: Int? = nil, width = 0
        var first = true, keep = true
        var current: String? = nil, startLine = 0
        var ended: [String: Int] = [:]   // sequence id → the line its rows started on
        /// Ends the sequence read so far (a new id, or the end of the file).
        func finish(_ reader: inout ExampleReader, line: Int) throws(DataError) {
            defer { reader.scratch.removeAll(keepingCapacity: true); reader.stepScratch.removeAll(keepingCapacity: true); keep = true }
            guard keep, !reader.stepScratch.isEmpty else { return }
            try reader.checkSteps(reader.stepScratch.count, file: path, line: grouped ? line : nil)
            try reader.commit(label: 0, origin: (path, line, (labelIndex ?? 0) + 1), file: path, line: line)
        }
        try csv.forEachRow { (line, fields) throws(DataError) -> Bool in
            if first {
                first = false
                let names = fields.map { csv.text($0).trimmingSpaces() }
                // New data to predict may leave the classes out.
                if !options.labelsOptional || names.contains(labelName) {
                    labelIndex = try ExampleReader.column(names, labelName, key: "data.label_column", path: path, line: line)
                }
                if grouped { sequenceIndex = try ExampleReader.column(names, options.sequenceColumn!, key: "data.sequence_column", path: path, line: line) }
                width = names.count
                let featureNames = names.enumerated().filter { $0.offset != labelIndex && $0.offset != sequenceIndex }.map(\.element)
                if let f = features, f != featureNames.count, self.featureNames == nil {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "there are \(featureNames.count) feature columns (\(listing(featureNames, quoted: false))) but data.features is \(f)",
                                    fix: "remove data.features (the columns besides the label and sequence columns are the features) or correct it")
                }
                if self.featureNames == nil { self.featureNames = featureNames }
                if features == nil { features = featureNames.count }
                if self.featureNames! != featureNames {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "the features here are \(featureNames.joined(separator: ", ")), not \(self.featureNames!.joined(separator: ", ")) as in the first file",
                                    fix: "give every sequence file the same columns")
                }
                if features! < 1 {
                    throw DataError(.wrongFieldCount, file: path, line: line, problem: "there is no feature column besides the label",
                                    fix: "add the features of each step as columns")
                }
                return true
            }
            if fields.count != width {
                throw DataError(.wrongFieldCount, file: path, line: line,
                                problem: "this row has \(fields.count) fields but the header has \(width)",
                                fix: "give every row the header's columns")
            }
            if let s = sequenceIndex {
                let id = csv.text(fields[s]).trimmingSpaces()
                if id != current {
                    if let c = current { ended[c] = startLine; try finish(&self, line: startLine) }
                    if let earlier = ended[id] {
                        throw DataError(.badCell, file: path, line: line, column: s + 1,
                                        problem: "sequence '\(id)' continues here, but its rows started on line \(earlier) and other sequences came between",
                                        fix: "keep each sequence's rows together and in step order (sort the file by data.sequence_column, keeping each sequence's order)")
                    }
                    current = id; startLine = line
                }
            } else if stepScratch.isEmpty {
                startLine = line
            }
            for k in 0..<fields.count where k != labelIndex && k != sequenceIndex && keep {
                keep = try value(csv, fields[k], line: line, column: k + 1)
            }
            guard let li = labelIndex, !(options.labelsOptional && csv.cell(fields[li]).isMissing) else {
                unlabelledSeen = true
                stepScratch.append(-1)
                return true
            }
            if let l = try label(csv, fields[li], line: line, column: li + 1) {
                if let limit = options.classCount, Int(l) >= limit {
                    throw DataError(.labelOutOfRange, file: path, line: line, column: li + 1,
                                    problem: "label \(l) is outside the \(limit) classes 0…\(limit - 1)", fix: "correct the label")
                }
                largestStepLabel = max(largestStepLabel, l)
                stepScratch.append(l)
            } else {
                keep = false
                stepScratch.append(-1)
            }
            return true
        }
        try finish(&self, line: startLine)
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
        try checkSteps(rows, file: csv.path, line: nil)
        if let names = featureNames, names.count != features! { featureNames = nil }
        return keep
    }
}
