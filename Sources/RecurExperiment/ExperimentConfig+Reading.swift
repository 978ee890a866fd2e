// Reading an experiment file: every key through its declaration in ExperimentSchema (type,
// range, default, where it applies), from a ConfigSource so that a wrong value names its file,
// line and key; then the checks that span several keys.

import Foundation
import RecurKernels
import RecurData
import RecurModel
import RecurOptim

extension ExperimentConfig {
    /// Every problem of an experiment file in one pass (`recur config validate`): after each
    /// error the key at fault is set aside (or a required one filled with a stand-in) and the
    /// file read again; when the keys are right, the data file is read too (path, columns, sizes).
    /// - Returns: the errors, in the order found; empty when the experiment is good.
    /// `validateAll`, and when it finds nothing, whether the global batch can feed `ranks`
    /// processes × `threads` threads each (the file's `parallel.threads`, else 1).
    public static func validateAll(path: String, overrides: [String], ranks: Int?, threads: Int?) -> [Error] {
        var errors = validateAll(path: path, overrides: overrides)
        if errors.isEmpty, let ranks, let c = try? load(path: path, overrides: overrides) {
            let k = threads ?? c.parallel.threads ?? 1
            if ranks * k > c.training.batchSize {
                errors.append(ConfigError(file: path, line: nil, key: "training.batch_size",
                                          message: "\(c.training.batchSize) windows cannot feed \(ranks) process(es) × \(k) thread(s); raise the batch size or use fewer replicas"))
            }
        }
        return errors
    }

    public static func validateAll(path: String, overrides: [String] = []) -> [Error] {
        var errors: [Error] = []
        let text: String
        do {
            _ = try load(path: path, overrides: overrides)
            text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        } catch let first as ConfigError where first.key.isEmpty {
            return [first]   // the file itself (missing, not YAML): nothing more to read
        } catch {
            text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        // Stand-ins for required keys, so the rest of the file can be checked.
        let standIns = ["data.kind": "series", "data.path": "data.csv", "data.seq_len": "1", "model.cell": "lstm", "model.hidden_size": "1"]
        var removed = Set<String>(), extra: [String] = []
        for _ in 0..<64 {
            do {
                let config = try parse(yaml: text, file: path, overrides: overrides + extra, removing: removed)
                if errors.isEmpty || !errors.contains(where: { ($0 as? ConfigError)?.key.hasPrefix("data") == true }) {
                    do { _ = try config.loadDataset(configPath: path) } catch { errors.append(error) }
                }
                return errors
            } catch let e as ConfigError {
                errors.append(e)
                let key = e.key
                if let standIn = standIns.first(where: { key == $0.key || e.message.contains($0.key + " is required") }) {
                    extra.append("\(standIn.key)=\(standIn.value)")
                } else if !key.isEmpty && !removed.contains(key) {
                    removed.insert(key)
                } else {
                    return errors
                }
            } catch {
                errors.append(error)
                return errors
            }
        }
        return errors
    }

    /// Reads and checks an experiment file, with `--set` overrides applied first.
    /// - Throws: `ConfigError` naming file, line and key.
    public static func load(path: String, overrides: [String] = []) throws -> ExperimentConfig {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(file: path, line: nil, key: "", message: "no such file (give the path of an experiment .yaml, e.g. configs/sunspots-lstm.yaml)")
        }
        guard !isDirectory.boolValue else {
            throw ConfigError(file: path, line: nil, key: "", message: "is a directory; give an experiment .yaml file (to continue a run in this directory: recur train --resume \(path))")
        }
        if let what = FileKind.irregular(path) {
            throw ConfigError(file: path, line: nil, key: "", message: "is \(what), not a file; give an experiment .yaml file (save piped text to a file first)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > ConfigSource.maxBytes {
            throw ConfigError(file: path, line: nil, key: "", message: "is \(size) bytes, more than the \(ConfigSource.maxBytes) an experiment may have; give an experiment .yaml file")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, key: "", message: "cannot be read as UTF-8 text")
        }
        return try parse(yaml: text, file: path, overrides: overrides)
    }

    /// An experiment built in code: each setting written as `--set` takes it (a key and its value
    /// typed like the file: `("model.hidden_size", "64")`, `("data.columns", "[value]")`), every
    /// other key at its schema default, and checked exactly as a file is.
    ///
    /// ```swift
    /// let experiment = try ExperimentConfig(settings: [
    ///     ("data.kind", "series"), ("data.path", "data/sunspots.csv"), ("data.seq_len", "24"),
    ///     ("model.cell", "lstm"), ("model.hidden_size", "32"), ("training.steps", "200")])
    /// ```
    /// - Throws: `ConfigError` naming the key, as for a file.
    public init(settings: [(key: String, value: String)], name: String = "experiment") throws {
        self = try Self.parse(yaml: "{}", file: "<settings>", overrides: ["experiment.name=\(name)"] + settings.map { "\($0.key)=\($0.value)" })
    }

    /// Reads an experiment from YAML text (`file` names it in messages).
    public static func parse(yaml: String, file: String, overrides: [String] = []) throws -> ExperimentConfig {
        try parse(yaml: yaml, file: file, overrides: overrides, removing: [])
    }

    static func parse(yaml: String, file: String, overrides: [String], removing: Set<String>) throws -> ExperimentConfig {
        let src = try ConfigSource(yaml: yaml, file: file)
        try src.applyOverrides(overrides, alternatives: [[ExperimentSchema.keys.epochs.path, ExperimentSchema.keys.steps.path]])
        for key in removing { src.remove(key) }
        try src.rejectUnknownKeys(known: ExperimentSchema.knownPaths)
        for section in ExperimentSchema.knownPaths where ExperimentSchema.knownPaths.contains(where: { $0.hasPrefix(section + ".") }) {
            try src.section(section)
        }
        var context = SchemaContext()
        var config = try read(src, &context)
        config.origins = src.origins
        for e in ExperimentSchema.entries { try e.readSetting(src, context, into: &config) }
        // A key that does not apply would be ignored: refuse it, naming the setting that decides.
        for e in ExperimentSchema.entries where !e.applies.test(context) && src.has(e.path) {
            throw src.error(e.path, "applies to \(e.applies.text ?? "") only, and \(e.applies.decidedBy(context)); remove it")
        }
        return config
    }

    /// Reads every key through its schema declaration (ExperimentSchema), filling `context` as
    /// the keys that others depend on are read, then checks what spans several keys.
    static func read(_ s: ConfigSource, _ context: inout SchemaContext) throws -> ExperimentConfig {
        let K = ExperimentSchema.keys
        func v<T>(_ key: SchemaKey<T>) throws -> T { try key.read(s, context)! }
        func opt<T>(_ key: SchemaKey<T>) throws -> T? { try key.read(s, context) }

        let name = try v(K.name)
        if name.isEmpty || name.contains("/") {
            throw s.error(K.name.path, "must be a non-empty name without '/', got '\(name)'")
        }
        context.name = name
        let seed = try v(K.seed)

        // MARK: data
        let kind = try v(K.kind)
        context.kind = kind
        let path = try v(K.path)
        // Note [Given splits]: a split with a file of its own has no fraction (the schema's
        // applicability refuses one).
        let validationPath = try opt(K.validationPath), testPath = try opt(K.testPath)
        for (key, given) in [(K.validationPath, validationPath), (K.testPath, testPath)] where given?.isEmpty == true {
            throw s.error(key.path, "must not be empty: give the split's file, or remove the key")
        }
        if validationPath != nil { context.givenSplits.insert(.validation) }
        if testPath != nil { context.givenSplits.insert(.test) }
        let given = context.givenSplits
        let split = SplitFractions(train: given.count == 2 ? 1 : try v(K.splitTrain),
                                   validation: given.contains(.validation) ? 0 : try v(K.splitValidation),
                                   test: given.contains(.test) ? 0 : try v(K.splitTest))
        if split.train + split.validation + split.test > 1 + 1e-9 {
            throw s.error("data.split", "train + validation + test must add up to at most 1, got \(split.train + split.validation + split.test)")
        }
        if split.train <= 0 { throw s.error(K.splitTrain.path, "must be greater than 0") }
        let seqLen = try v(K.seqLen)
        context.seqLen = seqLen
        let stateful = try v(K.stateful)
        context.stateful = stateful
        let data = DataSection(
            kind: kind, path: path, columns: try opt(K.columns), targets: try opt(K.targets),
            normalize: try v(K.normalize), missing: try v(K.missing), header: try v(K.header), classes: try opt(K.classes), seqLen: seqLen, stride: try v(K.stride),
            target: try v(K.target), horizon: try v(K.horizon), split: split, splitSeed: UInt64(try v(K.splitSeed)),
            features: try opt(K.features), variableLength: try v(K.variableLength), lengthColumn: try opt(K.lengthColumn),
            labelColumn: try opt(K.labelColumn), sequenceColumn: try opt(K.sequenceColumn), shuffle: try v(K.shuffle),
            dropLast: try v(K.dropLast), stateful: stateful, minCount: try v(K.minCount), maxSize: try opt(K.maxSize),
            unknownToken: try v(K.unknown), lowercase: try v(K.lowercase), validationPath: validationPath, testPath: testPath)
        var columns = LabelledOptions()
        columns.variableLength = data.variableLength
        columns.lengthColumn = data.lengthColumn; columns.labelColumn = data.labelColumn; columns.sequenceColumn = data.sequenceColumn
        if let c = columns.columnConflict { throw s.error(c.key, "\(c.problem): \(c.fix)") }
        if kind == .sequences && data.target == .next {
            throw s.error(K.target.path, "classification (kind: sequences) predicts one label per sequence; use target: last")
        }
        if path.isEmpty { throw s.error(K.path.path, "must not be empty: give the data file to train on") }
        if stateful && data.shuffle && s.has(K.shuffle.path) {
            throw s.error(K.shuffle.path, "stateful training reads every stream in order and carries its state from window to window, which shuffling would break: remove data.shuffle or set it to false")
        }
        if stateful && kind == .sequences {
            throw s.error(K.stateful.path, "labelled sequences are independent examples, so no state runs from one to the next: remove data.stateful (it is for series and text cut into contiguous streams)")
        }
        if stateful && data.stride != seqLen {
            throw s.error(K.stride.path, "stateful training continues each stream where the last window ended, so stride must equal seq_len (\(seqLen))")
        }

        // MARK: model
        let cell = try v(K.cell)
        context.cell = cell
        let model = ModelSection(
            cell: cell, hiddenSize: try v(K.hiddenSize), layers: try v(K.layers), dropout: try v(K.dropout),
            input: try v(K.input), embeddingSize: try v(K.embeddingSize), gruReset: try v(K.gruReset),
            nonlinearity: try v(K.nonlinearity), forgetBias: try v(K.forgetBias), initFrom: try opt(K.initFrom),
            bidirectional: try v(K.bidirectional))
        context.layers = model.layers
        if model.bidirectional && data.target == .next {
            throw s.error(K.bidirectional.path, "the reverse direction reads each window from its end, so with a target at every step (data.target: next: a next-token language model, next-step forecasting) it would see the very values it predicts; remove model.bidirectional, or predict after the window with data.target: last")
        }
        if model.bidirectional && stateful {
            throw s.error(K.bidirectional.path, "stateful training carries each layer's state forward from window to window, which a direction reading backward cannot do; remove model.bidirectional or data.stateful")
        }
        if context.text && model.input == .features {
            throw s.error(K.input.path, "text is read as token ids: use embedding or one_hot")
        }
        if !context.text && model.input != .features {
            throw s.error(K.input.path, "\(kind.rawValue) data is read as feature vectors: use features")
        }

        // MARK: training
        let epochs = try opt(K.epochs)
        let steps = try opt(K.steps)
        if epochs != nil && steps != nil {
            throw s.error(K.steps.path, "give either training.epochs or training.steps, not both")
        }
        let optimizer = try readOptimizer(s, &context)
        let (schedule, horizon) = try readSchedule(s, &context, baseLR: optimizer.lr, runSteps: steps)
        let plateau = context.schedule == "plateau"
            ? PlateauSettings(factor: try v(K.factor), patience: try v(K.patience), cooldown: try v(K.cooldown),
                              minLR: try v(K.minLR), threshold: try v(K.threshold)) : nil
        let early = try opt(K.earlyPatience).map { EarlyStopping(patience: $0, minDelta: try v(K.earlyMinDelta), metric: try v(K.earlyMetric)) }
        if let early, early.metric == .validationAccuracy, kind == .series {
            throw s.error(K.earlyMetric.path, "a forecaster has no accuracy (data.kind is series), so early stopping would never stop; use validation_loss")
        }
        if early == nil, s.has(K.earlyMinDelta.path) || s.has(K.earlyMetric.path) {
            throw s.error(K.earlyPatience.path, "early stopping needs patience (evaluations without improvement before the run stops)")
        }
        let training = TrainingSection(
            epochs: epochs ?? (steps == nil ? ExperimentSchema.defaultEpochs : nil), steps: steps, batchSize: try v(K.batchSize),
            accumulate: try v(K.accumulate), optimizer: optimizer, schedule: schedule, scheduleHorizon: horizon, clipNorm: try v(K.clipNorm), clipValue: try opt(K.clipValue),
            logEvery: try v(K.logEvery), evalEvery: try v(K.evalEvery), checkpointEvery: try v(K.checkpointEvery),
            keepCheckpoints: try v(K.keepCheckpoints), onNonFinite: try v(K.onNonFinite),
            maxConsecutiveSkips: try v(K.maxConsecutiveSkips), plateau: plateau, earlyStopping: early)

        // MARK: parallel, output
        let parallel = ParallelSection(threads: try opt(K.threads), bucketSize: try v(K.bucketSize),
                                       deterministic: try v(K.deterministic), microShards: try v(K.microShards),
                                       exchangeTimeout: try v(K.exchangeTimeout), overlap: try v(K.overlap))
        let output = OutputSection(dir: try v(K.outputDir))
        if output.dir.isEmpty {
            throw s.error(K.outputDir.path, "must not be empty: give a directory such as runs/\(name), or leave the key out for that default")
        }
        return ExperimentConfig(name: name, seed: UInt64(seed), data: data, model: model, training: training,
                                parallel: parallel, output: output, sweepGrid: try opt(K.sweepGrid))
    }

    static func readOptimizer(_ s: ConfigSource, _ context: inout SchemaContext) throws -> OptimizerConfig {
        let K = ExperimentSchema.keys
        let kind = try K.optimizerKind.read(s, context)!
        context.optimizer = kind
        func v<T>(_ key: SchemaKey<T>) throws -> T { try key.read(s, context)! }
        let algorithm: OptimizerConfig.Algorithm
        switch kind {
        case .sgd: algorithm = .sgd(momentum: try v(K.momentum), dampening: try v(K.dampening), nesterov: try v(K.nesterov))
        case .adam: algorithm = .adam(beta1: try v(K.beta1), beta2: try v(K.beta2), eps: try v(K.eps), amsgrad: try v(K.amsgrad))
        case .adamw: algorithm = .adamw(beta1: try v(K.beta1), beta2: try v(K.beta2), eps: try v(K.eps), amsgrad: try v(K.amsgrad))
        case .rmsprop: algorithm = .rmsprop(alpha: try v(K.alpha), eps: try v(K.eps), momentum: try v(K.momentum), centered: try v(K.centered))
        case .adagrad: algorithm = .adagrad(lrDecay: try v(K.lrDecay), eps: try v(K.eps), initialAccumulatorValue: try v(K.initialAccumulator))
        }
        let c = OptimizerConfig(algorithm: algorithm, lr: try v(K.lr), weightDecay: try v(K.weightDecay))
        do { try c.validate() } catch { throw s.error("training.optimizer." + error.key.split(separator: ".").last.map(String.init)!, error.problem) }
        return c
    }

    /// The schedule and its horizon as given (nil: the run's length; until TrainingRun knows it,
    /// a cosine runs to `runSteps` or to the end of its warm-up).
    static func readSchedule(_ s: ConfigSource, _ context: inout SchemaContext, baseLR: Double,
                             runSteps: Int?) throws -> (LRSchedule, Int?) {
        let K = ExperimentSchema.keys
        let kind = try K.scheduleKind.read(s, context)!
        context.schedule = kind.rawValue
        func v<T>(_ key: SchemaKey<T>) throws -> T { try key.read(s, context)! }
        let schedule: LRSchedule
        var horizon: Int?
        switch kind {
        case .constant: schedule = .constant
        case .step: schedule = .step(stepSize: try v(K.stepSize), gamma: try v(K.gamma))
        case .exponential: schedule = .exponential(gamma: try v(K.gamma))
        case .plateau:
            schedule = .constant   // TrainingRun applies the plateau's rate (ExperimentConfig.training.plateau)
        case .cosine:
            let warmup = try v(K.warmupSteps)
            let total = try K.totalSteps.read(s, context)
            schedule = .cosine(warmupSteps: warmup, totalSteps: total ?? max(runSteps ?? warmup, warmup, 1), minLR: try v(K.minLR))
            horizon = total
        }
        do { try schedule.validate(baseLR: baseLR) } catch { throw s.error("training.schedule." + error.key.split(separator: ".").last.map(String.init)!, error.problem) }
        return (schedule, horizon)
    }
}
