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

/// A training run, start to finish: `init` reads and checks everything (the experiment, the data,
/// the model, a resumed run's checkpoint) and writes nothing; `start()` lays out the run
/// directory (rank 0) and trains, writing metrics.jsonl, TensorBoard events and checkpoints.
///
/// ```swift
/// let session = try TrainingSession(experiment: try ExperimentConfig.load(path: "e.yaml"))
/// session.onEvent = { print($0.kind, $0.step, $0.loss ?? .nan) }
/// try session.start()
/// ```
/// Every rank of an MPI job builds one with the same experiment (`Job` says which rank this is).
public final class TrainingSession: TrainingRunObserver {
    public let config: ExperimentConfig
    let engine: Engine
    public let run: TrainingRun
    public let runDirectory: URL
    public let resumedFrom: URL?
    /// The run's id (Note [Run identity]): new for a new run, the run's own when resuming.
    public let runID: String
    let comm: Communicator
    let reporter: ProgressReporter
    private var metrics: MetricsLog?
    private var tensorboard: TensorBoardWriter?
    /// Rank 0's hold on the run directory (taken before training, released at exit).
    private var lock: RunDirectoryLock?
    /// Called on rank 0 with every event the run reports (start, logged steps, evaluations, the
    /// summary), as the reporter gets it: progress for programs
    /// that train through Recur as a library.
    public var onEvent: ((ProgressReporter.Event) -> Void)?

    /// Reads and checks everything; writes nothing.
    /// - Parameters:
    ///   - configPath: the experiment file (nil when resuming).
    ///   - resume: a run directory to continue from its latest checkpoint.
    /// - Throws: ConfigError, DataError, CheckpointError, ModelConfigError… (user input, exit 2).
    ///   - data: with `resume`, the run's data file where it is now (it moved); accepted when its
    ///     content is the data the checkpoint was trained on (Note [Portable runs]).
    public convenience init(configPath: String?, overrides: [String], resume: String?, data: String? = nil, threads: Int?, job: Job,
                            reporter: ProgressReporter) throws {
        try self.init(configPath: configPath, overrides: overrides, resume: resume, data: data, threads: threads, comm: job.communicator,
                      reporter: reporter)
    }

    /// A new run of an experiment built in code (`ExperimentConfig(settings:)`) or read elsewhere;
    /// a relative `data.path` is taken from the current directory. Writes nothing until `start`.
    /// - Parameters:
    ///   - threads: replicas in this process (default: the experiment's, else every core).
    ///   - job: this process's place in a job (default: MPI under mpirun, else a world of one).
    ///   - reporter: what the terminal shows; `ProgressReporter.silent` shows nothing.
    /// - Throws: the experiment's, data's and model's errors (user input).
    public convenience init(experiment: ExperimentConfig, threads: Int? = nil, job: Job = Job(),
                            reporter: ProgressReporter = .silent) throws {
        let config = experiment.mappingDataPaths { URL(fileURLWithPath: $0).standardizedFileURL.path }
        try self.init(config: config, checkpoint: nil, resumedFrom: nil, runDirectory: try Self.newRunDirectory(config),
                      dataConfigPath: nil, threads: threads, comm: job.communicator, reporter: reporter, source: config.name)
    }

    convenience init(configPath: String?, overrides: [String], resume: String?, data: String? = nil, threads: Int?, comm: Communicator,
                     reporter: ProgressReporter) throws {
        if data != nil && resume == nil {
            throw ConfigError(file: "--data", line: nil, key: "", message: "names where a run's data file moved, with --resume; a new run takes data.path from its experiment (or --set data.path=…)")
        }
        if let resume {
            // A run directory reached through a link is the directory it points to.
            let given = URL(fileURLWithPath: resume)
            let dir = given.resolvingSymlinksInPath() == given.standardizedFileURL ? given : given.resolvingSymlinksInPath()
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw ConfigError(file: resume, line: nil, key: "", message: "no such run directory to resume (give the directory a run wrote, e.g. runs/sunspots-lstm)")
            }
            let stored = dir.appendingPathComponent("config.yaml").path
            guard FileManager.default.fileExists(atPath: stored) else {
                throw ConfigError(file: resume, line: nil, key: "", message: "holds no run to resume (no config.yaml); give a directory that recur train wrote, e.g. runs/sunspots-lstm")
            }
            var original = try ExperimentConfig.load(path: stored)
            try original.checkResumeOverrideKeys(overrides, run: resume)
            var config = try ExperimentConfig.load(path: stored, overrides: overrides)
            try original.checkResumeChanges(to: config, run: resume, source: "--set")
            if let data {
                guard FileManager.default.fileExists(atPath: data) else {
                    throw ConfigError(file: "--data", line: nil, key: "", message: "\(data) does not exist; give the path of the run's data file where it is now")
                }
                // The content is checked against the checkpoint's fingerprint in `restore`.
                let moved = URL(fileURLWithPath: data).standardizedFileURL.path
                original.data.path = moved; config.data.path = moved
            }
            try RunIdentity.checkOwnCheckpoints(dir)
            guard let latest = try Checkpoint.latest(in: dir.appendingPathComponent("checkpoints")) else {
                throw ConfigError(file: resume, line: nil, key: "", message: "holds no complete checkpoint to resume from; start a new run instead")
            }
            let checkpoint = try Checkpoint.read(from: latest)
            let id = try RunIdentity.read(dir)
            try RunIdentity.check(latest, state: checkpoint.state, belongsTo: dir, id: id)
            // config.yaml edited by hand: what the checkpoint was trained with is the reference.
            if var trained = try? ExperimentConfig.parse(yaml: checkpoint.model.metadata["experiment"] ?? "",
                                                         file: latest.path + " (stored experiment)") {
                // Paths may be written relative or absolute (older runs), and --data moves them.
                trained.data.path = original.data.path
                try trained.checkResumeChanges(to: original, run: resume, source: stored)
            }
            try self.init(config: config, checkpoint: checkpoint, resumedFrom: latest, runDirectory: dir, dataConfigPath: stored,
                          threads: threads, comm: comm, reporter: reporter, source: resume,
                          runID: id ?? checkpoint.state.metadata[RunIdentity.metadataKey] ?? RunIdentity.make())
        } else {
            guard let configPath else { throw ConfigError(file: "recur train", line: nil, key: "", message: "give an experiment file or --resume RUN_DIR") }
            // Store the data paths as resolved now, so the run can be resumed from anywhere.
            let config = try ExperimentConfig.load(path: configPath, overrides: overrides).resolvingDataFiles(configPath: configPath)
            try self.init(config: config, checkpoint: nil, resumedFrom: nil, runDirectory: try Self.newRunDirectory(config),
                          dataConfigPath: configPath, threads: threads, comm: comm, reporter: reporter, source: configPath)
        }
    }

    /// - Parameter source: the experiment file or run directory, for messages.
    private init(config: ExperimentConfig, checkpoint: Checkpoint?, resumedFrom: URL?, runDirectory: URL, dataConfigPath: String?,
                 threads: Int?, comm: Communicator, reporter: ProgressReporter, source: String,
                 runID: String = RunIdentity.make()) throws {
        self.runID = runID
        self.comm = comm
        self.reporter = reporter
        self.resumedFrom = resumedFrom
        self.runDirectory = runDirectory
        self.config = config
        let manifest = checkpoint.flatMap { $0.model.metadata["data_manifest"] }
            .flatMap { try? JSONDecoder().decode(DataManifest.self, from: Data($0.utf8)) }
        let dataset = try config.loadDataset(configPath: dataConfigPath, stored: manifest)
        let k = threads ?? config.parallel.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize))
        if comm.size * k > config.training.batchSize {
            throw ConfigError(file: source, line: nil, key: "training.batch_size",
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
                                  remedy: "restore the original data file (or name where it moved with --data), or start a new run")
        }
        engine.setParameters(c.model.parameters)
        try c.state.restore(into: engine.optimizer, path: path)
        if let h = c.state.tensors["carried.hidden"] { engine.restoreCarriedState(h.values, cell: false) }
        if let cc = c.state.tensors["carried.cell"] { engine.restoreCarriedState(cc.values, cell: true) }
        run.restore(try RunProgress(from: c.state, path: path))
    }

    /// Collective (every rank calls it); rank 0 writes checkpoints/step-N atomically and prunes.
    public func run(_ run: TrainingRun, checkpoint progress: RunProgress, epoch: Int) throws {
        let stateful = run.plan.isStateful
        let hidden = stateful ? engine.carriedState(cell: false) : nil, cell = stateful ? engine.carriedState(cell: true) : nil
        if comm.rank == 0 { try writeCheckpoint(progress, epoch: epoch, hidden: hidden, cell: cell) }
        // The other ranks wait for rank 0's writing here, under a longer deadline than a
        // step's exchange (Note [Exchange deadline]).
        if comm.size > 1 { ExchangeDeadline.allowingPause { comm.barrier() } }
    }

    private func writeCheckpoint(_ progress: RunProgress, epoch: Int, hidden: [Float]?, cell: [Float]?) throws {
        let net = engine.network
        var meta: [String: String] = ["experiment": (try? config.storedForRun(at: runDirectory).yaml()) ?? ""]
        if let json = try? JSONEncoder().encode(engine.dataset.manifest) { meta["data_manifest"] = String(decoding: json, as: UTF8.self) }
        var state = TrainingState()
        state.capture(engine.optimizer)
        progress.save(into: &state)
        state.metadata[RunIdentity.metadataKey] = runID
        state.counters["epoch"] = Int64(epoch)
        state.words["seed"] = [config.seed]
        state.words["data_fingerprint"] = [engine.dataset.fingerprint()]
        let shape = [net.config.layers, config.training.batchSize, net.config.hiddenSize]
        if let hidden { state.tensors["carried.hidden"] = StoredTensor(shape: shape, values: hidden) }
        if let cell { state.tensors["carried.cell"] = StoredTensor(shape: shape, values: cell) }
        // Readers that look for the best checkpoint (TrainedModel.locate, older Recur) read these.
        if let best = progress.best, let name = progress.bestCheckpointName {
            state.metadata["best_checkpoint"] = name; state.metadata["best_loss"] = "\(best.value)"
        }
        let checkpoint = Checkpoint(model: ModelCheckpoint(config: net.config, layout: net.layout, parameters: engine.parameters.array,
                                                           metadata: meta), state: state)
        let dir = runDirectory.appendingPathComponent("checkpoints")
        try checkpoint.write(to: dir.appendingPathComponent(Checkpoint.directoryName(step: progress.step)))
        try pruneCheckpoints(in: dir, keepLast: config.training.keepCheckpoints, keep: progress.bestCheckpointName)
    }

    /// Writes the parameters as raw little-endian float32 in layout order (tests compare runs by them).
    public func writeParameters(to path: String) throws {
        let bytes = UnsafeRawBufferPointer(start: engine.parameters.base, count: engine.parameters.count * MemoryLayout<Float>.size)
        try writeAtomically(Array(bytes), to: URL(fileURLWithPath: path))
    }

    // MARK: Running

    /// Trains to the end. Rank 0 creates the run directory first (only now: every check passed).
    /// - Throws: `StoppedBySignal` after a signal's checkpoint (Note [Stopping on a signal]),
    ///   `TrainingError` and I/O errors.
    public func start() throws {
        if comm.rank == 0 {
            if lock == nil { lock = try RunDirectoryLock(runDirectory) }
            let m = engine.network.config
            var start = ProgressReporter.Event(kind: .start, step: run.progress.step, totalSteps: run.totalSteps,
                                               metrics: ["parameters": Double(engine.network.parameterCount),
                                                         "training_windows": Double(engine.dataset.windowCount(.train)),
                                                         "processes": Double(comm.size), "threads": Double(engine.threads)])
            start.labels = ["experiment": config.name, "run_dir": runDirectory.relativePath,
                            "model": "\(m.cell.rawValue) \(m.hiddenSize)×\(m.layers), \(engine.network.parameterCount) parameters",
                            "data": "\(engine.dataset.windowCount(.train)) training windows, \(run.totalSteps) steps",
                            "layout": "\(comm.size) process\(comm.size == 1 ? "" : "es") × \(engine.threads) thread\(engine.threads == 1 ? "" : "s")"
                                + (config.parallel.deterministic ? " (deterministic)" : "")
                                + (engine.overlapsExchange ? " (exchange overlapped with backward)" : "")]
            reporter.report(start); onEvent?(start)
            try openRunDirectory()
            if let warning = run.scheduleWarning { Console.error("recur: warning: \(warning)\n") }
            for note in engine.dataset.notes { reporter.note(note) }
        }
        run.observer = self
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
        if comm.rank == 0 {
            finishReport()
            try checkNothingLost()
        }
    }

    /// The summary line (and JSON event), then closes the metrics and event files.
    // Note [Lost records]
    // A metrics or event file that cannot be written (a full disk) does not stop training: the
    // checkpoints are what a run must not lose, and they fail loudly on their own. The first
    // failure of each file is said at once, and the run ends with exit status 1 naming it (after
    // its last checkpoint), so no lost record goes unnoticed with exit 0 — nor JSON events lost
    // from standard output (`--log-format json` to /dev/full or a closed pipe).

    /// Files the run could not write, with the first failure and its step.
    private var lost: [(path: String, problem: String, step: Int?)] = []

    private func recording(_ step: Int, _ write: () throws -> Void) {
        do { try write() } catch {
            let path = (error as? FileError)?.path ?? "?"
            guard !lost.contains(where: { $0.path == path }) else { return }
            lost.append((path, (error as? FileError)?.problem ?? "\(error)", step))
            Console.error("recur: warning: \(error) Training goes on; this file misses its records from step \(step) on.\n")
        }
    }

    /// Throws for the first record the run could not write (Note [Lost records]).
    private func checkNothingLost() throws {
        if let e = Console.outputFailure, !lost.contains(where: { $0.path == "standard output" }), reporter.options.format == .json {
            lost.append(("standard output", "cannot write the JSON events: \(e)", nil))
        }
        guard let first = lost.first else { return }
        throw FileError(path: first.path, first.step.map { "\(first.problem), from step \($0) on" } ?? first.problem,
                        remedy: "The checkpoints are complete (the last is of step \(run.progress.step)); free space or fix the file, then recur train --resume \(runDirectory.relativePath) continues.")
    }

    private func finishReport() {
        var metrics: [String: Double] = [:]
        var labels = ["run_dir": runDirectory.relativePath]
        let p = run.progress
        if let v = p.lastValidationLoss { metrics["validation_loss"] = v }
        if let b = p.bestValidationLoss { metrics["best_validation_loss"] = b.value; metrics["best_step"] = Double(b.step) }
        if let name = p.bestCheckpointName { labels["best_checkpoint"] = runDirectory.appendingPathComponent("checkpoints/\(name)").relativePath }
        if let b = run.validationBaseline { metrics["baseline_loss"] = b }
        if p.skippedSteps > 0 { metrics["skipped_steps"] = Double(p.skippedSteps) }
        if let why = p.stoppedEarly { labels["stopped_early"] = why }
        var summary = ProgressReporter.Event(kind: .summary, step: p.step, totalSteps: run.totalSteps, metrics: metrics)
        summary.labels = labels
        reporter.report(summary); onEvent?(summary)
        reporter.finish()
        metrics_close()
    }

    private func metrics_close() { self.metrics?.close(); tensorboard?.close() }

    private func openRunDirectory() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: runDirectory.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        let configFile = runDirectory.appendingPathComponent("config.yaml")
        let text = try config.storedForRun(at: runDirectory).yaml()
        if resumedFrom == nil || (try? RunIdentity.read(runDirectory)) == nil {
            try RunIdentity.write(runID, to: runDirectory)
        }
        if resumedFrom == nil {
            try writeAtomically(Array(text.utf8), to: configFile)
        } else if let stored = try? String(contentsOf: configFile, encoding: .utf8), stored != text {
            // Resume overrides (a longer run, another rate) are written down, so the directory
            // always describes what ran; the file they replace stays beside it.
            let kept = runDirectory.appendingPathComponent("config.before-step-\(run.progress.step).yaml")
            try writeAtomically(Array(stored.utf8), to: kept)
            try writeAtomically(Array(text.utf8), to: configFile)
            reporter.note("config.yaml updated with the resume's --set values; the previous one is \(kept.lastPathComponent)")
        }
        let k = resumedFrom == nil ? nil : run.progress.step
        metrics = try MetricsLog(path: runDirectory.appendingPathComponent("metrics.jsonl").path, truncatingAfterStep: k)
        tensorboard = try TensorBoardWriter(directory: runDirectory.path)
        // TensorBoard drops the points at and after a restart's step: the checkpoint's own step
        // belongs to the resumed run too, so the restart is marked one step later.
        if let k { try tensorboard?.markRestart(atStep: k + 1) }
        reporter.note("run directory \(runDirectory.relativePath)" + (resumedFrom.map { "; resuming from \($0.lastPathComponent)" } ?? ""))
    }

    /// Rank 0 shows the event and records it in metrics.jsonl and TensorBoard.
    public func run(_ run: TrainingRun, reported e: ProgressReporter.Event) {
        guard comm.rank == 0 else { return }
        reporter.report(e)
        onEvent?(e)
        if e.kind == .progress { return }   // the bar's, not a record
        recording(e.step) { try metrics?.append(e.fields) }
        let prefix = e.kind == .validation ? "validation" : "train"
        var scalars: [(String, Double)] = []
        if let l = e.loss { scalars.append(("\(prefix)/loss", l)) }
        if let lr = e.learningRate { scalars.append(("train/lr", lr)) }
        if let g = e.gradientNorm { scalars.append(("train/grad_norm", g)) }
        if let s = e.sequencesPerSecond { scalars.append(("train/seq_per_s", s)) }
        for (k, v) in e.metrics.sorted(by: { $0.key < $1.key }) { scalars.append(("\(prefix)/\(k)", v)) }
        recording(e.step) { for (tag, v) in scalars { try tensorboard?.add(tag: tag, value: v, step: e.step) } }
    }
}
