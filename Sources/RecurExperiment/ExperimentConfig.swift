// One experiment as resolved from its YAML file: every section with defaults filled in.
// Plain values; the keys, defaults and ranges are declared once in ExperimentSchema, which
// reads (ExperimentConfig+Reading) and writes (ExperimentConfig+Writing) them. So no property
// here has a default value of its own: the reader gives every one, from the schema.

import RecurData
import RecurModel
import RecurOptim

/// What kind of data an experiment trains on.
public enum DataKind: String, Codable, Sendable, CaseIterable {
    /// Numerical table (CSV with a header): forecasting.
    case series
    /// Text, character by character.
    case chars
    /// Text, word by word.
    case words
    /// Labelled sequences (CSV rows of T×F values and a label): classification.
    case sequences
}

/// What to do when a step's loss or gradient norm is NaN or infinite.
public enum NonFinitePolicy: String, Codable, Sendable, CaseIterable { case stop, skip }

public struct ExperimentConfig: Sendable, Equatable {
    public var name: String
    public var seed: UInt64
    public var data: DataSection
    public var model: ModelSection
    public var training: TrainingSection
    public var parallel: ParallelSection
    public var output: OutputSection
    /// For `recur sweep`: grid axes `KEY=[v1,v2,…]`, as --grid takes them; training ignores them.
    public var sweepGrid: [String]?
    /// Where each key was given (file or `--set`, and line), for messages found after reading
    /// (a data file that does not exist). Not part of the experiment: never compared.
    public var origins = KeyOrigins()
    /// The values of keys declared without a field (Note [One declaration per key]).
    var settings = ExperimentSettings()

    /// The value of a settings key without a default, nil when absent:
    /// `experiment[optional: ExperimentSchema.keys.seriesColumn]`.
    public subscript<T>(optional key: SchemaKey<T>) -> T? {
        settings.values[key.path]?.value as? T
    }

    /// The value of a settings key: `experiment[ExperimentSchema.keys.seasonality]`.
    public subscript<T>(key: SchemaKey<T>) -> T {
        guard let v = settings.values[key.path]?.value as? T else {
            preconditionFailure("\(key.path) was not read: build experiments with ExperimentConfig.parse, load or init(settings:)")
        }
        return v
    }
}

public struct DataSection: Sendable, Equatable {
    public var kind: DataKind
    public var path: String
    /// Series: feature columns (nil = every numeric column).
    public var columns: [String]?
    /// Series: target columns (nil = the feature columns).
    public var targets: [String]?
    public var normalize: NormalizationKind
    public var missing: MissingValuePolicy
    /// Whether a CSV's first row names the columns.
    public var header: HeaderSetting
    /// Class names in id order (labelled sequences), when given.
    public var classes: [String]?
    public var seqLen: Int
    public var stride: Int
    public var target: WindowTarget
    public var horizon: Int
    public var split: SplitFractions
    /// Labelled sequences: the seed of the shuffle before the split, apart from experiment.seed
    /// so that changing the run's seed keeps the test set.
    public var splitSeed: UInt64
    /// Labelled sequences: features per step (nil: derived from the data).
    public var features: Int?
    /// Labelled sequences of 1 … seqLen steps each.
    public var variableLength: Bool
    /// With `variableLength`: the CSV column of each row's length (nil: ragged rows).
    public var lengthColumn: String?
    /// Labelled sequences: the column of each step's class (sequence labelling), or nil.
    public var labelColumn: String?
    /// With `labelColumn` and one CSV: the column naming each row's sequence.
    public var sequenceColumn: String?
    public var shuffle: Bool
    public var dropLast: Bool
    /// Truncated BPTT over contiguous streams; hidden state carried between windows.
    public var stateful: Bool
    /// Text: vocabulary settings.
    public var minCount: Int
    public var maxSize: Int?
    public var unknownToken: Bool
    public var lowercase: Bool
    /// The validation split's own file (Note [Given splits]), or nil: a fraction of `path`.
    public var validationPath: String? = nil
    /// The test split's own file (Note [Given splits]), or nil: a fraction of `path`.
    public var testPath: String? = nil

    /// The splits that come as files of their own, with the key naming each (Note [Given splits]).
    public var givenFiles: [(split: DataSplit, key: String, path: String)] {
        [validationPath.map { (DataSplit.validation, "data.validation_path", $0) }, testPath.map { (.test, "data.test_path", $0) }].compactMap { $0 }
    }
}

public struct ModelSection: Sendable, Equatable {
    public var cell: CellKind
    public var hiddenSize: Int
    public var layers: Int
    public var dropout: Double
    /// nil: `embedding` for text, `features` otherwise.
    public var input: InputKind
    public var embeddingSize: Int
    public var gruReset: GRUReset
    public var nonlinearity: Nonlinearity
    public var forgetBias: Bool
    public var initFrom: String?
    /// Every layer also reads each window backward (Note [Bidirectional layers]).
    public var bidirectional: Bool
}

public struct TrainingSection: Sendable, Equatable {
    public var epochs: Int?
    public var steps: Int?
    public var batchSize: Int
    /// Batches whose gradients are added up before each optimizer update.
    public var accumulate: Int
    public var optimizer: OptimizerConfig
    public var schedule: LRSchedule
    /// The schedule's horizon as the file gave it (cosine total_steps); nil: the run's length,
    /// which TrainingRun puts into `schedule` once the data fixes it.
    public var scheduleHorizon: Int?
    public var clipNorm: Double?
    public var clipValue: Double?
    public var logEvery: Int
    /// Evaluate on the validation split every N steps (0: at the end of every epoch).
    public var evalEvery: Int
    /// Write a checkpoint every N steps (0: at the end of every epoch).
    public var checkpointEvery: Int
    public var keepCheckpoints: Int
    public var onNonFinite: NonFinitePolicy
    /// With `on_nonfinite: skip`, stop after this many skipped steps in a row.
    public var maxConsecutiveSkips: Int
    /// `schedule.kind: plateau` (the rate then follows the validation loss, not the step).
    public var plateau: PlateauSettings?
    /// Stop when the monitored validation metric has not improved for this long.
    public var earlyStopping: EarlyStopping?
}

/// training.early_stopping: stop after `patience` evaluations without an improvement of more
/// than `minDelta` in `metric`.
public struct EarlyStopping: Sendable, Equatable {
    public enum Metric: String, Sendable, CaseIterable {
        case validationLoss = "validation_loss", validationAccuracy = "validation_accuracy"
        /// Whether larger is better.
        public var maximises: Bool { self == .validationAccuracy }
    }
    public var patience: Int
    public var minDelta: Double
    public var metric: Metric
}

public struct ParallelSection: Sendable, Equatable {
    /// Replicas (threads) per process; nil = available cores / ranks on this node.
    public var threads: Int?
    /// Floats per allreduce bucket.
    public var bucketSize: Int
    /// The same bits at every processes × threads layout (Note [Layout-invariant steps]).
    public var deterministic: Bool
    /// Micro-shards per batch when deterministic.
    public var microShards: Int
    /// Seconds one exchange between ranks may wait before the job ends (Note [Exchange deadline]).
    public var exchangeTimeout: Double
    /// Exchange gradients while backward runs (Note [Overlapped exchange]).
    public var overlap: Bool
}

public struct OutputSection: Sendable, Equatable {
    public var dir: String
}

/// Where an experiment's keys were given; equal whatever they hold, so two experiments compare
/// by their settings alone.
public struct KeyOrigins: Equatable, Sendable {
    var places: [String: (file: String, line: Int?)] = [:]
    public init() {}
    /// The file (or `--set`) and line that gave `key`, if it was given.
    public subscript(key: String) -> (file: String, line: Int?)? { places[key] }
    public static func == (_: KeyOrigins, _: KeyOrigins) -> Bool { true }
}

/// Values of keys that live in an experiment's settings, compared by their canonical text.
struct ExperimentSettings: Equatable, @unchecked Sendable {
    struct Value { var value: Any; var text: String }
    var values: [String: Value] = [:]
    static func == (a: ExperimentSettings, b: ExperimentSettings) -> Bool {
        a.values.mapValues(\.text) == b.values.mapValues(\.text)
    }
}
