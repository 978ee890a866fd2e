// The experiment schema, declared once: every key's path, type and range, default, where it
// applies and a one-line doc. Reading (ExperimentConfig+Reading), writing back and
// `recur config show` (ExperimentConfig+Writing), did-you-mean, the refusal of keys that do not
// apply, and docs/config.md (`recur config docs`, checked by a test) all come from here.

import Foundation
import RecurData
import RecurEngine
import RecurModel
import RecurOptim
import Yams

/// What is known while an experiment is read, for defaults and applicability that depend on
/// other keys (a resolved experiment gives the same facts for writing it back).
struct SchemaContext {
    var name = "experiment"
    var kind: DataKind = .series
    var stateful = false
    var seqLen = 1
    var optimizer: OptimizerConfig.Kind = .adam
    var schedule = "constant"
    var cell: CellKind = .lstm
    var layers = 1
    /// The splits that come as files of their own (Note [Given splits]).
    var givenSplits: Set<DataSplit> = []
    var text: Bool { kind == .chars || kind == .words }

    init() {}

    init(_ c: ExperimentConfig) {
        name = c.name; kind = c.data.kind; stateful = c.data.stateful; seqLen = c.data.seqLen
        optimizer = c.training.optimizer.kind; cell = c.model.cell; layers = c.model.layers
        schedule = c.training.plateau != nil ? "plateau" : c.training.schedule.kindName
        givenSplits = Set(c.data.givenFiles.map(\.split))
    }
}

/// Where a key means something. Elsewhere a value would be ignored, so the reader refuses it.
struct Applicability {
    /// For docs and messages: "series data", "sgd, rmsprop"; nil for every experiment.
    let text: String?
    /// The setting that decides, as the message names it ("data.kind is chars").
    let decidedBy: (SchemaContext) -> String
    let test: (SchemaContext) -> Bool
    /// Settings (`--set` form, several joined by "; ") under which the key does not apply, given
    /// a series LSTM with Adam and a constant rate: the tests derive one refusal per rule from it.
    let outside: String?

    static let always = Applicability(text: nil, decidedBy: { _ in "" }, test: { _ in true }, outside: nil)

    static func data(_ kinds: DataKind...) -> Applicability {
        Applicability(text: kinds.map(\.rawValue).joined(separator: ", ") + " data",
                      decidedBy: { "data.kind is \($0.kind.rawValue)" }, test: { kinds.contains($0.kind) },
                      outside: DataKind.allCases.first { !kinds.contains($0) }.map { $0 == .series ? "" : "data.kind=\($0.rawValue)" })
    }

    /// Split fractions: a split with a file of its own has none, and with both the validation
    /// and test files data.path is all training data (Note [Given splits]).
    static func fraction(of split: DataSplit) -> Applicability {
        let files: Set<DataSplit> = split == .train ? [.validation, .test] : [split]
        let keys = DataSplit.allCases.filter(files.contains).map { "data.\($0.rawValue)_path" }
        return Applicability(text: "data without " + keys.joined(separator: " and "),
                             decidedBy: { _ in keys.joined(separator: " and ") + (keys.count > 1 ? " are" : " is") + " set, so data.path holds no \(split == .train ? "other split" : "\(split.name) split") to take a fraction of" },
                             test: { !files.isSubset(of: $0.givenSplits) },
                             outside: keys.map { "\($0)=\($0 == "data.test_path" ? "test.csv" : "validation.csv")" }.joined(separator: "; "))
    }

    static let text = Applicability(text: "text (chars, words)", decidedBy: { "data.kind is \($0.kind.rawValue)" },
                                    test: { $0.text }, outside: "")

    static func optimizers(_ kinds: OptimizerConfig.Kind...) -> Applicability {
        let other = OptimizerConfig.Kind.allCases.first { !kinds.contains($0) }!
        return Applicability(text: "optimizer " + kinds.map(\.rawValue).joined(separator: ", "),
                             decidedBy: { "training.optimizer.kind is \($0.optimizer.rawValue)" }, test: { kinds.contains($0.optimizer) },
                             outside: "training.optimizer.kind=\(other.rawValue)")
    }

    static func schedules(_ names: String...) -> Applicability {
        Applicability(text: "schedule " + names.joined(separator: ", "),
                      decidedBy: { "training.schedule.kind is \($0.schedule)" }, test: { names.contains($0.schedule) },
                      outside: names.contains("constant") ? "training.schedule.kind=step" : "")
    }

    static func cells(_ cells: CellKind...) -> Applicability {
        let other = CellKind.allCases.first { !cells.contains($0) }!
        return Applicability(text: "cell " + cells.map(\.rawValue).joined(separator: ", "),
                             decidedBy: { "model.cell is \($0.cell.rawValue)" }, test: { cells.contains($0.cell) },
                             outside: "model.cell=\(other.rawValue)")
    }

    /// Between stacked layers (dropout): PyTorch's RNN modules apply it to every layer's output
    /// but the last, so with one layer it would do nothing.
    static let stackedLayers = Applicability(text: "two or more layers (it acts between layers)",
                                             decidedBy: { "model.layers is \($0.layers)" }, test: { $0.layers >= 2 },
                                             outside: "model.layers=1")
}

/// A key's default.
enum SchemaDefault<T> {
    /// No default: the reader stops with this hint ("the window length in steps").
    case required(String)
    /// Absent unless given; the doc text says what absence means.
    case absent(String)
    case value(T)
    /// Depends on other keys: doc text and the rule.
    case derived(String, (SchemaContext) -> T)
}

/// How one type of value is read, range-checked and written.
struct SchemaType<T> {
    let text: String
    let read: (ConfigSource, String) throws -> T?
    let write: (T) -> Node
    let show: (T) -> String
}

/// One experiment key (type-erased view for docs, writing and applicability).
protocol SchemaEntry {
    var path: String { get }
    var typeText: String { get }
    var defaultText: String { get }
    var doc: String { get }
    var applies: Applicability { get }
    /// A valid value in `--set` form, when the key has a plain default (tests use it).
    var exampleValue: String? { get }
    /// Whether `recur train --resume` may change it (`--set` or an edited config.yaml): how long
    /// to train and how to log, checkpoint, schedule, clip and lay out the replicas. Every other
    /// key shapes what a checkpoint holds (model, data and windows, batch, optimizer state).
    var mayChangeOnResume: Bool { get }
    /// The key's value in a resolved experiment as YAML (nil: absent).
    func node(_ config: ExperimentConfig) -> Node?
    /// Reads a key that lives in the experiment's settings (Note [One declaration per key]).
    func readSetting(_ s: ConfigSource, _ context: SchemaContext, into config: inout ExperimentConfig) throws
}

/// One experiment key, declared once.
public struct SchemaKey<T>: SchemaEntry {
    let path: String
    let type: SchemaType<T>
    let `default`: SchemaDefault<T>
    let applies: Applicability
    let doc: String
    let value: (ExperimentConfig) -> T?
    /// See `SchemaEntry.mayChangeOnResume`.
    var mayChangeOnResume = false
    /// Whether the value lives in the experiment's settings (`config[key]`) rather than in a
    /// field of a section (Note [One declaration per key]).
    var inSettings = false

    var typeText: String { type.text }
    var defaultText: String {
        switch `default` {
        case .required: return "**required**"
        case .absent(let t): return t
        case .value(let v): return "`\(type.show(v))`"
        case .derived(let t, _): return t
        }
    }

    func node(_ config: ExperimentConfig) -> Node? { value(config).map(type.write) }

    /// Reads a settings key into `config.settings` (nothing for keys with a field).
    func readSetting(_ s: ConfigSource, _ context: SchemaContext, into config: inout ExperimentConfig) throws {
        guard inSettings, let v = try read(s, context) else { return }
        config.settings.values[path] = .init(value: v, text: type.show(v))
    }

    var exampleValue: String? {
        guard case .value(let v) = `default`, let text = try? Yams.serialize(node: type.write(v)) else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Reads the key (ranges checked), or its default in `context`.
    /// - Throws: `ConfigError` for a bad value, or for a required key that is missing.
    func read(_ s: ConfigSource, _ context: SchemaContext) throws -> T? {
        if let v = try type.read(s, path) { return v }
        switch `default` {
        case .required(let hint):
            let section = path.split(separator: ".").dropLast().joined(separator: ".")
            throw s.error(section.isEmpty ? path : section, "\(path) is required: \(hint)")
        case .absent: return nil
        case .value(let v): return v
        case .derived(_, let rule): return rule(context)
        }
    }
}

// Note [One declaration per key]
// A key is declared once, in `ExperimentSchema.Keys`: path, type and range, default, where it
// applies, whether a resume may change it, and its doc line. `entries` lists the declarations
// by reflection, in declaration order (the file's and docs/config.md's order). A key declared
// without `value:` lives in the experiment's settings and is read and written by its
// declaration alone: adding one is that declaration plus its use, `experiment[K.name]` (as
// data.seasonality is). Keys that sections hold in fields (most, for typed access throughout the
// engine's configuration) name their field in `value:` and are read into it in
// ExperimentConfig+Reading.

extension SchemaKey {
    /// A key whose value lives in the experiment's settings: its declaration is all there is,
    /// and `experiment[key]` reads it (Note [One declaration per key]).
    init(path: String, type: SchemaType<T>, default: SchemaDefault<T>, applies: Applicability, doc: String,
         mayChangeOnResume: Bool = false) {
        self.init(path: path, type: type, default: `default`, applies: applies, doc: doc,
                  value: { $0.settings.values[path]?.value as? T }, mayChangeOnResume: mayChangeOnResume, inSettings: true)
    }
}

// MARK: Types

enum SchemaTypes {
    static func yamlString(_ v: String) -> Node {
        Node(v, .implicit, v.isEmpty || Double(v) != nil || ["true", "false", "null", "~", "yes", "no"].contains(v.lowercased())
             ? .doubleQuoted : .plain)
    }

    static func showDouble(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(format: "%.1f", v) : "\(v)"
    }

    static func int(min: Int? = nil, max: Int? = nil) -> SchemaType<Int> {
        var text = "integer"
        if let min, let max { text += " in \(min)…\(max)" } else if let min { text += " ≥ \(min)" }
        return SchemaType(text: text, read: { s, k in try s.optInt(k, default: nil, min: min, max: max) },
                          write: { Node(String($0)) }, show: { String($0) })
    }

    static func double(above: Double? = nil, atLeast: Double? = nil, below: Double? = nil, atMost: Double? = nil) -> SchemaType<Double> {
        func compact(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : "\(v)" }
        var parts: [String] = []
        if let above { parts.append("> \(compact(above))") }
        if let atLeast { parts.append("≥ \(compact(atLeast))") }
        if let below { parts.append("< \(compact(below))") }
        if let atMost { parts.append("≤ \(compact(atMost))") }
        return SchemaType(text: "number" + (parts.isEmpty ? "" : " " + parts.joined(separator: ", ")),
                          read: { s, k in try s.optDouble(k, default: nil, above: above, atLeast: atLeast, below: below, atMost: atMost) },
                          write: { Node(showDouble($0)) }, show: { v in v == v.rounded() && abs(v) < 1e6 ? String(Int(v)) : "\(v)" })
    }

    static let bool = SchemaType<Bool>(text: "true or false", read: { s, k in try s.optBool(k) },
                                       write: { Node($0 ? "true" : "false") }, show: { $0 ? "true" : "false" })

    static let string = SchemaType<String>(text: "text", read: { s, k in try s.string(k, default: nil) },
                                           write: { yamlString($0) }, show: { $0 })

    static let names = SchemaType<[String]>(text: "list of names", read: { s, k in try s.stringList(k) },
                                            write: { Node($0.map { yamlString($0) }, .implicit, .flow) },
                                            show: { "[" + $0.joined(separator: ", ") + "]" })

    static func choice<C: RawRepresentable & CaseIterable>(_: C.Type) -> SchemaType<C> where C.RawValue == String {
        SchemaType(text: C.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "),
                   read: { s, k in try s.choice(k, default: nil) as C? },
                   write: { Node($0.rawValue) }, show: { $0.rawValue })
    }
}

/// `data.header`: whether a CSV's first row names its columns.
public enum HeaderSetting: String, CaseIterable, Sendable {
    /// Series: yes, saying so when that row reads as numbers; sequences: when any field of it
    /// is not a number.
    case auto
    case yes = "true"
    case no = "false"

    /// The readers' form.
    public var mode: HeaderMode { self == .auto ? .auto : self == .yes ? .present : .absent }
}

/// The schedules by name (LRSchedule's cases carry their parameters).
public enum ScheduleKind: String, CaseIterable, Sendable { case constant, step, exponential, cosine, plateau }

// MARK: The keys

/// Every experiment key, in file and documentation order.
public enum ExperimentSchema {
    typealias T = SchemaTypes

    /// Epochs of a run that gives neither `epochs` nor `steps`.
    static let defaultEpochs = 10
    /// The most optimizer updates a run may make (2^50, about 10^15): a count every product of
    /// steps stays far from overflowing (epochs × updates per epoch is checked against it too).
    public static let maxSteps = 1 << 50

    /// Every key, declared once, in file and documentation order: `entries` lists them by
    /// reflection, so a key is one declaration here (Note [One declaration per key]).
    public struct Keys {
        // experiment
        public let name = SchemaKey(path: "experiment.name", type: T.string, default: .value("experiment"), applies: .always,
                                    doc: "run name; the run directory defaults to `runs/<name>`", value: { $0.name })
        public let seed = SchemaKey(path: "experiment.seed", type: T.int(min: 0), default: .value(1), applies: .always,
                                    doc: "seeds initialisation, data order (with the epoch) and dropout masks", value: { Int($0.seed) })

        // data
        public let kind = SchemaKey(path: "data.kind", type: T.choice(DataKind.self), default: .required("one of series, chars, words, sequences"),
                                    applies: .always,
                                    doc: "`series` (CSV table, forecasting), `chars`, `words` (text, language modelling), `sequences` (labelled sequences, classification)",
                                    value: { $0.data.kind })
        public let path = SchemaKey(path: "data.path", type: T.string, default: .required("the file to train on"), applies: .always,
                                    doc: "data file; a relative path is taken from the experiment file's directory first, then from the current directory",
                                    value: { $0.data.path })
        public let validationPath = SchemaKey(path: "data.validation_path", type: T.string, default: .absent("a fraction of data.path (data.split.validation)"),
                                              applies: .always,
                                              doc: "the validation split's own file, laid out as data.path's and read with what the training file fitted (normalisation, vocabulary, classes); data.split.validation must then be left out",
                                              value: { $0.data.validationPath })
        public let testPath = SchemaKey(path: "data.test_path", type: T.string, default: .absent("a fraction of data.path (data.split.test)"),
                                        applies: .always,
                                        doc: "the test split's own file (a benchmark's TEST file), as data.validation_path; the fractions of the splits without a file then divide data.path",
                                        value: { $0.data.testPath })
        public let columns = SchemaKey(path: "data.columns", type: T.names, default: .absent("all numeric columns"), applies: .data(.series),
                                       doc: "input feature columns, by header name", value: { $0.data.columns })
        public let targets = SchemaKey(path: "data.targets", type: T.names, default: .absent("the feature columns"), applies: .data(.series),
                                       doc: "columns to predict", value: { $0.data.targets })
        public let seriesColumn = SchemaKey(path: "data.series_column", type: T.string, default: .absent("the table is one series"),
                                            applies: .data(.series),
                                            doc: "the column naming each row's series, for one model over many series in one long table: each series is split by time and windowed on its own, and eval and forecast report every series (Note [Many series])")
        public let timeColumn = SchemaKey(path: "data.time_column", type: T.string,
                                          default: .absent("a column named year, date, time, month, day, t, step, index, timestamp or ds that is not a feature and increases"),
                                          applies: .data(.series),
                                          doc: "the column of each row's time (dates such as 2024-01-31 or numbers), never a feature: the first column of forecast and predict output and the plots' axis")
        public let normalizePer = SchemaKey(path: "data.normalize_per", type: T.choice(NormalizationScope.self), default: .value(.all),
                                            applies: .data(.series),
                                            doc: "with data.series_column: `all` fits one normalisation on every series' training rows, `series` one per series (series of different scales); stored with the model")
        public let normalize = SchemaKey(path: "data.normalize", type: T.choice(NormalizationKind.self),
                                         default: .derived("`zscore` (series), `none`", { $0.kind == .series ? .zscore : NormalizationKind.none }),
                                         applies: .data(.series, .sequences),
                                         doc: "`zscore`, `minmax` or `none`, fitted on the training split only", value: { $0.data.normalize })
        public let missing = SchemaKey(path: "data.missing", type: T.choice(MissingValuePolicy.self), default: .value(.error),
                                       applies: .data(.series, .sequences),
                                       doc: "a missing or non-numeric cell is an `error`, or is filled by `interpolate` / `forward_fill`, or its row is dropped (`drop`)",
                                       value: { $0.data.missing })
        public let header = SchemaKey(path: "data.header", type: T.choice(HeaderSetting.self), default: .value(.auto),
                                      applies: .data(.series, .sequences),
                                      doc: "whether a CSV's first row names the columns: `auto` (series: it does, and a first row of numbers only is said to be taken as the header; sequences: when any of its fields is not a number), `true`, or `false` (columns column1, column2, …)",
                                      value: { $0.data.header })
        public let classes = SchemaKey(path: "data.classes", type: T.names, default: .absent("whole-number labels are ids 0…C−1; other labels are names, sorted"),
                                       applies: .data(.sequences),
                                       doc: "the class names in id order: labels are read as these names (integer labels with gaps too: [\"3\", \"7\"]), any other label is refused; stored with the model, shown by eval and predict",
                                       value: { $0.data.classes })
        public let seqLen = SchemaKey(path: "data.seq_len", type: T.int(min: 1, max: 100_000), default: .required("the window length in steps"),
                                      applies: .always,
                                      doc: "window length in steps (sequences: steps per example, or with `variable_length` the most an example may have)",
                                      value: { $0.data.seqLen })
        public let features = SchemaKey(path: "data.features", type: T.int(min: 1, max: 1 << 20),
                                         default: .absent("values per row / `seq_len`; `1` for ragged rows; the files' columns (directory)"),
                                         applies: .data(.sequences), doc: "features per step of a labelled sequence",
                                         value: { $0.data.features })
        public let variableLength = SchemaKey(path: "data.variable_length", type: T.bool, default: .value(false), applies: .data(.sequences),
                                              doc: "sequences may have 1 … `seq_len` steps: files of any number of rows, CSV rows of n·features values then the label, or a `length_column`; batches are padded and each sequence ends at its own last step (padding changes nothing)",
                                              value: { $0.data.variableLength })
        public let lengthColumn = SchemaKey(path: "data.length_column", type: T.string, default: .absent("ragged rows"), applies: .data(.sequences),
                                            doc: "with `variable_length`: the header name of a CSV column holding each row's number of steps; rows then hold `seq_len`·features values (those after the length are ignored) and the label",
                                            value: { $0.data.lengthColumn })
        public let labelColumn = SchemaKey(path: "data.label_column", type: T.string, default: .absent("one class per sequence"),
                                           applies: .data(.sequences),
                                           doc: "a class at every step (sequence labelling): the header name of the column holding each step's class; the other columns are its features. Sequences are the files of a directory (a row per step) or runs of rows of one CSV with the same `sequence_column`",
                                           value: { $0.data.labelColumn })
        public let sequenceColumn = SchemaKey(path: "data.sequence_column", type: T.string, default: .absent("—"), applies: .data(.sequences),
                                              doc: "with `label_column` and one CSV: the column naming each row's sequence (consecutive rows with the same value are one sequence)",
                                              value: { $0.data.sequenceColumn })
        public let stride = SchemaKey(path: "data.stride", type: T.int(min: 1),
                                      default: .derived("`1` (series), `seq_len` (text, stateful)", { $0.stateful || $0.text ? $0.seqLen : 1 }),
                                      applies: .data(.series, .chars, .words), doc: "steps between window starts; `stride < seq_len` overlaps windows",
                                      value: { $0.data.stride })
        public let target = SchemaKey(path: "data.target", type: T.choice(WindowTarget.self),
                                      default: .derived("`next` (text), `last`", { $0.text ? .next : .last }), applies: .always,
                                      doc: "`next`: a target at every step (the following value/token); `last`: one target after the window",
                                      value: { $0.data.target })
        public let horizon = SchemaKey(path: "data.horizon", type: T.int(min: 1, max: 1 << 16), default: .value(1), applies: .data(.series),
                                       doc: "predict the next k values (multi-step forecasting)", value: { $0.data.horizon })
        public let seasonality = SchemaKey(path: "data.seasonality", type: T.int(min: 1, max: 1 << 20), default: .value(1), applies: .data(.series),
                                           doc: "the season length m of MASE's scale, the in-sample error of the seasonal naive forecast y_t = y_{t−m} (12 for monthly data with a yearly season; 1: the previous value)",
                                           mayChangeOnResume: true)
        public let splitTrain = SchemaKey(path: "data.split.train", type: T.double(atLeast: 0, atMost: 1), default: .value(0.8), applies: .fraction(of: .train),
                                          doc: "fraction of the data for training, taken first (by time for series and text)",
                                          value: { $0.data.split.train })
        public let splitValidation = SchemaKey(path: "data.split.validation", type: T.double(atLeast: 0, atMost: 1), default: .value(0.1),
                                               applies: .fraction(of: .validation), doc: "fraction for validation, after the training part",
                                               value: { $0.data.split.validation })
        public let splitTest = SchemaKey(path: "data.split.test", type: T.double(atLeast: 0, atMost: 1), default: .value(0.1), applies: .fraction(of: .test),
                                         doc: "fraction for testing, last; series and text are split by position, never shuffled across",
                                         value: { $0.data.split.test })
        public let splitSeed = SchemaKey(path: "data.split.seed", type: T.int(min: 0), default: .value(1), applies: .data(.sequences),
                                         doc: "labelled sequences are shuffled with this seed before the split (not experiment.seed, so another run seed keeps the same test set)",
                                         value: { Int($0.data.splitSeed) })
        public let shuffle = SchemaKey(path: "data.shuffle", type: T.bool, default: .derived("`true` (`false` when stateful)", { !$0.stateful }),
                                       applies: .always, doc: "window order per epoch derived from (seed, epoch); `false` keeps stored order",
                                       value: { $0.data.shuffle })
        public let dropLast = SchemaKey(path: "data.drop_last", type: T.bool, default: .value(false), applies: .always,
                                        doc: "drop the last partial global batch; otherwise it is used, with losses divided by its true size",
                                        value: { $0.data.dropLast })
        public let stateful = SchemaKey(path: "data.stateful", type: T.bool, default: .value(false), applies: .always,
                                        doc: "truncated BPTT: the data is cut into `batch_size` contiguous streams and each window starts from the previous window's final (detached) state",
                                        value: { $0.data.stateful })
        public let minCount = SchemaKey(path: "data.vocabulary.min_count", type: T.int(min: 1), default: .value(1), applies: .data(.words),
                                        doc: "drop words seen fewer times (they become `<unk>`)", value: { $0.data.minCount })
        public let maxSize = SchemaKey(path: "data.vocabulary.max_size", type: T.int(min: 2), default: .absent("unlimited"), applies: .data(.words),
                                       doc: "keep the most frequent words", value: { $0.data.maxSize })
        public let unknown = SchemaKey(path: "data.vocabulary.unknown", type: T.bool,
                                       default: .derived("`true` (words), `false` (chars)", { $0.kind == .words }), applies: .text,
                                       doc: "reserve an `<unk>` id for unseen tokens", value: { $0.data.unknownToken })
        public let lowercase = SchemaKey(path: "data.vocabulary.lowercase", type: T.bool, default: .value(false), applies: .data(.words),
                                         doc: "lowercase words before counting", value: { $0.data.lowercase })

        // model
        public let cell = SchemaKey(path: "model.cell", type: T.choice(CellKind.self), default: .required("one of rnn, gru, lstm"), applies: .always,
                                    doc: "`rnn` (Elman), `gru` or `lstm`", value: { $0.model.cell })
        public let hiddenSize = SchemaKey(path: "model.hidden_size", type: T.int(min: 1, max: 1 << 16), default: .required("hidden units per layer (e.g. 128)"),
                                          applies: .always, doc: "hidden units per layer", value: { $0.model.hiddenSize })
        public let layers = SchemaKey(path: "model.layers", type: T.int(min: 1, max: 64), default: .value(1), applies: .always,
                                      doc: "stacked layers", value: { $0.model.layers })
        public let dropout = SchemaKey(path: "model.dropout", type: T.double(atLeast: 0, below: 1), default: .value(0), applies: .stackedLayers,
                                       doc: "dropout between stacked layers, training only", value: { $0.model.dropout })
        public let input = SchemaKey(path: "model.input", type: T.choice(InputKind.self),
                                     default: .derived("`embedding` (text), `features`", { $0.text ? .embedding : .features }), applies: .always,
                                     doc: "text: `embedding` or `one_hot`; series and sequences: `features`", value: { $0.model.input })
        public let embeddingSize = SchemaKey(path: "model.embedding_size", type: T.int(min: 1, max: 1 << 16), default: .value(64), applies: .text,
                                             doc: "embedding width (with `input: embedding`)", value: { $0.model.embeddingSize })
        public let gruReset = SchemaKey(path: "model.gru.reset", type: T.choice(GRUReset.self), default: .value(.after), applies: .cells(.gru),
                                        doc: "`after`: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) (PyTorch); `before`: n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)",
                                        value: { $0.model.gruReset })
        public let nonlinearity = SchemaKey(path: "model.rnn.nonlinearity", type: T.choice(Nonlinearity.self), default: .value(.tanh),
                                            applies: .cells(.rnn), doc: "Elman RNN activation: `tanh` or `relu`", value: { $0.model.nonlinearity })
        public let forgetBias = SchemaKey(path: "model.forget_bias", type: T.bool, default: .value(false), applies: .cells(.lstm),
                                          doc: "start the forget-gate bias at 1", value: { $0.model.forgetBias })
        public let bidirectional = SchemaKey(path: "model.bidirectional", type: T.bool, default: .value(false), applies: .always,
                                             doc: "every layer also reads each window from its end (PyTorch's `*_reverse` tensors); outputs forward ‖ reverse, a last-step head reads both final states. Not with `target: next` (it would see the values it predicts) nor `stateful`",
                                             value: { $0.model.bidirectional })
        public let initFrom = SchemaKey(path: "model.init_from", type: T.string, default: .absent("—"), applies: .always,
                                        doc: "a model.safetensors to start from", value: { $0.model.initFrom })

        // training
        public let epochs = SchemaKey(path: "training.epochs", type: T.int(min: 1, max: 1_000_000_000), default: .absent("`\(defaultEpochs)` unless `steps` is given"), applies: .always,
                                      doc: "passes over the training windows (give `epochs` or `steps`)", value: { $0.training.epochs },
                                      mayChangeOnResume: true)
        public let steps = SchemaKey(path: "training.steps", type: T.int(min: 1, max: maxSteps), default: .absent("—"), applies: .always,
                                     doc: "optimizer updates in total", value: { $0.training.steps },
                                     mayChangeOnResume: true)
        public let batchSize = SchemaKey(path: "training.batch_size", type: T.int(min: 1, max: 1 << 24), default: .value(32), applies: .always,
                                         doc: "global batch: windows per update across all processes and threads (stateful: the number of streams)",
                                         value: { $0.training.batchSize })
        public let accumulate = SchemaKey(path: "training.accumulate", type: T.int(min: 1, max: 1 << 20), default: .value(1), applies: .always,
                                          doc: "batches whose gradients are added before each update: k batches of batch_size act as one of k·batch_size (steps count updates)",
                                          value: { $0.training.accumulate })
        public let optimizerKind = SchemaKey(path: "training.optimizer.kind", type: T.choice(OptimizerConfig.Kind.self), default: .value(.adam),
                                             applies: .always, doc: "the optimizer, as `torch.optim`'s", value: { $0.training.optimizer.kind })
        public let lr = SchemaKey(path: "training.optimizer.lr", type: T.double(above: 0),
                                  default: .derived("`0.1` (sgd), else PyTorch's (`0.001`; rmsprop, adagrad `0.01`)",
                                                    { $0.optimizer == .sgd ? 0.1 : OptimizerConfig.defaults(for: $0.optimizer).lr }),
                                  applies: .always, doc: "base learning rate", value: { $0.training.optimizer.lr },
                                  mayChangeOnResume: true)
        public let weightDecay = SchemaKey(path: "training.optimizer.weight_decay", type: T.double(atLeast: 0),
                                           default: .derived("PyTorch's (`0`; adamw `0.01`)", { OptimizerConfig.defaults(for: $0.optimizer).weightDecay }),
                                           applies: .always, doc: "L2 penalty (decoupled for `adamw`)", value: { $0.training.optimizer.weightDecay },
                                           mayChangeOnResume: true)
        public let momentum = SchemaKey(path: "training.optimizer.momentum", type: T.double(atLeast: 0), default: .value(0),
                                        applies: .optimizers(.sgd, .rmsprop), doc: "momentum factor",
                                        value: { c in
                                            switch c.training.optimizer.algorithm {
                                            case let .sgd(m, _, _), let .rmsprop(_, _, m, _): return m
                                            default: return nil
                                            } })
        public let dampening = SchemaKey(path: "training.optimizer.dampening", type: T.double(atLeast: 0), default: .value(0),
                                         applies: .optimizers(.sgd), doc: "dampening for momentum",
                                         value: { if case let .sgd(_, d, _) = $0.training.optimizer.algorithm { return d } else { return nil } })
        public let nesterov = SchemaKey(path: "training.optimizer.nesterov", type: T.bool, default: .value(false), applies: .optimizers(.sgd),
                                        doc: "Nesterov momentum (needs momentum > 0 and dampening 0)",
                                        value: { if case let .sgd(_, _, n) = $0.training.optimizer.algorithm { return n } else { return nil } })
        public let beta1 = SchemaKey(path: "training.optimizer.beta1", type: T.double(atLeast: 0, below: 1), default: .value(0.9),
                                     applies: .optimizers(.adam, .adamw), doc: "first-moment decay",
                                     value: { c in
                                         switch c.training.optimizer.algorithm {
                                         case let .adam(b, _, _, _), let .adamw(b, _, _, _): return b
                                         default: return nil
                                         } })
        public let beta2 = SchemaKey(path: "training.optimizer.beta2", type: T.double(atLeast: 0, below: 1), default: .value(0.999),
                                     applies: .optimizers(.adam, .adamw), doc: "second-moment decay",
                                     value: { c in
                                         switch c.training.optimizer.algorithm {
                                         case let .adam(_, b, _, _), let .adamw(_, b, _, _): return b
                                         default: return nil
                                         } })
        public let eps = SchemaKey(path: "training.optimizer.eps", type: T.double(above: 0),
                                   default: .derived("`1e-08` (adagrad `1e-10`)", { $0.optimizer == .adagrad ? 1e-10 : 1e-8 }),
                                   applies: .optimizers(.adam, .adamw, .rmsprop, .adagrad), doc: "term added to the denominator",
                                   value: { c in
                                       switch c.training.optimizer.algorithm {
                                       case let .adam(_, _, e, _), let .adamw(_, _, e, _), let .rmsprop(_, e, _, _), let .adagrad(_, e, _): return e
                                       default: return nil
                                       } })
        public let amsgrad = SchemaKey(path: "training.optimizer.amsgrad", type: T.bool, default: .value(false), applies: .optimizers(.adam, .adamw),
                                       doc: "AMSGrad's maximum of second moments",
                                       value: { c in
                                           switch c.training.optimizer.algorithm {
                                           case let .adam(_, _, _, a), let .adamw(_, _, _, a): return a
                                           default: return nil
                                           } })
        public let alpha = SchemaKey(path: "training.optimizer.alpha", type: T.double(atLeast: 0), default: .value(0.99), applies: .optimizers(.rmsprop),
                                     doc: "smoothing constant",
                                     value: { if case let .rmsprop(a, _, _, _) = $0.training.optimizer.algorithm { return a } else { return nil } })
        public let centered = SchemaKey(path: "training.optimizer.centered", type: T.bool, default: .value(false), applies: .optimizers(.rmsprop),
                                        doc: "normalise by the estimated variance",
                                        value: { if case let .rmsprop(_, _, _, c) = $0.training.optimizer.algorithm { return c } else { return nil } })
        public let lrDecay = SchemaKey(path: "training.optimizer.lr_decay", type: T.double(atLeast: 0), default: .value(0), applies: .optimizers(.adagrad),
                                       doc: "learning-rate decay",
                                       value: { if case let .adagrad(d, _, _) = $0.training.optimizer.algorithm { return d } else { return nil } })
        public let initialAccumulator = SchemaKey(path: "training.optimizer.initial_accumulator_value", type: T.double(atLeast: 0), default: .value(0),
                                                  applies: .optimizers(.adagrad), doc: "starting value of the sum of squares",
                                                  value: { if case let .adagrad(_, _, v) = $0.training.optimizer.algorithm { return v } else { return nil } })
        public let scheduleKind = SchemaKey(path: "training.schedule.kind", type: T.choice(ScheduleKind.self), default: .value(.constant),
                                            applies: .always,
                                            doc: "`cosine`: lr·(s+1)/W during warm-up, then cosine from lr to min_lr at `total_steps`; `plateau`: as PyTorch's ReduceLROnPlateau on the validation loss, after every evaluation",
                                            value: { $0.training.plateau != nil ? .plateau : ScheduleKind(rawValue: $0.training.schedule.kindName) },
                                            mayChangeOnResume: true)
        public let stepSize = SchemaKey(path: "training.schedule.step_size", type: T.int(min: 1, max: maxSteps), default: .value(1000), applies: .schedules("step"),
                                        doc: "updates between decays",
                                        value: { if case let .step(n, _) = $0.training.schedule { return n } else { return nil } },
                                        mayChangeOnResume: true)
        public let gamma = SchemaKey(path: "training.schedule.gamma", type: T.double(above: 0),
                                     default: .derived("`0.1` (step), `0.999` (exponential)", { $0.schedule == "step" ? 0.1 : 0.999 }),
                                     applies: .schedules("step", "exponential"), doc: "decay factor",
                                     value: { c in
                                         switch c.training.schedule {
                                         case let .step(_, g), let .exponential(g): return g
                                         default: return nil
                                         } },
                                         mayChangeOnResume: true)
        public let warmupSteps = SchemaKey(path: "training.schedule.warmup_steps", type: T.int(min: 0, max: maxSteps), default: .value(0), applies: .schedules("cosine"),
                                           doc: "linear warm-up updates",
                                           value: { if case let .cosine(w, _, _) = $0.training.schedule { return w } else { return nil } },
                                           mayChangeOnResume: true)
        public let totalSteps = SchemaKey(path: "training.schedule.total_steps", type: T.int(min: 1, max: maxSteps),
                                          default: .absent("the run's length"), applies: .schedules("cosine"),
                                          doc: "the update where the cosine reaches `min_lr` (a warning says when it is not the run's length)",
                                          value: { $0.training.scheduleHorizon },
                                          mayChangeOnResume: true)
        public let minLR = SchemaKey(path: "training.schedule.min_lr", type: T.double(atLeast: 0), default: .value(0),
                                     applies: .schedules("cosine", "plateau"), doc: "the rate the cosine ends at; the lowest a plateau schedule goes",
                                     value: { c in
                                         if let p = c.training.plateau { return p.minLR }
                                         if case let .cosine(_, _, m) = c.training.schedule { return m }
                                         return nil },
                                         mayChangeOnResume: true)
        public let factor = SchemaKey(path: "training.schedule.factor", type: T.double(above: 0, below: 1), default: .value(0.1),
                                      applies: .schedules("plateau"), doc: "the rate is multiplied by this on a plateau",
                                      value: { $0.training.plateau?.factor },
                                      mayChangeOnResume: true)
        public let patience = SchemaKey(path: "training.schedule.patience", type: T.int(min: 0), default: .value(10), applies: .schedules("plateau"),
                                        doc: "evaluations without improvement before the rate is lowered",
                                        value: { $0.training.plateau?.patience },
                                        mayChangeOnResume: true)
        public let cooldown = SchemaKey(path: "training.schedule.cooldown", type: T.int(min: 0), default: .value(0), applies: .schedules("plateau"),
                                        doc: "evaluations to wait after lowering before counting again",
                                        value: { $0.training.plateau?.cooldown },
                                        mayChangeOnResume: true)
        public let threshold = SchemaKey(path: "training.schedule.threshold", type: T.double(atLeast: 0, below: 1), default: .value(1e-4),
                                         applies: .schedules("plateau"), doc: "relative improvement that counts: loss < best·(1 − threshold)",
                                         value: { $0.training.plateau?.threshold },
                                         mayChangeOnResume: true)
        public let earlyPatience = SchemaKey(path: "training.early_stopping.patience", type: T.int(min: 1), default: .absent("off"),
                                             applies: .always, doc: "stop after this many evaluations without improvement; the summary names the best checkpoint",
                                             value: { $0.training.earlyStopping?.patience })
        public let earlyMinDelta = SchemaKey(path: "training.early_stopping.min_delta", type: T.double(atLeast: 0), default: .value(0),
                                             applies: .always, doc: "an improvement must be larger than this",
                                             value: { $0.training.earlyStopping?.minDelta })
        public let earlyMetric = SchemaKey(path: "training.early_stopping.metric", type: T.choice(EarlyStopping.Metric.self),
                                           default: .value(.validationLoss), applies: .always,
                                           doc: "`validation_loss` (lower is better) or `validation_accuracy` (classifiers and text; refused for series, which have no accuracy)",
                                           value: { $0.training.earlyStopping?.metric })
        public let clipNorm = SchemaKey(path: "training.clip.norm", type: T.double(atLeast: 0), default: .value(5), applies: .always,
                                        doc: "clip gradients by global norm (0 turns it off)", value: { $0.training.clipNorm ?? 0 },
                                        mayChangeOnResume: true)
        public let clipValue = SchemaKey(path: "training.clip.value", type: T.double(above: 0), default: .absent("—"), applies: .always,
                                         doc: "clip each gradient to [−value, value]", value: { $0.training.clipValue },
                                         mayChangeOnResume: true)
        public let logEvery = SchemaKey(path: "training.log_every", type: T.int(min: 1), default: .value(10), applies: .always,
                                        doc: "steps between training log lines", value: { $0.training.logEvery },
                                        mayChangeOnResume: true)
        public let evalEvery = SchemaKey(path: "training.eval_every", type: T.int(min: 0), default: .value(0), applies: .always,
                                         doc: "steps between validation passes (0: at the end of each epoch)", value: { $0.training.evalEvery },
                                         mayChangeOnResume: true)
        public let checkpointEvery = SchemaKey(path: "training.checkpoint_every", type: T.int(min: 0), default: .value(0), applies: .always,
                                               doc: "steps between checkpoints (0: at the end of each epoch)", value: { $0.training.checkpointEvery },
                                               mayChangeOnResume: true)
        public let keepCheckpoints = SchemaKey(path: "training.keep_checkpoints", type: T.int(min: 1), default: .value(3), applies: .always,
                                               doc: "most recent checkpoints kept (the best is kept too)", value: { $0.training.keepCheckpoints },
                                               mayChangeOnResume: true)
        public let onNonFinite = SchemaKey(path: "training.on_nonfinite", type: T.choice(NonFinitePolicy.self), default: .value(.stop),
                                           applies: .always, doc: "a NaN or infinite loss `stop`s the run with a message, or `skip`s the update",
                                           value: { $0.training.onNonFinite },
                                           mayChangeOnResume: true)
        public let maxConsecutiveSkips = SchemaKey(path: "training.max_consecutive_skips", type: T.int(min: 1), default: .value(10),
                                                   applies: .always,
                                                   doc: "with `on_nonfinite: skip`, stop with a message after this many skipped steps in a row",
                                                   value: { $0.training.maxConsecutiveSkips },
                                                   mayChangeOnResume: true)

        // parallel, output
        public let threads = SchemaKey(path: "parallel.threads", type: T.int(min: 1, max: 1024), default: .absent("cores / processes on this node"),
                                       applies: .always, doc: "replicas (threads) per process", value: { $0.parallel.threads },
                                       mayChangeOnResume: true)
        public let bucketSize = SchemaKey(path: "parallel.bucket_size", type: T.int(min: 1, max: 1 << 30), default: .value(1 << 20), applies: .always,
                                          doc: "floats per allreduce bucket", value: { $0.parallel.bucketSize },
                                          mayChangeOnResume: true)
        public let deterministic = SchemaKey(path: "parallel.deterministic", type: T.bool, default: .value(false), applies: .always,
                                             doc: "the same bits at every processes × threads layout, on AVX-512 and AVX2 CPUs alike (not with the baseline kernels; cost: docs/benchmarks.md)",
                                             value: { $0.parallel.deterministic },
                                             mayChangeOnResume: true)
        public let microShards = SchemaKey(path: "parallel.micro_shards", type: T.int(min: 1, max: 4096), default: .value(8),
                                           applies: .always,
                                           doc: "with `deterministic`, fixed pieces each batch is cut into, whatever the layout (at most this many replicas get work)",
                                           value: { $0.parallel.microShards },
                                           mayChangeOnResume: true)
        public let exchangeTimeout = SchemaKey(path: "parallel.exchange_timeout", type: T.double(atLeast: 1, atMost: 86400), default: .value(20.0),
                                               applies: .always,
                                               doc: "seconds one exchange between processes may wait for a peer before the job ends naming it (a lost host or link); raise it when ranks can be that far apart",
                                               value: { $0.parallel.exchangeTimeout },
                                               mayChangeOnResume: true)
        public let overlap = SchemaKey(path: "parallel.overlap", type: T.bool, default: .value(true), applies: .always,
                                       doc: "exchange each layer's gradients between processes while backward computes the layers below, for models of at least \(Engine.smallestOverlappedModel) parameters (same bits either way; not with `deterministic`)",
                                       value: { $0.parallel.overlap },
                                       mayChangeOnResume: true)
        public let outputDir = SchemaKey(path: "output.dir", type: T.string, default: .derived("`runs/<experiment.name>`", { "runs/\($0.name)" }),
                                         applies: .always, doc: "run directory", value: { $0.output.dir })

        // sweep
        public let sweepGrid = SchemaKey(path: "sweep.grid", type: T.names, default: .absent("—"), applies: .always,
                                         doc: "for `recur sweep`: entries `\"KEY=[v1,v2,…]\"`, as `--grid` takes them (which replaces this list); training ignores it",
                                         value: { $0.sweepGrid })
    }

    /// The keys (`ExperimentSchema.keys.seqLen`).
    public static let keys = Keys()

    /// Every key, in file and documentation order: the declarations of `Keys`, in order.
    static let entries: [any SchemaEntry] = Mirror(reflecting: keys).children.compactMap { $0.value as? any SchemaEntry }

    /// Every key path and every section above one (`data`, `data.split`, …).
    static let knownPaths: Set<String> = {
        var all = Set<String>()
        for e in entries {
            let parts = e.path.split(separator: ".")
            for i in 1...parts.count { all.insert(parts[0..<i].joined(separator: ".")) }
        }
        return all
    }()

    /// The keys a resume may change (`SchemaEntry.mayChangeOnResume`).
    static let resumablePaths: [String] = entries.filter(\.mayChangeOnResume).map(\.path)

    /// The top-level sections, in order.
    static let sections = ["experiment", "data", "model", "training", "parallel", "output", "sweep"]
}
