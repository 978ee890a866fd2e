// The epoch loop around the synchronized step: data order per (seed, epoch), learning-rate
// schedule, logging on rank 0, evaluation cadence and the non-finite guard. It never touches
// gradients itself (the Engine does) and never decides which replica gets which window.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RecurData
import RecurEngine
import RecurKernels
import RecurOptim
import RecurParallel

/// Errors a run can end with after it started (the data and config were fine).
public struct TrainingError: Error, CustomStringConvertible {
    public var description: String
}

public final class TrainingRun {
    public let engine: Engine
    public let config: ExperimentConfig
    public let plan: BatchPlan
    /// The learning-rate schedule, its horizon the run's length unless the file gave one.
    public private(set) var schedule: LRSchedule
    public var onEvent: (ProgressReporter.Event) -> Void = { _ in }
    /// Called on every rank at the checkpoint cadence and at the end, after the update of `step`.
    public var onCheckpoint: (_ step: Int, _ epoch: Int) throws -> Void = { _, _ in }
    /// Optimizer updates done so far (also the step index of the next update).
    public var step = 0
    public private(set) var lastValidation: StepResult?
    /// Steps whose loss was not finite and whose update was skipped (on_nonfinite: skip).
    public private(set) var skippedSteps = 0
    /// Skipped steps in a row, up to the last step.
    private var consecutiveSkips = 0
    /// The step of the last checkpoint written or resumed from, if any.
    public var lastCheckpointStep: Int?
    /// The plateau schedule's state (schedule.kind: plateau); checkpoints keep it.
    public var plateau: PlateauState?
    /// Early stopping's best value of its metric, that evaluation's step, and evaluations since.
    public var monitor: (best: Double, step: Int, since: Int)?
    /// Why the run ended before its length (early stopping), if it did.
    public private(set) var stoppedEarly: String?
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
        try resolveSchedule()
        if config.training.plateau != nil { plateau = PlateauState(learningRate: config.training.optimizer.lr) }
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
        var epoch = step / updatesPerEpoch
        let k = c.accumulate
        let stateful = plan.isStateful
        let drill = FailureDrill.fromEnvironment   // a test hook; nil in normal runs
        while step < total {
            let order = plan.order(epoch: epoch)
            let first = step - epoch * updatesPerEpoch
            // Streams start from zeros each epoch; a run resumed mid-epoch keeps its restored state.
            if stateful && first == 0 { engine.resetCarriedState() }
            for u in first..<updatesPerEpoch where step < total {
                let batches = (u * k)..<min((u + 1) * k, plan.stepsPerEpoch)
                try drill?.check(nextStep: step + 1, rank: engine.comm.rank)
                let lr = plateau.map { Float($0.learningRate) } ?? schedule.learningRate(baseLR: Float(c.optimizer.lr), step: step)
                ExchangeDeadline.setStep(step + 1)
                let started = MonotonicClock.seconds()
                let r = engine.step(order, batches: batches, learningRate: lr, stepIndex: step, stopRequested: StopRequest.signal != nil)
                let seconds = MonotonicClock.seconds() - started
                if !r.loss.isFinite || !r.gradientNorm.isFinite {
                    // The update was not applied (Engine.step), so parameters and checkpoints stay good.
                    let kept = lastCheckpointStep.map { "the checkpoint of step \($0) is intact" } ?? "no checkpoint was written yet"
                    let fixes = "lower training.optimizer.lr or training.clip.norm, or check the data for extreme values"
                    if c.onNonFinite == .stop {
                        throw TrainingError(description: "step \(step + 1): the training loss is \(r.loss) and the gradient norm \(r.gradientNorm); stopped before applying it, \(kept) (\(fixes), or set training.on_nonfinite: skip)")
                    }
                    skippedSteps += 1
                    consecutiveSkips += 1
                    if consecutiveSkips >= c.maxConsecutiveSkips {
                        throw TrainingError(description: "steps \(step + 2 - consecutiveSkips)–\(step + 1): \(consecutiveSkips) steps in a row had a non-finite loss or gradient and were skipped (training.max_consecutive_skips); stopped, \(kept) (\(fixes))")
                    }
                } else {
                    consecutiveSkips = 0
                }
                if !r.parametersFinite {
                    let kept = lastCheckpointStep.map { "the checkpoint of step \($0) is intact" } ?? "no checkpoint was written yet"
                    throw TrainingError(description: "step \(step + 1): the update made parameters non-finite (the learning rate is too large for these gradients); stopped without saving it, \(kept) (lower training.optimizer.lr, or set training.clip.norm)")
                }
                step += 1
                if step % c.logEvery == 0 || step == total || step == 1 {
                    onEvent(ProgressReporter.Event(kind: .train, step: step, totalSteps: total, epoch: epoch + 1, loss: r.loss,
                                                   learningRate: Double(lr), gradientNorm: r.gradientNorm,
                                                   sequencesPerSecond: Double(r.windows) / seconds,
                                                   tokensPerSecond: Double(r.steps ?? r.windows * engine.dataset.seqLen) / seconds,
                                                   elapsedSeconds: elapsed))
                }
                let endOfEpoch = u == updatesPerEpoch - 1
                if !r.stopRequested && ((c.evalEvery > 0 && step % c.evalEvery == 0) || (c.evalEvery == 0 && endOfEpoch) || step == total) {
                    validate(epoch: epoch, total: total)
                }
                if (c.checkpointEvery > 0 && step % c.checkpointEvery == 0) || (c.checkpointEvery == 0 && endOfEpoch) || step == total
                    || r.stopRequested || stoppedEarly != nil {
                    try onCheckpoint(step, epoch)
                    lastCheckpointStep = step
                }
                if r.stopRequested && step < total {
                    throw StoppedBySignal(signal: StopRequest.signal ?? SIGTERM, step: step, totalSteps: total)
                }
                if stoppedEarly != nil { return }
            }
            epoch += 1
        }
    }

    func validate(epoch: Int, total: Int) {
        guard engine.dataset.windowCount(.validation) > 0 else { return }
        let v = engine.evaluate(.validation)
        lastValidation = v
        var metrics: [String: Double] = [:]
        if engine.dataset.targetKind.isIntegral && v.targets > 0 { metrics["accuracy"] = Double(v.correct) / Double(v.targets) }
        if let b = validationBaseline { metrics["baseline_loss"] = b }
        onEvent(ProgressReporter.Event(kind: .validation, step: step, totalSteps: total, epoch: epoch + 1, loss: v.loss,
                                       metrics: metrics, elapsedSeconds: elapsed))
        if let s = config.training.plateau, v.loss.isFinite { plateau?.observe(v.loss, s) }
        if let e = config.training.earlyStopping, step < total {
            let value = e.metric == .validationLoss ? v.loss : metrics["accuracy"] ?? .nan
            watch(value, e)
        }
    }

    /// Early stopping: counts evaluations since the metric last improved by more than min_delta.
    private func watch(_ value: Double, _ e: EarlyStopping) {
        guard value.isFinite else { return }
        let improved = monitor.map { e.metric.maximises ? value > $0.best + e.minDelta : value < $0.best - e.minDelta } ?? true
        if improved { monitor = (value, step, 0) } else { monitor!.since += 1 }
        if let m = monitor, m.since >= e.patience {
            stoppedEarly = "\(e.metric.rawValue) did not improve by more than \(e.minDelta) for \(e.patience) evaluation\(e.patience == 1 ? "" : "s") (best \(formatValue(m.best)) at step \(m.step))"
        }
    }
}
