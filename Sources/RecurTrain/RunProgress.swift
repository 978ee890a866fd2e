// Note [Run progress]
// Everything a training run has counted — updates done, the last checkpoint, skipped steps (in
// all and in a row), the plateau schedule, early stopping's watch, the last and best evaluations
// and the best checkpoint — is one value, `RunProgress`, owned by the run loop (TrainingRun). A
// checkpoint saves it whole, as JSON in the training state's metadata (`run_progress`), and a
// resume restores it in one call, so no counter restarts on resume (max_consecutive_skips once
// did). Checkpoints written before this record (six comma-joined metadata strings and a `step`
// counter) are read through `init(legacy:)`. The parameters, optimizer moments, data position
// and carried state are not in it: they are the checkpoint's tensors.

import Foundation
import RecurOptim
import RecurStore

/// A value seen at a step (an evaluation's metric, say).
public struct ScoredStep: Codable, Equatable, Sendable {
    public var value: Double
    public var step: Int
    public init(value: Double, step: Int) { self.value = value; self.step = step }
}

/// The run loop's counters and watches, saved whole in every checkpoint (Note [Run progress]).
public struct RunProgress: Codable, Equatable, Sendable {
    /// Optimizer updates done so far (also the index of the next update).
    public var step = 0
    /// The step of the last checkpoint written or resumed from.
    public var lastCheckpointStep: Int?
    /// Steps whose loss or gradient was not finite and whose update was skipped (on_nonfinite: skip).
    public var skippedSteps = 0
    /// Of those, how many in a row up to the last step.
    public var consecutiveSkips = 0
    /// The plateau schedule's state (schedule.kind: plateau).
    public var plateau: PlateauState?
    /// Early stopping: its metric's best value and step, and evaluations since it improved.
    public var earlyStopping: EarlyStoppingWatch?
    /// Why the run ended before its length, if it did.
    public var stoppedEarly: String?
    /// The last evaluation's validation loss.
    public var lastValidationLoss: Double?
    /// The lowest validation loss of any evaluation, and its step.
    public var bestValidationLoss: ScoredStep?
    /// The best value of the monitored metric (lower is better: the loss, or minus the accuracy
    /// when early stopping watches accuracy) and its step; that step's checkpoint is the best one,
    /// saved at that evaluation (Note [Best means evaluated]).
    public var best: ScoredStep?

    /// Early stopping's state.
    public struct EarlyStoppingWatch: Codable, Equatable, Sendable {
        public var best: Double
        public var step: Int
        public var since: Int
    }

    public init() {}

    /// The checkpoint directory name of the best checkpoint, if there is one.
    public var bestCheckpointName: String? { best.map { Checkpoint.directoryName(step: $0.step) } }

    // MARK: Stored form

    /// The training-state metadata key that holds the record.
    public static let metadataKey = "run_progress"

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    private static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// Puts the record into a checkpoint's training state (and the `step` counter, which tools
    /// and older readers look at).
    public func save(into state: inout TrainingState) {
        state.metadata[Self.metadataKey] = String(decoding: try! Self.encoder.encode(self), as: UTF8.self)
        state.counters["step"] = Int64(step)
    }

    /// The record a checkpoint's training state holds.
    /// - Throws: `CheckpointError` (`.badContent`) when the record is there but unreadable.
    public init(from state: TrainingState, path: String) throws {
        guard let text = state.metadata[Self.metadataKey] else { self.init(legacy: state); return }
        do {
            self = try Self.decoder.decode(RunProgress.self, from: Data(text.utf8))
        } catch {
            throw CheckpointError(.badContent, path: path, "its '\(Self.metadataKey)' record cannot be read (\(error))")
        }
    }

    /// A checkpoint written before the record: a `step` counter and comma-joined strings.
    init(legacy state: TrainingState) {
        step = Int(state.counters["step"] ?? 0)
        lastCheckpointStep = step
        func numbers(_ key: String) -> [Double]? { state.metadata[key].map { $0.split(separator: ",").compactMap { Double($0) } } }
        if let v = numbers("plateau_state") { plateau = PlateauState(values: v) }
        if let v = numbers("early_stopping_state"), v.count == 3 { earlyStopping = .init(best: v[0], step: Int(v[1]), since: Int(v[2])) }
        if let v = numbers("best_evaluation"), v.count == 2 { bestValidationLoss = ScoredStep(value: v[0], step: Int(v[1])) }
        lastValidationLoss = state.metadata["validation_loss"].flatMap(Double.init)
        if let name = state.metadata["best_checkpoint"], let s = Checkpoint.step(ofDirectoryName: name),
           let value = state.metadata["best_loss"].flatMap(Double.init) {
            best = ScoredStep(value: value, step: s)
        }
    }
}
