// One `recur train` invocation, start to finish: read and check the experiment (or the run it
// resumes), load the data, build the trainer, agree across ranks, then — rank 0 only — lay out
// the run directory and record metrics, TensorBoard scalars and checkpoints while training.
// Everything a user can get wrong is checked in `prepare` before any file is written.

import Foundation
import RecurData
import RecurEngine
import RecurKernels
import RecurModel
import RecurOptim
import RecurParallel

public final class TrainingSession {
    public let config: ExperimentConfig
    public let engine: Engine
    public let run: TrainingRun
    public let runDirectory: URL
    public let resumedFrom: URL?
    let comm: Communicator
    let reporter: ProgressReporter
    private var metrics: MetricsLog?
    private var tensorboard: TensorBoardWriter?
    private var best: (loss: Double, name: String)?
    private var lastValidationLoss: Double?
    /// What picks the best checkpoint, lower being better: the validation loss, or minus the
    /// validation accuracy when early stopping watches accuracy.
    private var lastMonitored: Double?
    /// The lowest validation loss of the run so far and its step (any evaluation, checkpointed or not).
    private var bestEvaluation: (loss: Double, step: Int)?
    /// Rank 0's hold on the run directory (taken before training, released at exit).
    private var lock: RunDirectoryLock?

    /// Reads and checks everything; writes nothing.
    /// - Parameters:
    ///   - configPath: the experiment file (nil when resuming).
    ///   - resume: a run directory to continue from its latest checkpoint.
    /// - Throws: ConfigError, DataError, CheckpointError, ModelConfigError… (user input, exit 2).
    public init(configPath: String?, overrides: [String], resume: String?, threads: Int?, comm: Communicator,
                reporter: ProgressReporter) throws {
        self.comm = comm
        self.reporter = reporter
        var checkpoint: Checkpoint?
        var config: ExperimentConfig
        var dataConfigPath = configPath
        if let resume {
            let dir = URL(fileURLWithPath: resume)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw ConfigError(file: resume, line: nil, key: "", message: "no such run directory to resume (give the directory a run wrote, e.g. runs/sunspots-lstm)")
            }
            let stored = dir.appendingPathComponent("config.yaml").path
            guard FileManager.default.fileExists(atPath: stored) else {
                throw ConfigError(file: resume, line: nil, key: "", message: "holds no run to resume (no config.yaml); give a directory that recur train wrote, e.g. runs/sunspots-lstm")
            }
            let original = try ExperimentConfig.load(path: stored)
            try Self.checkResumeOverrideKeys(overrides, original: original, run: resume)
            config = try ExperimentConfig.load(path: stored, overrides: overrides)
            try Self.checkResumeOverrides(original: original, resumed: config, run: resume)
            guard let latest = try Checkpoint.latest(in: dir.appendingPathComponent("checkpoints")) else {
                throw ConfigError(file: resume, line: nil, key: "", message: "holds no complete checkpoint to resume from; start a new run instead")
            }
            checkpoint = try Checkpoint.read(from: latest)
            resumedFrom = latest
            runDirectory = dir
            dataConfigPath = stored
        } else {
            guard let configPath else { throw ConfigError(file: "recur train", line: nil, key: "", message: "give an experiment file or --resume RUN_DIR") }
            config = try ExperimentConfig.load(path: configPath, overrides: overrides)
            // Store the data path as resolved now, so the run can be resumed from anywhere.
            config.data.path = URL(fileURLWithPath: config.resolvedDataPath(configPath: configPath)).standardizedFileURL.path
            runDirectory = try Self.newRunDirectory(config)
            resumedFrom = nil
        }
        self.config = config
        let manifest = checkpoint.flatMap { $0.model.metadata["data_manifest"] }
            .flatMap { try? JSONDecoder().decode(DataManifest.self, from: Data($0.utf8)) }
        let dataset = try config.loadDataset(configPath: dataConfigPath, stored: manifest)
        let k = threads ?? config.parallel.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize))
        if comm.size * k > config.training.batchSize {
            throw ConfigError(file: configPath ?? resume!, line: nil, key: "training.batch_size",
                              message: "\(config.training.batchSize) windows cannot feed \(comm.size) process(es) × \(k) thread(s); raise the batch size or use fewer replicas")
        }
        engine = try Engine(config.engineConfig(for: dataset, threads: k), dataset: dataset, comm: comm)
        // Agree before anything sized by the model crosses ranks (Note [Agree, then broadcast]).
        try engine.agree(on: StartupAgreement.runItems(config: config, dataset: dataset))
        run = try TrainingRun(engine: engine, config: config)
        if let checkpoint, let resumedFrom {
            try restore(checkpoint, path: resumedFrom.path, dataset: dataset)
        } else if let initFrom = config.model.initFrom {
            engine.setParameters(try ModelCheckpoint.initialParameters(from: URL(fileURLWithPath: initFrom),
                                                                       expecting: engine.network.layout))
        }
        // Rank 0's parameters and optimizer state are the run's, whatever each rank read.
        engine.broadcastInitialState()
        // One process per run directory: a second resume (or a run still training) is refused.
        // Taken last, so that a resume refused for any other reason leaves the directory as it was.
        if comm.rank == 0, resumedFrom != nil { lock = try RunDirectoryLock(runDirectory) }
    }

    /// What a resume may change with --set: how long to train and how to log, checkpoint,
    /// schedule and clip. Everything else shapes what the checkpoint holds (the model, the data
    /// and its windows, the batch, the optimizer's state), so changing it needs a new run.
    static let resumableKeys: [String] = ["training.epochs", "training.steps", "training.log_every", "training.eval_every",
                                          "training.checkpoint_every", "training.keep_checkpoints", "training.on_nonfinite",
                                          "training.max_consecutive_skips", "training.optimizer.lr", "training.optimizer.weight_decay",
                                          "training.schedule", "training.clip", "parallel"]

    /// Refuses `--set KEY=…` for a key a resume cannot change, before the override is applied
    /// (applied first, it would fail on keys it makes inapplicable, naming the stored file).
    static func checkResumeOverrideKeys(_ overrides: [String], original: ExperimentConfig, run: String) throws {
        let stored = Dictionary(original.settingLines().map { line -> (String, String) in
            let r = line.range(of: ": ")!
            return (String(line[..<r.lowerBound]), String(line[r.upperBound...]))
        }, uniquingKeysWith: { a, _ in a })
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { continue }
            let key = String(o[..<eq])
            guard ExperimentSchema.knownPaths.contains(key),
                  !resumableKeys.contains(where: { key == $0 || key.hasPrefix($0 + ".") || $0.hasPrefix(key + ".") }) else { continue }
            throw ConfigError(file: "--set", line: nil, key: key,
                              message: "cannot change when resuming \(run): the run was trained with \(stored[key] ?? "the stored setting"), and the checkpoint's parameters, data order and optimizer state depend on it; start a new run to use \(o[o.index(after: eq)...])")
        }
    }

    static func checkResumeOverrides(original: ExperimentConfig, resumed: ExperimentConfig, run: String) throws {
        func values(_ c: ExperimentConfig) -> [String: String] {
            Dictionary(c.settingLines().map { line -> (String, String) in
                let r = line.range(of: ": ")!
                return (String(line[..<r.lowerBound]), String(line[r.upperBound...]))
            }, uniquingKeysWith: { a, _ in a })
        }
        let before = values(original), after = values(resumed)
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            guard !resumableKeys.contains(where: { key == $0 || key.hasPrefix($0 + ".") }) else { continue }
            throw ConfigError(file: "--set", line: nil, key: key,
                              message: "cannot change when resuming \(run): the run was trained with \(before[key] ?? "(none)"), and the checkpoint's parameters, data order and optimizer state depend on it; start a new run to use \(after[key] ?? "(none)")")
        }
    }

    /// runs/<name>, or runs/<name>-2, -3 … when that holds an earlier run; a directory the user
    /// chose (any other output.dir) that already holds a run is refused, never overwritten.
    static func newRunDirectory(_ config: ExperimentConfig) throws -> URL {
        let explicit = config.output.dir != "runs/\(config.name)"
        try OutputPath.checkDirectory(config.output.dir, what: "output.dir")
        func used(_ p: String) -> Bool { RunDirectoryLock.holdsRun(p) }
        if !used(config.output.dir) { return URL(fileURLWithPath: config.output.dir) }
        if explicit {
            throw ConfigError(file: config.output.dir, line: nil, key: "output.dir",
                              message: "already holds a run; continue it with --resume \(config.output.dir), or choose another directory")
        }
        var i = 2
        while used("\(config.output.dir)-\(i)") { i += 1 }
        return URL(fileURLWithPath: "\(config.output.dir)-\(i)")
    }

    // MARK: Checkpoints

    private func restore(_ c: Checkpoint, path: String, dataset: any WindowedDataset) throws {
        let layout = engine.network.layout
        guard c.model.layout == layout else {
            throw CheckpointError(.differentModel, path: path, "holds a different model than the run's config.yaml describes",
                                  remedy: "resume with the run directory the checkpoint came from")
        }
        if let stored = c.state.words["data_fingerprint"]?.first, stored != dataset.fingerprint() {
            throw CheckpointError(.differentModel, path: path, "was trained on different data than \(config.data.path) holds now",
                                  remedy: "restore the original data file, or start a new run")
        }
        engine.setParameters(c.model.parameters)
        try c.state.restore(into: engine.optimizer, path: path)
        run.step = Int(c.state.counters["step"] ?? 0)
        run.lastCheckpointStep = run.step
        if let h = c.state.tensors["carried.hidden"] { engine.restoreCarriedState(h.values, cell: false) }
        if let cc = c.state.tensors["carried.cell"] { engine.restoreCarriedState(cc.values, cell: true) }
        if let b = c.state.metadata["best_checkpoint"], let l = c.state.metadata["best_loss"].flatMap(Double.init) { best = (l, b) }
        func numbers(_ key: String) -> [Double]? { c.state.metadata[key].map { $0.split(separator: ",").compactMap { Double($0) } } }
        if run.plateau != nil, let v = numbers("plateau_state"), let p = PlateauState(values: v) { run.plateau = p }
        if let v = numbers("early_stopping_state"), v.count == 3 { run.monitor = (v[0], Int(v[1]), Int(v[2])) }
        if let v = numbers("best_evaluation"), v.count == 2 { bestEvaluation = (v[0], Int(v[1])) }
    }

    /// Collective (every rank calls it); rank 0 writes checkpoints/step-N atomically and prunes.
    private func saveCheckpoint(step: Int, epoch: Int) throws {
        let stateful = run.plan.isStateful
        let hidden = stateful ? engine.carriedState(cell: false) : nil, cell = stateful ? engine.carriedState(cell: true) : nil
        if comm.rank == 0 { try writeCheckpoint(step: step, epoch: epoch, hidden: hidden, cell: cell) }
        // The other ranks wait for rank 0's writing here, under a longer deadline than a
        // step's exchange (Note [Exchange deadline]).
        if comm.size > 1 { ExchangeDeadline.allowingPause { comm.barrier() } }
    }

    private func writeCheckpoint(step: Int, epoch: Int, hidden: [Float]?, cell: [Float]?) throws {
        let net = engine.network
        let name = Checkpoint.directoryName(step: step)
        if let v = lastMonitored, v.isFinite, best == nil || v < best!.loss { best = (v, name) }
        var meta: [String: String] = ["experiment": (try? config.yaml()) ?? ""]
        if let json = try? JSONEncoder().encode(engine.dataset.manifest) { meta["data_manifest"] = String(decoding: json, as: UTF8.self) }
        var state = TrainingState()
        state.capture(engine.optimizer)
        state.counters["step"] = Int64(step)
        state.counters["epoch"] = Int64(epoch)
        state.words["seed"] = [config.seed]
        state.words["data_fingerprint"] = [engine.dataset.fingerprint()]
        let shape = [net.config.layers, config.training.batchSize, net.config.hiddenSize]
        if let hidden { state.tensors["carried.hidden"] = StoredTensor(shape: shape, values: hidden) }
        if let cell { state.tensors["carried.cell"] = StoredTensor(shape: shape, values: cell) }
        if let best { state.metadata["best_checkpoint"] = best.name; state.metadata["best_loss"] = "\(best.loss)" }
        if let v = lastValidationLoss { state.metadata["validation_loss"] = "\(v)" }
        // Schedules and monitors that follow the validation loss continue where they were.
        if let p = run.plateau { state.metadata["plateau_state"] = p.values.map { "\($0)" }.joined(separator: ",") }
        if let m = run.monitor { state.metadata["early_stopping_state"] = "\(m.best),\(m.step),\(m.since)" }
        if let b = bestEvaluation { state.metadata["best_evaluation"] = "\(b.loss),\(b.step)" }
        let checkpoint = Checkpoint(model: ModelCheckpoint(config: net.config, layout: net.layout, parameters: engine.parameters.array,
                                                           metadata: meta), state: state)
        let dir = runDirectory.appendingPathComponent("checkpoints")
        try checkpoint.write(to: dir.appendingPathComponent(name))
        try pruneCheckpoints(in: dir, keepLast: config.training.keepCheckpoints, keep: best?.name)
    }

    // MARK: Running

    /// Trains to the end. Rank 0 creates the run directory first (only now: every check passed).
    /// - Throws: `StoppedBySignal` after a signal's checkpoint (Note [Stopping on a signal]),
    ///   `TrainingError` and I/O errors.
    public func start() throws {
        if comm.rank == 0 {
            if lock == nil { lock = try RunDirectoryLock(runDirectory) }
            let m = engine.network.config
            var start = ProgressReporter.Event(kind: .start, step: run.step, totalSteps: run.totalSteps,
                                               metrics: ["parameters": Double(engine.network.parameterCount),
                                                         "training_windows": Double(engine.dataset.windowCount(.train)),
                                                         "processes": Double(comm.size), "threads": Double(engine.threads)])
            start.labels = ["experiment": config.name, "run_dir": runDirectory.relativePath,
                            "model": "\(m.cell.rawValue) \(m.hiddenSize)×\(m.layers), \(engine.network.parameterCount) parameters",
                            "data": "\(engine.dataset.windowCount(.train)) training windows, \(run.totalSteps) steps",
                            "layout": "\(comm.size) process\(comm.size == 1 ? "" : "es") × \(engine.threads) thread\(engine.threads == 1 ? "" : "s")"
                                + (config.parallel.deterministic ? " (deterministic)" : "")
                                + (engine.overlapsExchange ? " (exchange overlapped with backward)" : "")]
            reporter.report(start)
            try openRunDirectory()
            if let warning = run.scheduleWarning { Console.error("recur: warning: \(warning)\n") }
        }
        run.onEvent = { [unowned self] e in self.record(e) }
        run.onCheckpoint = { [unowned self] step, epoch in try self.saveCheckpoint(step: step, epoch: epoch) }
        ExchangeDeadline.start(seconds: config.parallel.exchangeTimeout, comm: comm,
                               resumeHint: "continue from the last checkpoint with: recur train --resume \(runDirectory.relativePath)")
        do {
            try run.run()
        } catch let stop as StoppedBySignal {
            if comm.rank == 0 {
                finishReport()
                Console.error("recur: \(stop); continue with: recur train --resume \(runDirectory.relativePath)\n")
            }
            throw stop
        }
        if comm.rank == 0 { finishReport() }
    }

    /// The summary line (and JSON event), then closes the metrics and event files.
    private func finishReport() {
        var metrics: [String: Double] = [:]
        var labels = ["run_dir": runDirectory.relativePath]
        if let v = run.lastValidation { metrics["validation_loss"] = v.loss }
        if let b = bestEvaluation { metrics["best_validation_loss"] = b.loss; metrics["best_step"] = Double(b.step) }
        if let best { labels["best_checkpoint"] = runDirectory.appendingPathComponent("checkpoints/\(best.name)").relativePath }
        if let b = run.validationBaseline { metrics["baseline_loss"] = b }
        if run.skippedSteps > 0 { metrics["skipped_steps"] = Double(run.skippedSteps) }
        if let why = run.stoppedEarly { labels["stopped_early"] = why }
        var summary = ProgressReporter.Event(kind: .summary, step: run.step, totalSteps: run.totalSteps, metrics: metrics)
        summary.labels = labels
        reporter.report(summary)
        reporter.finish()
        metrics_close()
    }

    private func metrics_close() { self.metrics?.close(); tensorboard?.close() }

    private func openRunDirectory() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: runDirectory.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        let configFile = runDirectory.appendingPathComponent("config.yaml")
        let text = try config.yaml()
        if resumedFrom == nil {
            try writeAtomically(Array(text.utf8), to: configFile)
        } else if let stored = try? String(contentsOf: configFile, encoding: .utf8), stored != text {
            // Resume overrides (a longer run, another rate) are written down, so the directory
            // always describes what ran; the file they replace stays beside it.
            let kept = runDirectory.appendingPathComponent("config.before-step-\(run.step).yaml")
            try writeAtomically(Array(stored.utf8), to: kept)
            try writeAtomically(Array(text.utf8), to: configFile)
            reporter.note("config.yaml updated with the resume's --set values; the previous one is \(kept.lastPathComponent)")
        }
        let k = resumedFrom == nil ? nil : run.step
        metrics = try MetricsLog(path: runDirectory.appendingPathComponent("metrics.jsonl").path, truncatingAfterStep: k)
        tensorboard = try TensorBoardWriter(directory: runDirectory.path)
        if let k { try tensorboard?.markRestart(atStep: k) }
        reporter.note("run directory \(runDirectory.relativePath)" + (resumedFrom.map { "; resuming from \($0.lastPathComponent)" } ?? ""))
    }

    private func record(_ e: ProgressReporter.Event) {
        guard comm.rank == 0 else { return }
        if e.kind == .validation {
            lastValidationLoss = e.loss
            lastMonitored = config.training.earlyStopping?.metric == .validationAccuracy ? e.metrics["accuracy"].map { -$0 } : e.loss
            if let l = e.loss, l.isFinite, bestEvaluation == nil || l < bestEvaluation!.loss { bestEvaluation = (l, e.step) }
        }
        reporter.report(e)
        try? metrics?.append(e.fields)
        let prefix = e.kind == .validation ? "validation" : "train"
        if let l = e.loss { try? tensorboard?.add(tag: "\(prefix)/loss", value: l, step: e.step) }
        if let lr = e.learningRate { try? tensorboard?.add(tag: "train/lr", value: lr, step: e.step) }
        if let g = e.gradientNorm { try? tensorboard?.add(tag: "train/grad_norm", value: g, step: e.step) }
        if let s = e.sequencesPerSecond { try? tensorboard?.add(tag: "train/seq_per_s", value: s, step: e.step) }
        for (k, v) in e.metrics.sorted(by: { $0.key < $1.key }) { try? tensorboard?.add(tag: "\(prefix)/\(k)", value: v, step: e.step) }
    }
}
