// The synchronized training step of ARCHITECTURE.md: every replica of every rank runs its
// contiguous share of the global batch; gradients are summed over threads (fixed order), then
// over ranks (bucketed allreduce), clipped by global norm and applied by one optimizer update
// that is identical everywhere. One process with one thread is the same code with sizes 1.
// Logging, checkpoints and the epoch loop live in TrainingRun; this file is the step.

import Foundation
import RecurData
import RecurKernels
import RecurModel
import RecurOptim
import RecurParallel

/// What one synchronized step or evaluation produced, reduced over all replicas and ranks.
public struct StepResult: Sendable {
    /// Σ loss / global normalizer.
    public var loss: Double
    /// Global gradient norm before clipping (0 for evaluation).
    public var gradientNorm: Double
    /// Targets and windows counted across all replicas.
    public var targets: Int
    public var windows: Int
    /// Arg-max hits (cross-entropy only).
    public var correct: Int
}

/// Where the last synchronized step spent its time (seconds, monotonic clock), for `recur bench`.
public struct StepPhases: Sendable, Equatable {
    /// Forward, loss and backward of every replica (the slowest one, as the threads are joined).
    public var replicas: Double = 0
    /// Summing the replicas' gradient buffers into replica 0's.
    public var threadReduction: Double = 0
    /// Waiting at a barrier for the slowest rank before the allreduce; only when
    /// `separatesRankWait` is on (`recur bench`), else 0 and the wait is inside `allreduce`.
    public var rankWait: Double = 0
    /// Gradient allreduce over ranks plus the loss-sum allreduce.
    public var allreduce: Double = 0
    /// Norm, clipping and the optimizer update.
    public var update: Double = 0
    public init() {}
}

public final class Trainer {
    public let config: ExperimentConfig
    public let comm: Communicator
    public let dataset: any WindowedDataset
    public let network: RecurrentNetwork
    public let parameters: FloatBuffer
    public let optimizer: Optimizer
    public let threads: Int
    let replicas: [Replica]
    let gradientBuffers: [FloatBuffer]
    let threadSum: GradientThreadSum
    /// The parallel region in flight (see `runReplicas`).
    var region: ReplicaRegion?
    /// Previous-value baselines per split (the data never changes during a run).
    private var baselines: [DataSplit: Double?] = [:]
    /// Loss sum, hits and count of a step, reduced across ranks (kept to avoid allocating per step).
    private var totals = [Double](repeating: 0, count: 3)
    let allreduce: GradientAllreduce
    /// Replica (thread) capacity: the most windows one replica can get in a step.
    let capacity: Int
    /// Phase times of the last `step`.
    public private(set) var lastStepPhases = StepPhases()
    /// When on (and there are several ranks), each step meets at a barrier before the allreduce,
    /// so that `lastStepPhases.allreduce` times the exchange alone and `rankWait` the imbalance
    /// between ranks. `recur bench` turns it on; training leaves it off (one latency less).
    public var separatesRankWait = false

    /// Builds the model for `dataset`, initialises parameters from the seed and builds the
    /// replicas. Nothing crosses ranks here: agree first, then `broadcastInitialState`
    /// (Note [Agree, then broadcast] in StartupAgreement.swift).
    public init(config: ExperimentConfig, dataset: any WindowedDataset, comm: Communicator, threads: Int) throws {
        self.config = config
        self.comm = comm
        self.dataset = dataset
        self.threads = threads
        network = try RecurrentNetwork(Self.modelConfig(config, dataset))
        parameters = FloatBuffer(count: network.parameterCount)
        network.initializeParameters(parameters.base, seed: config.seed)
        optimizer = Optimizer(config: config.training.optimizer, parameterCount: network.parameterCount)
        capacity = Shard.maxShardSize(config.training.batchSize, rankCount: comm.size, threadCount: threads)
        let network = self.network, capacity = self.capacity
        replicas = (0..<threads).map { _ in Replica(network: network, dataset: dataset, capacity: capacity) }
        gradientBuffers = replicas.map(\.gradients)
        threadSum = GradientThreadSum(gradientBuffers, threads: threads)
        allreduce = GradientAllreduce(bucketSize: config.parallel.bucketSize)
        BLAS.useSingleThread()
    }

    /// Makes rank 0's parameters and optimizer state every rank's. Collective; call it only after
    /// the start-up agreement passed (Note [Agree, then broadcast]).
    public func broadcastInitialState() {
        comm.broadcast(parameters.base, count: parameters.count, root: 0)
        for (_, buffer) in optimizer.stateTensors { comm.broadcast(buffer.base, count: buffer.count, root: 0) }
    }

    /// The model a config and a data set call for: input and output sizes come from the data.
    public static func modelConfig(_ config: ExperimentConfig, _ dataset: any WindowedDataset) -> ModelConfig {
        let m = config.model
        let head: HeadMode = dataset.targetKind.isPerStep ? .everyStep : .lastStep
        return ModelConfig(cell: m.cell, hiddenSize: m.hiddenSize, layers: m.layers, dropout: Float(m.dropout),
                           nonlinearity: m.nonlinearity, gruReset: m.gruReset, input: m.input,
                           vocabularySize: dataset.vocabularySize, embeddingSize: m.embeddingSize,
                           featureCount: dataset.featureCount, outputSize: dataset.outputSize, head: head,
                           forgetBias: m.forgetBias)
    }

    /// Runs every replica over its shard of batch `step` of `order` (ARCHITECTURE.md §6: the
    /// loss is divided by the step's global target count, so shards of any size add up).
    func runReplicas(_ order: EpochOrder, step: Int, split: DataSplit, train: Bool, dropoutSeed: UInt64?,
                     stateful: Bool) -> (LossSums, normalizer: Double) {
        let normalizer = Double(order.plan.targetCount(step: step))
        region = ReplicaRegion(order: order, step: step, split: split, train: train, dropoutSeed: dropoutSeed,
                               stateful: stateful, normalizer: Float(normalizer))
        ReplicaGroup.run(threads, context: Unmanaged.passUnretained(self).toOpaque(), Self.replicaTask)
        var local = LossSums()
        for r in replicas { local.loss += r.sums.loss; local.correct += r.sums.correct; local.count += r.sums.count }
        return (local, normalizer)
    }

    /// What every replica of the current parallel region reads (set by the main thread before
    /// the region starts, read-only while it runs).
    struct ReplicaRegion {
        var order: EpochOrder
        var step: Int
        var split: DataSplit
        var train: Bool
        var dropoutSeed: UInt64?
        var stateful: Bool
        var normalizer: Float
    }

    private static let replicaTask: ReplicaTask = { context, t in
        let trainer = Unmanaged<Trainer>.fromOpaque(context).takeUnretainedValue()
        guard let r = trainer.region else { return }
        let shard = Shard(rank: trainer.comm.rank, rankCount: trainer.comm.size, thread: t, threadCount: trainer.threads)
        let windows = r.order.windows(step: r.step, shard: shard)
        trainer.replicas[t].run(parameters: UnsafePointer(trainer.parameters.base), dataset: trainer.dataset, split: r.split,
                                windows: windows, normalizer: r.normalizer, train: r.train, dropoutSeed: r.dropoutSeed,
                                firstSequence: windows.positions.lowerBound, stateful: r.stateful)
    }


    /// One synchronized optimizer step over batch `step` of the training split's `order`.
    /// - Parameters:
    ///   - learningRate: the scheduled rate for this update.
    ///   - stepIndex: the global update number (seeds this step's dropout masks).
    ///   - applyIfFinite: false to compute everything but leave parameters alone.
    /// - Returns: the reduced loss and norm; the update is skipped when either is not finite.
    public func step(_ order: EpochOrder, step: Int, learningRate: Float, stepIndex: Int,
                     applyIfFinite: Bool = true) -> StepResult {
        let dropoutSeed = config.model.dropout > 0 ? config.seed &+ UInt64(stepIndex) &* 0x9E37_79B9 : nil
        let t0 = MonotonicClock.seconds()
        let (local, normalizer) = runReplicas(order, step: step, split: .train, train: true, dropoutSeed: dropoutSeed,
                                              stateful: order.plan.isStateful)
        let t1 = MonotonicClock.seconds()
        // Threads: fixed-order sum into replica 0; ranks: bucketed allreduce.
        threadSum.run()
        let t2 = MonotonicClock.seconds()
        var t2w = t2
        if separatesRankWait && comm.size > 1 {
            comm.barrier()
            t2w = MonotonicClock.seconds()
        }
        let grads = replicas[0].gradients
        allreduce.reduce(grads, over: comm)
        totals[0] = local.loss; totals[1] = Double(local.correct); totals[2] = Double(local.count)
        comm.allreduceSum(&totals)
        let t3 = MonotonicClock.seconds()
        lastStepPhases = StepPhases()
        lastStepPhases.replicas = t1 - t0
        lastStepPhases.threadReduction = t2 - t1
        lastStepPhases.rankWait = t2w - t2
        lastStepPhases.allreduce = t3 - t2w
        defer { lastStepPhases.update = MonotonicClock.seconds() - t3 }

        let sumSq = Vec.sumOfSquares(grads.base, count: grads.count)
        let norm = sumSq.squareRoot()
        let result = StepResult(loss: totals[0] / normalizer, gradientNorm: norm, targets: Int(normalizer),
                                windows: order.plan.windowCount(step: step), correct: Int(totals[1]))
        guard applyIfFinite, result.loss.isFinite, norm.isFinite else { return result }
        if let maxNorm = config.training.clipNorm, maxNorm > 0 {
            clipGradientsByGlobalNorm(grads.base, count: grads.count, maxNorm: Float(maxNorm), sumOfSquares: sumSq)
        }
        if let limit = config.training.clipValue {
            clipGradientsByValue(grads.base, count: grads.count, limit: Float(limit))
        }
        optimizer.step(parameters: parameters.base, gradients: UnsafePointer(grads.base), count: grads.count,
                       learningRate: learningRate)
        return result
    }

    /// Loss and accuracy over every window of `split` exactly once (no dropout, no update):
    /// batches of the configured size in stored order, or for stateful data every stream
    /// advanced together from a zero state.
    public func evaluate(_ split: DataSplit) -> StepResult {
        guard let plan = try? BatchPlan.evaluation(dataset, split: split, batchSize: config.training.batchSize),
              plan.stepsPerEpoch > 0 else {
            return StepResult(loss: .nan, gradientNorm: 0, targets: 0, windows: 0, correct: 0)
        }
        let pass = evaluationPass(plan, split: split)
        var t = [pass.loss, pass.correct]
        comm.allreduceSum(&t)
        return StepResult(loss: t[0] / pass.targets, gradientNorm: 0, targets: Int(pass.targets), windows: plan.windowCount,
                          correct: Int(t[1]))
    }

    /// Runs every batch of an evaluation plan once (streams from zero state when stateful) and
    /// returns this rank's loss and hit sums with the global target count; `afterBatch` sees
    /// each batch's replicas before the next overwrites them. Callers reduce the sums.
    func evaluationPass(_ plan: BatchPlan, split: DataSplit,
                        afterBatch: () -> Void = {}) -> (loss: Double, correct: Double, targets: Double) {
        if plan.isStateful { replicas.forEach { $0.resetCarriedState(slot: 1) } }
        let order = plan.order(epoch: 0)
        var loss = 0.0, correct = 0.0, targets = 0.0
        for s in 0..<plan.stepsPerEpoch {
            let (local, normalizer) = runReplicas(order, step: s, split: split, train: false, dropoutSeed: nil,
                                                  stateful: plan.isStateful)
            loss += local.loss; correct += Double(local.correct); targets += normalizer
            afterBatch()
        }
        return (loss, correct, targets)
    }

}

extension Trainer {
    /// For series: the loss of predicting that every target equals its column's last input
    /// value ("previous value" persistence), over `split`, in the same units as the loss.
    /// nil when a target column is not among the inputs or the data is not a series.
    public func persistenceBaseline(_ split: DataSplit) -> Double? {
        if let cached = baselines[split] { return cached }
        let value = computePersistenceBaseline(split)
        baselines[split] = value
        return value
    }

    private func computePersistenceBaseline(_ split: DataSplit) -> Double? {
        guard let ds = dataset as? SeriesDataset else { return nil }
        let s = ds.series
        let inputOf = s.targetIndices.map { s.featureIndices.firstIndex(of: $0) }
        guard inputOf.allSatisfy({ $0 != nil }) else { return nil }
        let n = ds.windowCount(split)
        guard n > 0 else { return nil }
        let buffers = BatchBuffers(for: ds, capacity: 1)
        let L = ds.seqLen, F = ds.featureCount, O = s.targetIndices.count, K = ds.horizon
        let next = ds.targetKind == .nextValues
        var sum = 0.0, count = 0
        for w in 0..<n {
            ds.fill(split, windows: [w], into: buffers)
            let x = buffers.inputFeatures!.base, y = buffers.targetValues!.base
            for t in (next ? 0..<L : (L - 1)..<L) {
                let dst = (next ? t : 0) * K * O
                for h in 0..<K {
                    for o in 0..<O {
                        let d = Double(y[dst + h * O + o] - x[t * F + inputOf[o]!])
                        sum += d * d; count += 1
                    }
                }
            }
        }
        return sum / Double(count)
    }
}
