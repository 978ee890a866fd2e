// The epoch loop around the synchronized step: data order per (seed, epoch), learning-rate
// schedule, logging on rank 0, evaluation cadence and the non-finite guard. It never touches
// gradients itself (the Engine does) and never decides which replica gets which window.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RecurData
import RecurPlan
import RecurEngine
import RecurKernels
import RecurOptim
import RecurParallel

/// Errors a run can end with after it started (the data and config were fine).
public struct TrainingError: Error, CustomStringConvertible {
    public var description: String
}

/// What a run tells whoever watches it: the session records events and writes checkpoints; the
/// run never reaches into it, and it never reaches into the run (Note [Run progress]).
public protocol TrainingRunObserver: AnyObject {
    /// A logged step or an evaluation (every rank sees every event; rank 0 records them).
    func run(_ run: TrainingRun, reported event: ProgressReporter.Event)
    /// Save a checkpoint of the current parameters with `progress` (every rank calls it: it is
    /// collective). Called at the checkpoint cadence, at an evaluation that improved the best
    /// metric, on a stop and at the end.
    func run(_ run: TrainingRun, checkpoint progress: RunProgress, epoch: Int) throws
}

public final class TrainingRun {
    public let engine: Engine
    public let config: ExperimentConfig
    public let plan: BatchPlan
    /// The learning-rate schedule, its horizon the run's length unless the file gave one.
    public private(set) var schedule: LRSchedule
    /// Everything the run has counted (Note [Run progress]); a resume sets it with `restore`.
    public private(set) var progress = RunProgress()
    public weak var observer: TrainingRunObserver?
    /// The persistence baseline on the validation split (series only), computed once.
    public private(set) lazy var validationBaseline: Double? = engine.dataset.persistenceBaseline(.validation)
    private let started = MonotonicClock.seconds()
    private var elapsed: Double { MonotonicClock.seconds() - started }

    /// - Throws: `DataError` when the batch size and data cannot make a plan (e.g. drop_last
    ///   with fewer windows than one batch).
    public init(engine: Engine, config: ExperimentConfig) throws {
        self.engine = engine
        self.config = config
        let c = config
        self.schedule = config.training.schedule
        plan = try BatchPlan.training(engine.dataset, batchSize: c.training.batchSize, shuffle: c.data.shuffle,
                                      seed: c.seed, dropLast: c.data.dropLast)
        let (total, overflow) = (c.training.epochs ?? 0).multipliedReportingOverflow(by: updatesPerEpoch)
        if c.training.steps == nil && (overflow || total > ExperimentSchema.maxSteps) {
            throw ConfigError(file: "experiment", line: nil, key: "training.epochs",
                              message: "\(c.training.epochs!) epochs of \(updatesPerEpoch) updates each are more than the \(ExperimentSchema.maxSteps) steps a run may make; lower training.epochs")
        }
        try resolveSchedule()
        if config.training.plateau != nil { progress.plateau = PlateauState(learningRate: config.training.optimizer.lr) }
    }

    /// Continues from a checkpoint's record: every counter as it was saved.
    public func restore(_ saved: RunProgress) {
        let plateau = progress.plateau
        progress = saved
        progress.lastCheckpointStep = saved.step
        // A run resumed onto a plateau schedule keeps its own state only when it had one.
        if progress.plateau == nil { progress.plateau = plateau }
        if config.training.plateau == nil { progress.plateau = nil }
    }

    /// Puts the run's length into a cosine schedule whose file gave no total_steps.
    /// - Throws: `ConfigError` when the warm-up is longer than the run.
    func resolveSchedule() throws {
        guard case let .cosine(warmup, _, minLR) = schedule, config.training.scheduleHorizon == nil else { return }
        guard warmup <= totalSteps else {
            throw ConfigError(file: "experiment", line: nil, key: "training.schedule.warmup_steps",
                              message: "\(warmup) warm-up steps are more than the run's \(totalSteps) steps; lower warmup_steps or train longer")
        }
        schedule = .cosine(warmupSteps: warmup, totalSteps: max(totalSteps, 1), minLR: minLR)
    }

    /// A warning when a given schedule horizon is not the run's length, else nil.
    public var scheduleWarning: String? {
        guard let given = config.training.scheduleHorizon, given != totalSteps else { return nil }
        return "training.schedule.total_steps is \(given) but the run is \(totalSteps) steps, so the cosine \(given > totalSteps ? "stops before reaching min_lr" : "stays at min_lr for the last \(totalSteps - given) steps"); remove total_steps to follow the run's length"
    }

    /// Optimizer updates per epoch: each adds up `training.accumulate` batches (the last of an
    /// epoch may add fewer).
    public var updatesPerEpoch: Int {
        let k = config.training.accumulate
        return (plan.stepsPerEpoch + k - 1) / k
    }

    /// Total optimizer updates this run makes.
    public var totalSteps: Int {
        let t = config.training
        return t.steps ?? (t.epochs! * updatesPerEpoch)
    }

    /// Trains to `totalSteps`, evaluating and reporting on the way.
    /// - Throws: `TrainingError` when the loss turns non-finite under `on_nonfinite: stop`.
    public func run() throws {
        let c = config.training
        let total = totalSteps
        var epoch = progress.step / updatesPerEpoch
        let k = c.accumulate
        let stateful = plan.isStateful
        let drill = FailureDrill.fromEnvironment   // a test hook; nil in normal runs
        while progress.step < total {
            let order = plan.order(epoch: epoch)
            let first = progress.step - epoch * updatesPerEpoch
            // Streams start from zeros each epoch; a run resumed mid-epoch keeps its restored state.
            if stateful && first == 0 { engine.resetCarriedState() }
            for u in first..<updatesPerEpoch where progress.step < total {
                let step = progress.step
                let batches = (u * k)..<min((u + 1) * k, plan.stepsPerEpoch)
                try drill?.check(nextStep: step + 1, rank: engine.comm.rank)
                let lr = progress.plateau.map { Float($0.learningRate) } ?? schedule.learningRate(baseLR: Float(c.optimizer.lr), step: step)
                ExchangeDeadline.setStep(step + 1)
                let started = MonotonicClock.seconds()
                let r = engine.step(order, batches: batches, learningRate: lr, stepIndex: step, stopRequested: StopRequest.signal != nil)
                let seconds = MonotonicClock.seconds() - started
                try checkFinite(r)
                progress.step += 1
                // Every step moves the bar; every log_every-th is logged (metrics.jsonl, lines, JSON).
                let logged = progress.step % c.logEvery == 0 || progress.step == total || progress.step == 1
                report(ProgressReporter.Event(kind: logged ? .train : .progress, step: progress.step, totalSteps: total, epoch: epoch + 1,
                                              loss: r.loss, learningRate: Double(lr), gradientNorm: r.gradientNorm,
                                              sequencesPerSecond: Double(r.windows) / seconds,
                                              tokensPerSecond: Double(r.steps ?? r.windows * engine.dataset.seqLen) / seconds,
                                              elapsedSeconds: elapsed))
                let endOfEpoch = u == updatesPerEpoch - 1
                var improved = false
                if !r.stopRequested && ((c.evalEvery > 0 && progress.step % c.evalEvery == 0) || (c.evalEvery == 0 && endOfEpoch)
                                        || progress.step == total) {
                    improved = validate(epoch: epoch, total: total)
                }
                if (c.checkpointEvery > 0 && progress.step % c.checkpointEvery == 0) || (c.checkpointEvery == 0 && endOfEpoch)
                    || progress.step == total || r.stopRequested || progress.stoppedEarly != nil || improved {
                    try observer?.run(self, checkpoint: progress, epoch: epoch)
                    progress.lastCheckpointStep = progress.step
                }
                if r.stopRequested && progress.step < total {
                    throw StoppedBySignal(signal: StopRequest.signal ?? SIGTERM, step: progress.step, totalSteps: total)
                }
                if progress.stoppedEarly != nil { return }
            }
            epoch += 1
        }
    }

    private func report(_ event: ProgressReporter.Event) { observer?.run(self, reported: event) }

    /// The non-finite guard: a step whose loss or gradient is not finite was not applied
    /// (Engine.step); it stops the run, or is counted and skipped (on_nonfinite: skip).
    private func checkFinite(_ r: StepResult) throws {
        let c = config.training, step = progress.step
        var kept: String { progress.lastCheckpointStep.map { "the checkpoint of step \($0) is intact" } ?? "no checkpoint was written yet" }
        if !r.loss.isFinite || !r.gradientNorm.isFinite {
            let fixes = "lower training.optimizer.lr or training.clip.norm, or check the data for extreme values"
            if c.onNonFinite == .stop {
                throw TrainingError(description: "step \(step + 1): the training loss is \(r.loss) and the gradient norm \(r.gradientNorm); stopped before applying it, \(kept) (\(fixes), or set training.on_nonfinite: skip)")
            }
            progress.skippedSteps += 1
            progress.consecutiveSkips += 1
            let n = progress.consecutiveSkips
            if n >= c.maxConsecutiveSkips {
                throw TrainingError(description: "steps \(step + 2 - n)–\(step + 1): \(n) steps in a row had a non-finite loss or gradient and were skipped (training.max_consecutive_skips); stopped, \(kept) (\(fixes))")
            }
        } else {
            progress.consecutiveSkips = 0
        }
        if !r.parametersFinite {
            throw TrainingError(description: "step \(step + 1): the update made parameters non-finite (the learning rate is too large for these gradients); stopped without saving it, \(kept) (lower training.optimizer.lr, or set training.clip.norm)")
        }
    }

    // Note [Best means evaluated]
    // The best checkpoint is the model that was evaluated: an evaluation that improves the
    // monitored metric (the validation loss, or the accuracy when early stopping watches it)
    // saves a checkpoint at that very step, as Lightning's ModelCheckpoint does, and pruning
    // keeps it. So the summary, `recur eval RUN` and `recur plot` name the same step and value;
    // a best chosen at the next checkpoint could be a later, never evaluated model.

    /// Evaluates on the validation split, reports it and updates the watches.
    /// - Returns: whether the monitored metric improved (the caller saves this model as the best).
    func validate(epoch: Int, total: Int) -> Bool {
        guard engine.dataset.windowCount(.validation) > 0 else { return false }
        let v = engine.evaluate(.validation)
        var metrics: [String: Double] = [:]
        if engine.dataset.targetKind.isIntegral && v.targets > 0 { metrics["accuracy"] = Double(v.correct) / Double(v.targets) }
        if let b = validationBaseline { metrics["baseline_loss"] = b }
        let step = progress.step
        progress.lastValidationLoss = v.loss
        if v.loss.isFinite, progress.bestValidationLoss.map({ v.loss < $0.value }) ?? true {
            progress.bestValidationLoss = ScoredStep(value: v.loss, step: step)
        }
        report(ProgressReporter.Event(kind: .validation, step: step, totalSteps: total, epoch: epoch + 1, loss: v.loss,
                                      metrics: metrics, elapsedSeconds: elapsed))
        if let s = config.training.plateau, v.loss.isFinite { progress.plateau?.observe(v.loss, s) }
        if let e = config.training.earlyStopping, step < total {
            let value = e.metric == .validationLoss ? v.loss : metrics["accuracy"] ?? .nan
            watch(value, e)
        }
        let monitored = config.training.earlyStopping?.metric == .validationAccuracy ? metrics["accuracy"].map { -$0 } : v.loss
        guard let monitored, monitored.isFinite, progress.best.map({ monitored < $0.value }) ?? true else { return false }
        progress.best = ScoredStep(value: monitored, step: step)
        return true
    }

    /// Early stopping: counts evaluations since the metric last improved by more than min_delta.
    private func watch(_ value: Double, _ e: EarlyStopping) {
        guard value.isFinite else { return }
        let improved = progress.earlyStopping.map { e.metric.maximises ? value > $0.best + e.minDelta : value < $0.best - e.minDelta } ?? true
        if improved {
            progress.earlyStopping = .init(best: value, step: progress.step, since: 0)
        } else {
            progress.earlyStopping!.since += 1
        }
        if let m = progress.earlyStopping, m.since >= e.patience {
            progress.stoppedEarly = "\(e.metric.rawValue) did not improve by more than \(e.minDelta) for \(e.patience) evaluation\(e.patience == 1 ? "" : "s") (best \(formatValue(m.best)) at step \(m.step))"
        }
    }
}
