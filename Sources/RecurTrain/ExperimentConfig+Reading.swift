// The schema of an experiment file: every key, its type, default and range, read through a
// ConfigSource so that a wrong value names its file, line and key, and an unknown key gets a
// did-you-mean. docs/config.md documents the same keys; keep the two together.

import Foundation
import RecurData
import RecurModel
import RecurOptim

extension ExperimentConfig {
    /// Reads and checks an experiment file, with `--set` overrides applied first.
    /// - Throws: `ConfigError` naming file, line and key.
    public static func load(path: String, overrides: [String] = []) throws -> ExperimentConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(file: path, line: nil, key: "", message: "no such file (give the path of an experiment .yaml, e.g. configs/sunspots-lstm.yaml)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, key: "", message: "cannot be read as UTF-8 text")
        }
        return try parse(yaml: text, file: path, overrides: overrides)
    }

    /// Reads an experiment from YAML text (`file` names it in messages).
    public static func parse(yaml: String, file: String, overrides: [String] = []) throws -> ExperimentConfig {
        let src = try ConfigSource(yaml: yaml, file: file)
        try src.applyOverrides(overrides)
        let config = try read(src)
        try src.rejectUnknownKeys()
        return config
    }

    static func read(_ s: ConfigSource) throws -> ExperimentConfig {
        try s.section("experiment")
        let name = try s.string("experiment.name", default: "experiment")!
        if name.isEmpty || name.contains("/") {
            throw s.error("experiment.name", "must be a non-empty name without '/', got '\(name)'")
        }
        let seed = try s.int("experiment.seed", default: 1, min: 0)

        // MARK: data
        try s.section("data")
        guard s.has("data.kind") else { throw s.error("data", "data.kind is required: one of series, chars, words, sequences") }
        let kind: DataKind = try s.choice("data.kind", default: .series)
        guard let path = try s.string("data.path", default: nil) else {
            throw s.error("data", "data.path is required: the file to train on")
        }
        let text = kind == .chars || kind == .words
        try s.section("data.split")
        let split = SplitFractions(train: try s.double("data.split.train", default: 0.8, atLeast: 0, atMost: 1),
                                   validation: try s.double("data.split.validation", default: 0.1, atLeast: 0, atMost: 1),
                                   test: try s.double("data.split.test", default: 0.1, atLeast: 0, atMost: 1))
        if split.train + split.validation + split.test > 1 + 1e-9 {
            throw s.error("data.split", "train + validation + test must add up to at most 1, got \(split.train + split.validation + split.test)")
        }
        if split.train <= 0 { throw s.error("data.split.train", "must be greater than 0") }
        let seqLen = try s.optInt("data.seq_len", default: nil, min: 1, max: 100_000)
        guard let seqLen else { throw s.error("data", "data.seq_len is required: the window length in steps") }
        let stateful = try s.bool("data.stateful", default: false)
        try s.section("data.vocabulary")
        let data = DataSection(
            kind: kind, path: path,
            columns: try s.stringList("data.columns"),
            targets: try s.stringList("data.targets"),
            normalize: try s.choice("data.normalize", default: kind == .series ? .zscore : NormalizationKind.none),
            missing: try s.choice("data.missing", default: .error),
            seqLen: seqLen,
            stride: try s.int("data.stride", default: stateful ? seqLen : (text ? seqLen : 1), min: 1),
            target: try s.choice("data.target", default: text ? .next : .last),
            horizon: try s.int("data.horizon", default: 1, min: 1),
            split: split,
            shuffle: try s.bool("data.shuffle", default: !stateful),
            dropLast: try s.bool("data.drop_last", default: false),
            stateful: stateful,
            minCount: try s.int("data.vocabulary.min_count", default: 1, min: 1),
            maxSize: try s.optInt("data.vocabulary.max_size", default: nil, min: 2),
            unknownToken: try s.bool("data.vocabulary.unknown", default: kind == .words),
            lowercase: try s.bool("data.vocabulary.lowercase", default: false))
        if kind == .sequences && data.target == .next {
            throw s.error("data.target", "classification (kind: sequences) predicts one label per sequence; use target: last")
        }
        if stateful && data.stride != seqLen {
            throw s.error("data.stride", "stateful training continues each stream where the last window ended, so stride must equal seq_len (\(seqLen))")
        }

        // MARK: model
        try s.section("model")
        guard s.has("model.cell") else { throw s.error("model", "model.cell is required: one of rnn, gru, lstm") }
        guard s.has("model.hidden_size") else { throw s.error("model", "model.hidden_size is required (e.g. 128)") }
        try s.section("model.gru"); try s.section("model.rnn")
        let model = ModelSection(
            cell: try s.choice("model.cell", default: .lstm),
            hiddenSize: try s.int("model.hidden_size", default: 0, min: 1, max: 1 << 16),
            layers: try s.int("model.layers", default: 1, min: 1, max: 64),
            dropout: try s.double("model.dropout", default: 0.0, atLeast: 0, below: 1),
            input: try s.choice("model.input", default: text ? .embedding : .features),
            embeddingSize: try s.int("model.embedding_size", default: 64, min: 1),
            gruReset: try s.choice("model.gru.reset", default: .after),
            nonlinearity: try s.choice("model.rnn.nonlinearity", default: .tanh),
            forgetBias: try s.bool("model.forget_bias", default: false),
            initFrom: try s.string("model.init_from", default: nil))
        if text && model.input == .features {
            throw s.error("model.input", "text is read as token ids: use embedding or one_hot")
        }
        if !text && model.input != .features {
            throw s.error("model.input", "\(kind.rawValue) data is read as feature vectors: use features")
        }

        // MARK: training
        try s.section("training")
        let epochs = try s.optInt("training.epochs", default: nil, min: 1)
        let steps = try s.optInt("training.steps", default: nil, min: 1)
        if epochs != nil && steps != nil {
            throw s.error("training.steps", "give either training.epochs or training.steps, not both")
        }
        let optimizer = try readOptimizer(s)
        let schedule = try readSchedule(s, baseLR: optimizer.lr)
        try s.section("training.clip")
        let training = TrainingSection(
            epochs: epochs ?? (steps == nil ? 10 : nil), steps: steps,
            batchSize: try s.int("training.batch_size", default: 32, min: 1),
            optimizer: optimizer, schedule: schedule,
            clipNorm: try s.optDouble("training.clip.norm", default: 5.0, atLeast: 0),
            clipValue: try s.optDouble("training.clip.value", default: nil, above: 0),
            logEvery: try s.int("training.log_every", default: 10, min: 1),
            evalEvery: try s.int("training.eval_every", default: 0, min: 0),
            checkpointEvery: try s.int("training.checkpoint_every", default: 0, min: 0),
            keepCheckpoints: try s.int("training.keep_checkpoints", default: 3, min: 1),
            onNonFinite: try s.choice("training.on_nonfinite", default: .stop))

        // MARK: parallel, output
        try s.section("parallel")
        let parallel = ParallelSection(threads: try s.optInt("parallel.threads", default: nil, min: 1, max: 1024),
                                       bucketSize: try s.int("parallel.bucket_size", default: 1 << 20, min: 1))
        try s.section("output")
        let output = OutputSection(dir: try s.string("output.dir", default: "runs/\(name)")!)
        return ExperimentConfig(name: name, seed: UInt64(seed), data: data, model: model, training: training,
                                parallel: parallel, output: output)
    }

    static func readOptimizer(_ s: ConfigSource) throws -> OptimizerConfig {
        try s.section("training.optimizer")
        let p = "training.optimizer."
        let kind: OptimizerConfig.Kind = try s.choice(p + "kind", default: .adam)
        var c = OptimizerConfig.defaults(for: kind)
        c.lr = try s.double(p + "lr", default: kind == .sgd ? 0.1 : c.lr, above: 0)
        c.weightDecay = try s.double(p + "weight_decay", default: c.weightDecay, atLeast: 0)
        switch c.algorithm {
        case let .sgd(momentum, dampening, nesterov):
            c.algorithm = .sgd(momentum: try s.double(p + "momentum", default: momentum, atLeast: 0),
                               dampening: try s.double(p + "dampening", default: dampening, atLeast: 0),
                               nesterov: try s.bool(p + "nesterov", default: nesterov))
        case let .adam(b1, b2, eps, ams), let .adamw(b1, b2, eps, ams):
            let b1v = try s.double(p + "beta1", default: b1, atLeast: 0, below: 1)
            let b2v = try s.double(p + "beta2", default: b2, atLeast: 0, below: 1)
            let e = try s.double(p + "eps", default: eps, above: 0)
            let a = try s.bool(p + "amsgrad", default: ams)
            c.algorithm = kind == .adam ? .adam(beta1: b1v, beta2: b2v, eps: e, amsgrad: a)
                                        : .adamw(beta1: b1v, beta2: b2v, eps: e, amsgrad: a)
        case let .rmsprop(alpha, eps, momentum, centered):
            c.algorithm = .rmsprop(alpha: try s.double(p + "alpha", default: alpha, atLeast: 0),
                                   eps: try s.double(p + "eps", default: eps, above: 0),
                                   momentum: try s.double(p + "momentum", default: momentum, atLeast: 0),
                                   centered: try s.bool(p + "centered", default: centered))
        case let .adagrad(lrDecay, eps, initial):
            c.algorithm = .adagrad(lrDecay: try s.double(p + "lr_decay", default: lrDecay, atLeast: 0),
                                   eps: try s.double(p + "eps", default: eps, above: 0),
                                   initialAccumulatorValue: try s.double(p + "initial_accumulator_value", default: initial, atLeast: 0))
        }
        do { try c.validate() } catch { throw s.error("training.optimizer." + error.key.split(separator: ".").last.map(String.init)!, error.problem) }
        return c
    }

    static func readSchedule(_ s: ConfigSource, baseLR: Double) throws -> LRSchedule {
        try s.section("training.schedule")
        let p = "training.schedule."
        enum Kind: String, CaseIterable { case constant, step, exponential, cosine }
        let kind: Kind = try s.choice(p + "kind", default: .constant)
        let schedule: LRSchedule
        switch kind {
        case .constant: schedule = .constant
        case .step: schedule = .step(stepSize: try s.int(p + "step_size", default: 1000, min: 1),
                                     gamma: try s.double(p + "gamma", default: 0.1, above: 0))
        case .exponential: schedule = .exponential(gamma: try s.double(p + "gamma", default: 0.999, above: 0))
        case .cosine:
            guard s.has(p + "total_steps") else {
                throw s.error("training.schedule", "a cosine schedule needs total_steps (the update where it reaches min_lr)")
            }
            schedule = .cosine(warmupSteps: try s.int(p + "warmup_steps", default: 0, min: 0),
                               totalSteps: try s.int(p + "total_steps", default: 1, min: 1),
                               minLR: try s.double(p + "min_lr", default: 0, atLeast: 0))
        }
        do { try schedule.validate(baseLR: baseLR) } catch { throw s.error("training.schedule." + error.key.split(separator: ".").last.map(String.init)!, error.problem) }
        return schedule
    }
}
