// Labelled sequences for classification: up to T steps of F features and one class per example,
// read from CSV rows (T·F values then the label; with variable lengths ragged rows or a length
// column) or a directory of one CSV per example plus a labels file. Classes are counted and
// labels checked. Sequences of different lengths are kept as they are (no resampling): `fill`
// pads a batch on the right to its longest sequence and hands the model each one's length
// (Note [Variable-length sequences] in NetworkWorkspace.swift).

import RecurKernels
import RecurFiles

/// Whether the first row of a CSV is a header.
public enum HeaderMode: String, Sendable, Codable, CaseIterable {
    /// A header when any field of the first row is not a number.
    case auto
    case present
    case absent
}

// Note [Named classes]
// Class labels may be any text ("walking", "spk1"): a file whose labels are all whole numbers
// keeps them as class ids 0…C−1, and a file with any other label is read again with every label
// a name, the classes sorted by name. `data.classes: [...]` fixes the names and their order (and
// refuses any other label), so integer labels with gaps ("3", "7") are two classes. The names
// are stored in the checkpoint (DataManifest.classNames): evaluation, prediction and a resume map
// labels through them, and eval's confusion matrix, P/R/F1 and predict's columns show them.

/// Settings of a labelled-sequence data set.
public struct LabelledOptions: Sendable, Equatable, Codable {
    /// The most classes a classifier may have (labels 0 … maxClasses − 1).
    public static let maxClasses = 1 << 16
    /// Steps per sequence (T), or with `variableLength` the most a sequence may have; nil:
    /// derived from the row length and `features` (fixed lengths only).
    public var steps: Int?
    /// Features per step (F); nil: derived from the row length and `steps`, or 1 when both are nil.
    public var features: Int?
    /// Whether CSV files start with a header.
    public var header: HeaderMode
    /// Number of classes; nil: the largest label + 1. Every class must have an example.
    public var classCount: Int?
    /// The classes by name, in id order (Note [Named classes]): labels are read as these names
    /// (so "3" and "7" can be two classes), and any other label is refused. Nil: whole-number
    /// labels are ids 0…C−1; any other label makes every label a name, the classes sorted.
    public var classNames: [String]?
    /// How features are scaled (per feature, fitted on the training examples).
    public var normalization: NormalizationKind
    /// Missing values: filled along time within an example (interpolate, forward_fill), or the
    /// example is dropped (drop). A missing label is always an error, except under drop.
    public var missing: MissingValuePolicy
    /// Fractions of the examples in each split.
    public var splits: SplitFractions
    /// Examples are independent, so they may be permuted before splitting: nil keeps file order,
    /// a seed applies the SeededRandom shuffle of that seed.
    public var splitSeed: UInt64?
    /// Name of the labels file inside a directory (rows `file,label`).
    public var labelsFile: String
    /// Prediction on new data: a CSV row may hold only the T·F values (no label; needs `steps`
    /// and `features`), and classes need not all have examples (needs `classCount`).
    public var labelsOptional: Bool = false
    /// A given split's file (Note [Given splits]): the classes are the training file's
    /// (`classCount`, `classNames`), and some of them may have no example here.
    public var classesFromTraining: Bool = false
    /// Sequences have 1 … `steps` steps each: files of any number of rows, CSV rows of n·F
    /// values then the label (F = `features`, default 1), or rows with a `lengthColumn`.
    public var variableLength: Bool = false
    /// With `variableLength`, the header name of a CSV column holding each row's length; the
    /// row then holds `steps`·F values (those after the length's are ignored) and the label.
    public var lengthColumn: String? = nil
    /// A class at every step (sequence labelling): the header name of the column holding each
    /// step's class. Sequences are then files of a directory, a row per step, or runs of rows
    /// of one CSV with the same `sequenceColumn` value.
    public var labelColumn: String? = nil
    /// With `labelColumn` and one CSV: the column naming each row's sequence.
    public var sequenceColumn: String? = nil

    /// Defaults: shapes from the data, header detected, classes from the labels, zscore, 90/10.
    public init(steps: Int? = nil, features: Int? = nil, header: HeaderMode = .auto, classCount: Int? = nil,
                normalization: NormalizationKind = .zscore, missing: MissingValuePolicy = .error,
                splits: SplitFractions = SplitFractions(), splitSeed: UInt64? = nil, labelsFile: String = "labels.csv") {
        self.steps = steps
        self.features = features
        self.header = header
        self.classCount = classCount
        self.normalization = normalization
        self.missing = missing
        self.splits = splits
        self.splitSeed = splitSeed
        self.labelsFile = labelsFile
    }

    /// - Throws: `DataError.Kind.invalidSetting` for non-positive sizes or fractions out of range.
    public func validate() throws(DataError) {
        try splits.validate()
        for (name, v) in [("data.seq_len (steps per sequence)", steps), ("features per step", features), ("classes", classCount)] {
            if let v, v < 1 { throw DataError(.invalidSetting, problem: "\(name) is \(v)", fix: "use 1 or more") }
        }
        if variableLength && steps == nil {
            throw DataError(.invalidSetting, problem: "variable lengths need data.seq_len, the longest a sequence may be",
                            fix: "set data.seq_len")
        }
        if let c = columnConflict {
            throw DataError(.invalidSetting, problem: "\(c.key): \(c.problem)", fix: c.fix)
        }
    }

    /// The first contradiction among the column settings, the key it is reported on, why and the
    /// fix (the one home of these rules: the experiment reader reports it at the key's line).
    public var columnConflict: (key: String, problem: String, fix: String)? {
        if lengthColumn != nil && !variableLength {
            return ("data.length_column", "names the column of sequence lengths, but data.variable_length is not true",
                    "set data.variable_length: true, or remove data.length_column")
        }
        if sequenceColumn != nil && labelColumn == nil {
            return ("data.sequence_column", "groups rows into sequences labelled step by step, but data.label_column is not set",
                    "name the column of each step's class, or remove data.sequence_column")
        }
        if labelColumn != nil && lengthColumn != nil {
            return ("data.length_column", "a sequence labelled step by step (data.label_column) has a row per step, so its length is its row count",
                    "remove data.length_column")
        }
        for (key, name) in [("data.length_column", lengthColumn), ("data.label_column", labelColumn), ("data.sequence_column", sequenceColumn)]
        where name?.isEmpty == true {
            return (key, "must not be empty", "give a column name from the header")
        }
        return nil
    }
}

/// Sequences of up to `steps` steps of `featuresPerStep` values with one class each.
/// Window i of a split is example `range(split).lowerBound + i`.
public struct LabelledSequences: WindowedDataset {
    /// The file or directory read.
    public let path: String
    /// The settings it was read with.
    public let options: LabelledOptions
    /// T: every example's steps, or with variable lengths the most one may have.
    public let steps: Int
    /// F.
    public let featuresPerStep: Int
    /// Number of classes C (labels are 0 ..< C).
    public let classCount: Int
    /// The classes' names in id order, when the labels were names (Note [Named classes]).
    public let classNames: [String]?
    /// Examples per class over the whole data set.
    public private(set) var classCounts: [Int]
    /// Feature names (header names when there is one, else f0, f1, …).
    public let featureNames: [String]
    /// The examples' steps one after another, [Σ n_e, F], normalised.
    public private(set) var values: [Float]
    /// Example e's steps are rows `offsets[e] ..< offsets[e + 1]` of `values` (n_e = their count).
    public private(set) var offsets: [Int]
    /// Whether examples may differ in length (`LabelledOptions.variableLength`).
    public let variableLength: Bool
    /// The class of each example (0 where `hasLabel` is false; 0 with `stepLabels`).
    public private(set) var labels: [Int32]
    /// With `LabelledOptions.labelColumn`: each step's class, aligned with `values`' rows (−1: none).
    public private(set) var stepLabels: [Int32]?
    /// Whether each example came with a label (always, unless `labelsOptional`).
    public private(set) var hasLabel: [Bool]
    /// Statistics per feature, fitted on the training examples (or given).
    public let normalization: NormalizationStats
    private var splitRanges: [Range<Int>]

    /// Number of examples.
    public var exampleCount: Int { labels.count }

    /// The example range of one split.
    public func range(_ split: DataSplit) -> Range<Int> { splitRanges[split.index] }

    /// These examples with `other`'s after them as the split `split` (Note [Given splits]).
    /// - Precondition: `other` was read with these classes, shapes and normalisation.
    public func appending(_ other: LabelledSequences, as split: DataSplit) -> LabelledSequences {
        precondition(other.featuresPerStep == featuresPerStep && other.classCount == classCount
                     && (other.stepLabels == nil) == (stepLabels == nil), "appending: a given split is read with the training file's shapes")
        var s = self
        let start = exampleCount, rows = offsets.last!
        s.values += other.values
        s.offsets += other.offsets.dropFirst().map { $0 + rows }
        s.labels += other.labels
        s.hasLabel += other.hasLabel
        if let more = other.stepLabels { s.stepLabels! += more }
        for k in 0..<classCount { s.classCounts[k] += other.classCounts[k] }
        s.splitRanges[split.index] = start ..< start + other.exampleCount
        return s
    }

    /// Reads a CSV file or, when `path` is a directory, the directory form.
    /// - Parameter normalization: stored statistics used instead of fitting.
    /// - Throws: `DataError` for unreadable or malformed files, bad cells, rows of the wrong
    ///   length, labels that are not whole numbers or out of range, or a class with no examples.
    public static func load(path: String, options: LabelledOptions = LabelledOptions(),
                            normalization: NormalizationStats? = nil) throws(DataError) -> LabelledSequences {
        try options.validate()
        var reader = ExampleReader(options: options)
        func read(_ reader: inout ExampleReader) throws(DataError) {
            if options.labelColumn != nil {
                try reader.readStepLabelled(path)
            } else if let format = ArrayFormat(path: path) {
                switch format {
                case .ts: try reader.readTS(path)
                case .npy, .npz: try reader.readNumPy(path)
                }
            } else if FileReader.isDirectory(path) {
                try reader.readDirectory(path)
            } else {
                try reader.readCSV(path)
            }
        }
        if FileReader.isDirectory(path), let key = options.lengthColumn != nil ? "data.length_column" : options.sequenceColumn != nil ? "data.sequence_column" : nil {
            throw DataError(.invalidSetting, file: path,
                            problem: "\(key) names a column of one CSV, but this is a directory of one file per sequence (its length is its row count)",
                            fix: "remove \(key), or point data.path at a single CSV")
        }
        do {
            try read(&reader)
        } catch let e where e == ExampleReader.namedLabelSeen {
            // A label that is not a whole number: every label is a class name (Note [Named classes]).
            reader = ExampleReader(options: options, namesMode: true)
            try read(&reader)
        }
        reader.sortNames()
        return try LabelledSequences(path: path, options: options, read: reader, stored: normalization)
    }

    private init(path: String, options: LabelledOptions, read: ExampleReader, stored: NormalizationStats?) throws(DataError) {
        guard let t = read.steps, let f = read.features, !read.labels.isEmpty || read.unlabelledSeen else {
            throw DataError(.emptyFile, file: path, problem: "there are no examples", fix: "add labelled rows")
        }
        var raw = read.raw
        var labels = read.labels.map { max($0, 0) }
        var hasLabel = read.labels.map { $0 >= 0 }
        var lengths = read.lengths
        let perStep = options.labelColumn != nil
        var stepLabels = read.stepLabels
        let n = labels.count
        guard n > 0 else { throw DataError(.emptyFile, file: path, problem: "there are no examples", fix: "add rows") }
        let maxLabel = perStep ? max(Int(read.largestStepLabel), 0) : Int(labels.max()!)
        let classCount = read.namesMode ? read.namesInOrder.count : options.classCount ?? maxLabel + 1
        if !perStep, let bad = labels.firstIndex(where: { Int($0) >= classCount }) {
            let o = read.labelOrigins[bad]
            throw DataError(.labelOutOfRange, file: o.file, line: o.line, column: o.column,
                            problem: "label \(labels[bad]) is outside the \(classCount) classes 0…\(classCount - 1)",
                            fix: "correct the label")
        }
        var counts = [Int](repeating: 0, count: classCount)
        if perStep {
            for l in stepLabels where l >= 0 { counts[Int(l)] += 1 }
        } else {
            for l in labels { counts[Int(l)] += 1 }
        }
        if !options.labelsOptional && !options.classesFromTraining, let empty = counts.firstIndex(of: 0) {
            if read.namesMode {
                let list = read.classesListedIn ?? "data.classes"
                throw DataError(.classWithoutExamples, file: path,
                                problem: "class '\(read.namesInOrder[empty])' of \(list) has no examples",
                                fix: "remove it from \(list), or add examples of it")
            }
            throw DataError(.classWithoutExamples, file: path,
                            problem: "class \(empty) of the \(classCount) classes 0…\(classCount - 1) has no examples",
                            fix: "number the classes 0…C−1 without gaps, or name the classes with data.classes (then labels are read as names)")
        }
        // Example e's steps are rows offsets[e] ..< offsets[e + 1] of the [Σ n_e, F] view.
        var offsets = Self.offsets(lengths)
        if let seed = options.splitSeed {
            var order = Array(0..<n)
            var rng = SeededRandom(seed: seed)
            rng.shuffle(&order)
            raw = order.flatMap { raw[offsets[$0] * f ..< offsets[$0 + 1] * f] }
            if perStep { stepLabels = order.flatMap { stepLabels[offsets[$0] ..< offsets[$0 + 1]] } }
            lengths = order.map { lengths[$0] }
            offsets = Self.offsets(lengths)
            labels = order.map { labels[$0] }
            hasLabel = order.map { hasLabel[$0] }
        }
        let ranges = options.splits.ranges(count: n)
        let names = read.featureNames ?? (0..<f).map { "f\($0)" }
        let stats: NormalizationStats
        if let stored {
            guard stored.columns.count == f else {
                throw DataError(.invalidSetting, file: path,
                                problem: "the stored normalisation has \(stored.columns.count) features but the data has \(f)",
                                fix: "use data with the feature layout the model was trained on")
            }
            stats = stored
        } else {
            // The training examples' steps are one run of rows.
            let train = ranges[0]
            stats = NormalizationStats.fit(options.normalization, columns: names, values: raw,
                                           rows: offsets[train.lowerBound] ..< offsets[train.upperBound])
        }
        var values = [Float](repeating: 0, count: raw.count)
        for i in 0..<raw.count { values[i] = stats.normalize(raw[i], column: i % f) }
        self.path = path
        self.options = options
        self.steps = t
        self.featuresPerStep = f
        self.classCount = classCount
        self.classNames = read.namesMode ? read.namesInOrder : nil
        self.classCounts = counts
        self.featureNames = names
        self.values = values
        self.offsets = offsets
        self.stepLabels = perStep ? stepLabels : nil
        self.variableLength = options.variableLength
        self.labels = labels
        self.hasLabel = hasLabel
        self.normalization = stats
        self.splitRanges = ranges
    }

    /// Running sums of `lengths`: n + 1 row offsets.
    private static func offsets(_ lengths: [Int]) -> [Int] {
        var o = [0]
        o.reserveCapacity(lengths.count + 1)
        for n in lengths { o.append(o.last! + n) }
        return o
    }

    /// Example e's steps n_e.
    public func length(example e: Int) -> Int { offsets[e + 1] - offsets[e] }

    public var input: InputShape { .features(count: featuresPerStep) }
    public var targetKind: TargetKind { stepLabels == nil ? .classLabel : .stepClasses }
    public var seqLen: Int { steps }
    public var horizon: Int { 1 }
    public var outputSize: Int { classCount }
    public var targetsPerWindow: Int { stepLabels == nil ? 1 : steps }
    public var streamCount: Int? { nil }

    public func windowCount(_ split: DataSplit) -> Int { range(split).count }

    public var hasVariableLengths: Bool { variableLength }

    public func windowLength(_ split: DataSplit, _ window: Int) -> Int { length(example: range(split).lowerBound + window) }

    public func fill(_ split: DataSplit, windows: some Collection<Int>, into batch: BatchBuffers) {
        let b = windows.count
        precondition(b <= batch.capacity, "fill: \(b) windows exceed the batch capacity \(batch.capacity)")
        guard let inputs = batch.inputFeatures?.base, let targets = batch.targetTokens?.base else {
            preconditionFailure("fill: labelled batches need inputFeatures and targetTokens")
        }
        let range = range(split), f = featuresPerStep
        let t = batchSteps(split, windows: windows)
        values.withUnsafeBufferPointer { x in
            var j = 0
            for w in windows {
                precondition(w >= 0 && w < range.count, "fill: example \(w) outside 0..<\(range.count) of the \(split) split")
                let e = range.lowerBound + w, start = offsets[e], n = offsets[e + 1] - start
                for s in 0..<n {
                    let src = (start + s) * f, dst = (s * b + j) * f
                    for q in 0..<f { inputs[dst + q] = x[src + q] }
                }
                for s in n..<t { for q in 0..<f { inputs[(s * b + j) * f + q] = 0 } }
                batch.lengths?.base[j] = Int32(n)
                if let stepLabels {
                    for s in 0..<n { targets[s * b + j] = stepLabels[start + s] }
                    for s in n..<t { targets[s * b + j] = -1 }
                } else {
                    targets[j] = labels[e]
                }
                j += 1
            }
        }
    }

    public func fingerprint() -> UInt64 {
        var h = StableHasher()
        h.combine("labelled")
        h.combine(steps)
        h.combine(featuresPerStep)
        h.combine(classCount)
        for name in featureNames { h.combine(name) }
        h.combine(normalization.kind.rawValue)
        h.combine(array: normalization.shift)
        h.combine(array: normalization.scale)
        for s in DataSplit.allCases { h.combine(range(s).lowerBound); h.combine(range(s).upperBound) }
        h.combine(array: values)
        h.combine(array: labels)
        if variableLength { h.combine("lengths"); h.combine(array: offsets.map { Int64($0) }) }
        if let stepLabels { h.combine("step labels"); h.combine(array: stepLabels) }
        return h.finalize()
    }

    public var manifest: DataManifest {
        DataManifest(kind: .labelled, normalization: normalization, featureColumns: featureNames,
                     steps: steps, classCount: classCount, classNames: classNames)
    }
}
