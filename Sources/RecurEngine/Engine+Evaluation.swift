// Evaluation passes over a split with the training replicas (no dropout, no update), and what
// they hand to callers: the reduced loss, or each batch's outputs and targets per replica, so
// metrics are computed outside the engine without reaching into replicas or workspaces.

import RecurData
import RecurPlan
import RecurKernels
import RecurModel

/// One replica's share of an evaluation batch: the head's outputs and the targets they are
/// scored against, valid until the next batch runs.
public struct ReplicaOutputs {
    /// Output rows (T·b every step, b last step) of `outputSize` values each.
    public let rows: Int
    public let outputSize: Int
    public let outputs: UnsafePointer<Float>
    /// Class or token ids, one per row (cross-entropy tasks).
    public let targetTokens: UnsafePointer<Int32>?
    /// Values laid out like `outputs` (regression tasks).
    public let targetValues: UnsafePointer<Float>?
    /// Windows in the batch (b); every-step rows are time-major, row t·b + j.
    public let windows: Int
    /// Each window's steps, for data of variable lengths (rows past them are padding).
    public let lengths: UnsafePointer<Int32>?
    /// The split's window index of each of the batch's windows, in batch order.
    public let windowIndices: WindowList?
}

extension Engine {
    /// Loss and accuracy over every window of `split` exactly once (no dropout, no update):
    /// batches of the configured size in stored order, or for stateful data every stream
    /// advanced together from a zero state. Collective.
    public func evaluate(_ split: DataSplit) -> StepResult {
        guard let plan = try? BatchPlan.evaluation(dataset, split: split, batchSize: config.batchSize),
              plan.stepsPerEpoch > 0 else {
            return StepResult(loss: .nan, gradientNorm: 0, targets: 0, windows: 0, correct: 0)
        }
        var perReplica = [LossSums](repeating: LossSums(), count: replicas.count)
        let pass = evaluationPass(plan, split: split, perReplica: &perReplica)
        // Note [Layout-invariant steps]: with micro-shards, one slot each, folded in order.
        let t = exchange.reduceEvaluation((pass.loss, pass.correct), perReplica: perReplica)
        return StepResult(loss: t.loss / pass.targets, gradientNorm: 0, targets: Int(pass.targets), windows: plan.windowCount,
                          correct: Int(t.correct))
    }

    /// Runs every batch of an evaluation plan once (streams from zero state when stateful) and
    /// returns this rank's loss and hit sums with the global target count; `afterBatch` sees
    /// each replica's outputs of the batch before the next overwrites them. Callers reduce the sums.
    public func evaluationPass(_ plan: BatchPlan, split: DataSplit,
                               afterBatch: (ReplicaOutputs) -> Void = { _ in }) -> (loss: Double, correct: Double, targets: Double) {
        var perReplica = [LossSums](repeating: LossSums(), count: replicas.count)
        return evaluationPass(plan, split: split, perReplica: &perReplica, afterBatch: afterBatch)
    }

    /// The pass, also summing each replica's loss over the batches (in batch order).
    func evaluationPass(_ plan: BatchPlan, split: DataSplit, perReplica: inout [LossSums],
                        afterBatch: (ReplicaOutputs) -> Void = { _ in }) -> (loss: Double, correct: Double, targets: Double) {
        if plan.isStateful { replicas.forEach { $0.resetCarriedState(slot: 1) } }
        let order = plan.order(epoch: 0)
        var loss = 0.0, correct = 0.0, targets = 0.0
        for s in 0..<plan.stepsPerEpoch {
            let (local, normalizer) = runReplicas(order, step: s, split: split, train: false, dropoutSeed: nil,
                                                  stateful: plan.isStateful)
            loss += local.loss; correct += Double(local.correct); targets += normalizer
            for (i, r) in replicas.enumerated() {
                perReplica[i].loss += r.sums.loss; perReplica[i].correct += r.sums.correct; perReplica[i].count += r.sums.count
            }
            for r in replicas where r.lastCount > 0 {
                let ws = r.workspace
                afterBatch(ReplicaOutputs(rows: ws.outputRows, outputSize: ws.network.config.outputSize,
                                          outputs: UnsafePointer(ws.outputs.base),
                                          targetTokens: r.batch.targetTokens.map { UnsafePointer($0.base) },
                                          targetValues: r.batch.targetValues.map { UnsafePointer($0.base) },
                                          windows: r.lastCount, lengths: r.batch.lengths.map { UnsafePointer($0.base) },
                                          windowIndices: r.lastWindows))
            }
        }
        return (loss, correct, targets)
    }
}
