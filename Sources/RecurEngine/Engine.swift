// The synchronized training step of ARCHITECTURE.md: every replica of every rank runs its
// contiguous share of the global batch; gradients are summed over threads (fixed order), then
// over ranks (bucketed allreduce), clipped by global norm and applied by one optimizer update
// that is identical everywhere. One process with one thread is the same code with sizes 1.
// The epoch loop, logging and checkpoints live in RecurTrain and use this API only.

import CKernels
import RecurData
import RecurKernels
import RecurModel
import RecurOptim
import RecurParallel
#if canImport(Glibc)
import Glibc
#endif

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
    /// The windows' own steps summed, when windows differ in length (else windows × seq_len).
    public var steps: Int? = nil
    /// Whether any rank asked to stop after this step (a signal; Note [Stopping on a signal]).
    public var stopRequested = false
    /// False when the update left a parameter NaN or infinite (a finite gradient times too large
    /// a rate): the run must stop, and no checkpoint of it may be written.
    public var parametersFinite = true
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

public final class Engine {
    public let config: EngineConfig
    public let comm: Communicator
    public let dataset: any WindowedDataset
    public let network: RecurrentNetwork
    public let optimizer: Optimizer
    public var threads: Int { config.threads }
    /// The flat parameter buffer (layout `network.layout`); read it, or write it before
    /// `broadcastInitialState`.
    public let parameters: FloatBuffer
    /// One per thread; or, for layout-invariant steps, one per micro-shard this rank owns.
    let replicas: [Replica]
    let threadSum: GradientThreadSum
    let allreduce: GradientAllreduce
    /// Layout-invariant steps (Note [Layout-invariant steps]), when configured.
    let micro: MicroShardPlan?
    let fixedPoint: FixedPointSum?
    /// Per micro-shard loss, hits and count, then the stop flag (layout-invariant steps).
    var slots: [Double] = []
    /// The parallel region in flight (see `runReplicas`).
    var region: ReplicaRegion?
    /// Loss sum, hits, count and stop requests of a step, reduced across ranks (kept to avoid
    /// allocating per step).
    private var totals = [Double](repeating: 0, count: 4)
    /// Whether the start-up agreement passed (Note [Agree, then broadcast]).
    private(set) var agreed: Bool
    /// Per replica (one cache line apart), how many gradient groups its backward has finished
    /// in an overlapped step (Note [Overlapped exchange]); written by its worker, read here.
    let progress: UnsafeMutablePointer<Int>
    static let progressStride = 16
    let progressLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let progressChanged = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Gradient groups (`allreduce.bucketsByGroup.count`).
    let gradientGroups: Int
    /// Whether training steps exchange gradients while backward runs (Note [Overlapped exchange]).
    public var overlapsExchange: Bool {
        config.overlap && micro == nil && comm.size > 1 && comm.exchangesWhileComputing
            && network.parameterCount >= Self.smallestOverlappedModel
    }
    /// Models with fewer parameters never overlap: their exchange is a few latencies, and
    /// handing the step to the workers costs more than it hides (ts-gru, 22k parameters, 2
    /// processes on 2 cores: 0.90 ms a step after backward, 1.53 ms overlapped).
    public static let smallestOverlappedModel = 1 << 18
    /// Phase times of the last `step`.
    public private(set) var lastStepPhases = StepPhases()
    /// When on (and there are several ranks), each step meets at a barrier before the allreduce,
    /// so that `lastStepPhases.allreduce` times the exchange alone and `rankWait` the imbalance
    /// between ranks. `recur bench` turns it on; training leaves it off (one latency less).
    public var separatesRankWait = false

    /// Builds the model for `dataset`, initialises parameters from the seed and builds the
    /// replicas. Nothing crosses ranks here: `agree(on:)` first, then `broadcastInitialState`
    /// (Note [Agree, then broadcast] in StartupAgreement.swift).
    /// - Throws: `ModelConfigError` for a model out of range.
    public init(_ config: EngineConfig, dataset: any WindowedDataset, comm: Communicator) throws {
        precondition(config.threads >= 1 && config.batchSize >= 1, "Engine: threads and batch size must be positive")
        self.config = config
        self.comm = comm
        self.dataset = dataset
        network = try RecurrentNetwork(config.model)
        // No step of any split holds more windows than the split has (a batch larger than the data).
        let windows = max(dataset.windowCount(.train), dataset.windowCount(.validation), dataset.windowCount(.test))
        let perStep = min(config.batchSize, max(windows, 1))
        let plan = config.microShards.map { MicroShardPlan(shards: $0, batch: perStep, rank: comm.rank, ranks: comm.size, threads: config.threads) }
        micro = plan
        // Work-balanced parts of windows of different lengths may hold more than an even share.
        let parts = plan?.shards ?? comm.size * config.threads
        let capacity = dataset.hasVariableLengths ? BatchPlan.maxPartSize(batch: perStep, parts: parts)
            : plan?.capacity ?? Shard.maxShardSize(perStep, rankCount: comm.size, threadCount: config.threads)
        let replicaCount = plan?.owned.count ?? config.threads
        try Self.checkMemory(network: network, config: config, capacity: capacity, replicas: replicaCount, seqLen: dataset.seqLen)
        parameters = FloatBuffer(count: network.parameterCount)
        network.initializeParameters(parameters.base, seed: config.seed)
        optimizer = Optimizer(config: config.optimizer, parameterCount: network.parameterCount)
        let network = self.network
        let built = (0..<replicaCount).map { _ in Replica(network: network, dataset: dataset, capacity: capacity) }
        replicas = built
        threadSum = GradientThreadSum(plan == nil ? built.map(\.gradients) : [built.first?.gradients ?? FloatBuffer(count: network.parameterCount)],
                                      threads: config.threads)
        fixedPoint = plan.map { FixedPointSum(built.map(\.gradients), count: network.parameterCount, threads: config.threads, shards: $0.shards) }
        allreduce = GradientAllreduce(bucketSize: config.bucketSize, count: network.parameterCount,
                                      groups: network.gradientMilestones)
        gradientGroups = allreduce.bucketsByGroup.count
        pthread_mutex_init(progressLock, nil)
        pthread_cond_init(progressChanged, nil)
        progress = .allocate(capacity: Self.progressStride * max(replicaCount, 1))
        progress.initialize(repeating: 0, count: Self.progressStride * max(replicaCount, 1))
        agreed = comm.size == 1
        slots = [Double](repeating: 0, count: 3 * (plan?.shards ?? 0) + 1)
        BLAS.useSingleThread()
    }

    deinit {
        progress.deallocate()
        pthread_cond_destroy(progressChanged); progressChanged.deallocate()
        pthread_mutex_destroy(progressLock); progressLock.deallocate()
    }

    /// A replica's worker: `groups` gradient groups of its backward are final.
    func publishProgress(_ slot: UnsafeMutablePointer<Int>, _ groups: Int) {
        pthread_mutex_lock(progressLock)
        slot.pointee = groups
        pthread_cond_signal(progressChanged)
        pthread_mutex_unlock(progressLock)
    }

    /// Refuses a run that would allocate more than this process can get, before allocating
    /// (a failed allocation would end the process with a trap and no message).
    static func checkMemory(network: RecurrentNetwork, config: EngineConfig, capacity: Int, replicas count: Int,
                            seqLen: Int) throws {
        guard let available = ProcessMemory.available() else { return }
        let P = Double(network.parameterCount) * Double(MemoryLayout<Float>.stride)
        let replicas = Double(count) + (config.microShards == nil ? 0 : 3)   // + the fixed-point sum's buffers
        // Parameters, one gradient buffer per replica, up to three optimizer buffers, activations.
        let workspace = NetworkWorkspace.estimatedBytes(network: network, maxBatch: max(capacity, 1), maxSteps: seqLen)
        let need = P * (4 + replicas) + replicas * workspace
        guard need > available else { return }
        func gb(_ b: Double) -> String { b >= 1e9 ? String(format: "%.1f GB", b / 1e9) : String(format: "%.0f MB", b / 1e6) }
        throw ModelConfigError(key: replicas * workspace > P * (4 + replicas) ? "training.batch_size" : "model.hidden_size",
                               message: "this run needs about \(gb(need)) (\(network.parameterCount) parameters: \(gb(P * (4 + replicas))) with gradients and optimizer state; activations: \(gb(replicas * workspace))) but this process can get only \(gb(available)); lower model.hidden_size, model.layers, training.batch_size or data.seq_len, or use fewer threads")
    }

    // MARK: Start-up

    /// The start-up agreement (StartupAgreement.check) over what the engine itself must share
    /// with every rank — Recur build, kernel level, parameter layout — and the caller's items.
    /// Collective. - Throws: `AgreementError` on every rank when any rank differs.
    public func agree(on items: [AgreementItem]) throws {
        try StartupAgreement.check(StartupAgreement.buildItems() + [StartupAgreement.layoutItem(network.layout)] + items,
                                   comm: comm)
        agreed = true
    }

    /// Makes rank 0's parameters and optimizer state every rank's. Collective; only after
    /// `agree(on:)` passed (Note [Agree, then broadcast]).
    public func broadcastInitialState() {
        precondition(agreed, "broadcast before the start-up agreement (Note [Agree, then broadcast])")
        comm.broadcast(parameters.base, count: parameters.count, root: 0)
        for (_, buffer) in optimizer.stateTensors { comm.broadcast(buffer.base, count: buffer.count, root: 0) }
    }

    /// Replaces the parameters (a checkpoint or an imported model); sizes must match the layout.
    public func setParameters(_ values: [Float]) {
        precondition(values.count == parameters.count, "setParameters: \(values.count) values for \(parameters.count) parameters")
        values.withUnsafeBufferPointer { parameters.base.update(from: $0.baseAddress!, count: $0.count) }
    }

    // MARK: The step

    /// One synchronized optimizer step over batch `step` of the training split's `order`:
    /// replicas forward+backward, thread sum, allreduce, clip, update.
    /// - Parameters:
    ///   - learningRate: the scheduled rate for this update.
    ///   - stepIndex: the global update number (seeds this step's dropout masks).
    ///   - applyIfFinite: false to compute everything but leave parameters alone.
    ///   - stopRequested: this rank wants the run to stop after this step; every rank learns
    ///     whether any rank does in the result, with the loss sums.
    /// - Returns: the reduced loss and norm; the update is skipped when either is not finite.
    public func step(_ order: EpochOrder, step: Int, learningRate: Float, stepIndex: Int,
                     applyIfFinite: Bool = true, stopRequested: Bool = false) -> StepResult {
        self.step(order, batches: step..<(step + 1), learningRate: learningRate, stepIndex: stepIndex,
                  applyIfFinite: applyIfFinite, stopRequested: stopRequested)
    }

    /// One update over several batches of `order` (gradient accumulation): every batch's
    /// gradients are added up, and the loss is divided by the targets of all of them, so k
    /// batches of b windows make the update one batch of k·b would.
    public func step(_ order: EpochOrder, batches: Range<Int>, learningRate: Float, stepIndex: Int,
                     applyIfFinite: Bool = true, stopRequested: Bool = false) -> StepResult {
        precondition(!batches.isEmpty, "Engine.step: no batch")
        var clock = PhaseClock()
        let dropoutSeed = config.model.dropout > 0 ? config.seed &+ UInt64(stepIndex) &* 0x9E37_79B9 : nil
        let normalizer = Double(batches.reduce(0) { $0 + order.targetCount(step: $1) })
        let overlapped = overlapsExchange
        for b in batches {
            if overlapped && b == batches.upperBound - 1 { break }
            runReplicas(order, step: b, split: .train, train: true, dropoutSeed: dropoutSeed, stateful: order.plan.isStateful,
                        normalizer: normalizer, accumulate: b != batches.lowerBound)
        }
        let grads: FloatBuffer
        if overlapped {
            // Note [Overlapped exchange]: the last batch's backward runs on the workers while
            // this thread sums and exchanges each group of gradients as it is finished.
            let b = batches.upperBound - 1
            region = ReplicaRegion(order: order, step: b, split: .train, train: true, dropoutSeed: dropoutSeed,
                                   stateful: order.plan.isStateful, normalizer: Float(normalizer),
                                   accumulate: b != batches.lowerBound, reportsProgress: true)
            exchangeWhileComputing(clock: &clock)
            grads = replicas[0].gradients
            let local = localSums()
            totals[0] = local.loss; totals[1] = Double(local.correct); totals[2] = Double(local.count)
            totals[3] = stopRequested ? 1 : 0
            comm.allreduceSum(&totals)
        } else if let micro, let fixedPoint {
            lastStepPhases.replicas = clock.lap()
            // Note [Layout-invariant steps]: exact integer sums over threads and ranks.
            fixedPoint.prepare(over: comm)
            fixedPoint.convertAndSum()
            lastStepPhases.threadReduction = clock.lap()
            lastStepPhases.rankWait = 0
            if separatesRankWait && comm.size > 1 { comm.barrier(); lastStepPhases.rankWait = clock.lap() }
            fixedPoint.allreduce(over: comm, bucketSize: config.bucketSize)
            fixedPoint.convertBack()
            grads = fixedPoint.output
            foldSlots(micro, stopRequested: stopRequested)
        } else {
            let local = localSums()
            lastStepPhases.replicas = clock.lap()
            threadSum.run()                                   // fixed-order sum into replica 0
            lastStepPhases.threadReduction = clock.lap()
            lastStepPhases.rankWait = 0
            if separatesRankWait && comm.size > 1 {
                comm.barrier()
                lastStepPhases.rankWait = clock.lap()
            }
            grads = replicas[0].gradients
            allreduce.reduce(grads, over: comm)               // buckets, same order on every rank (as overlapped)
            totals[0] = local.loss; totals[1] = Double(local.correct); totals[2] = Double(local.count)
            totals[3] = stopRequested ? 1 : 0
            comm.allreduceSum(&totals)
        }
        lastStepPhases.allreduce = clock.lap()
        defer { lastStepPhases.update = clock.lap() }

        let sumSq = Vec.sumOfSquares(grads.base, count: grads.count)
        let norm = sumSq.squareRoot()
        let result = StepResult(loss: totals[0] / normalizer, gradientNorm: norm, targets: Int(normalizer),
                                windows: batches.reduce(0) { $0 + order.plan.windowCount(step: $1) }, correct: Int(totals[1]),
                                steps: order.plan.lengths == nil ? nil : batches.reduce(0) { $0 + order.steps(step: $1) },
                                stopRequested: totals[3] > 0)
        guard applyIfFinite, result.loss.isFinite, norm.isFinite else { return result }
        clip(grads, sumOfSquares: sumSq)
        optimizer.step(parameters: parameters.base, gradients: UnsafePointer(grads.base), count: grads.count,
                       learningRate: learningRate)
        // Squares summed in Double stay finite for any finite floats, so this is "all finite".
        var checked = result
        checked.parametersFinite = Vec.sumOfSquares(parameters.base, count: parameters.count).isFinite
        return checked
    }

    // Note [Overlapped exchange]
    // Backward finishes the gradients top down: the head first, then per layer its hidden side
    // (W_hh, b_hh, after the time loop) and its input side (W_ih, b_ih, and the embedding under
    // layer 0, after the weight-gradient GEMM and before dX), as
    // RecurrentNetwork.gradientMilestones lists them. The buckets of GradientAllreduce are cut
    // from these groups in this order, in every step, so a step that exchanges each group as
    // soon as every replica has finished it reduces the same buckets in the same order as one
    // that waits for the whole backward: same bits, on every rank (parallel.overlap only
    // changes timing; a test holds it). In an overlapped step (several processes, not
    // deterministic) every replica runs on a worker, and the main thread — the only one that
    // calls MPI — sleeps on a condition variable until a group is final, sums it over the
    // replicas in replica order and exchanges it; its waits inside the exchange sleep between
    // MPI progress tests (10 µs doubling to 100 µs) instead of polling at full speed, since
    // the cores belong to the replicas. Polling for groups instead of sleeping cost 20% of a
    // char-lstm step on 2 cores. What is left exposed is the last groups' exchange (layer 0
    // and the embedding) and the loss sums. The deterministic path (Note [Layout-invariant
    // steps]) converts and exchanges after backward and does not overlap, nor do models under
    // `smallestOverlappedModel` parameters, whose exchange is mostly latency.

    /// Runs the replicas of `region` on the workers and, on this thread, as each gradient group
    /// is finished by every replica: sums it over the replicas (in replica order, as
    /// GradientThreadSum) and exchanges its buckets. Times: `replicas` until the last group is
    /// finished, `allreduce` the exchange left after it (the exposed part).
    private func exchangeWhileComputing(clock: inout PhaseClock) {
        let n = replicas.count, groups = allreduce.bucketsByGroup, stride = Self.progressStride
        for i in 0..<n { progress[i * stride] = 0 }
        comm.waitBySleeping(true)
        defer { comm.waitBySleeping(false) }
        WorkerPool.start(threads, context: Unmanaged.passUnretained(self).toOpaque(), Self.replicaTask)
        for g in groups.indices {
            // Sleep until every replica has finished group g (polling would take the core from them).
            pthread_mutex_lock(progressLock)
            while (0..<n).contains(where: { progress[$0 * stride] <= g }) { pthread_cond_wait(progressChanged, progressLock) }
            pthread_mutex_unlock(progressLock)
            if g == groups.count - 1 {
                lastStepPhases.replicas = clock.lap()
                lastStepPhases.threadReduction = 0
                lastStepPhases.rankWait = 0
            }
            for r in groups[g] { threadSum.run(r) }
            allreduce.reduce(replicas[0].gradients, group: g, over: comm)
        }
        WorkerPool.finish()
    }

    func setTotals(loss: Double, correct: Double, count: Double, stop: Double) {
        totals[0] = loss; totals[1] = correct; totals[2] = count; totals[3] = stop
    }

    /// Clipping by global norm, then by value, as configured.
    private func clip(_ grads: FloatBuffer, sumOfSquares: Double) {
        if let maxNorm = config.clipNorm, maxNorm > 0 {
            clipGradientsByGlobalNorm(grads.base, count: grads.count, maxNorm: Float(maxNorm), sumOfSquares: sumOfSquares)
        }
        if let limit = config.clipValue {
            clipGradientsByValue(grads.base, count: grads.count, limit: Float(limit))
        }
    }

    /// Runs every replica over its shard of batch `step` of `order` (ARCHITECTURE.md §6: the
    /// loss is divided by the step's global target count, so shards of any size add up).
    func runReplicas(_ order: EpochOrder, step: Int, split: DataSplit, train: Bool, dropoutSeed: UInt64?,
                     stateful: Bool) -> (LossSums, normalizer: Double) {
        let normalizer = Double(order.targetCount(step: step))
        runReplicas(order, step: step, split: split, train: train, dropoutSeed: dropoutSeed, stateful: stateful,
                    normalizer: normalizer, accumulate: false)
        return (localSums(), normalizer)
    }

    /// Runs every replica over its shard of batch `step`; with `accumulate` its gradients and
    /// loss sums add to the previous batch's instead of replacing them.
    func runReplicas(_ order: EpochOrder, step: Int, split: DataSplit, train: Bool, dropoutSeed: UInt64?,
                     stateful: Bool, normalizer: Double, accumulate: Bool) {
        region = ReplicaRegion(order: order, step: step, split: split, train: train, dropoutSeed: dropoutSeed,
                               stateful: stateful, normalizer: Float(normalizer), accumulate: accumulate)
        WorkerPool.run(threads, context: Unmanaged.passUnretained(self).toOpaque(), Self.replicaTask)
    }

    /// This rank's loss sums over its replicas, in replica order.
    func localSums() -> LossSums {
        var local = LossSums()
        for r in replicas { local.loss += r.sums.loss; local.correct += r.sums.correct; local.count += r.sums.count }
        return local
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
        var accumulate = false
        /// Replicas publish each finished gradient group in `progress` (overlapped steps).
        var reportsProgress = false
    }

    private static let replicaTask: ReplicaTask = { context, t in
        let engine = Unmanaged<Engine>.fromOpaque(context).takeUnretainedValue()
        guard let r = engine.region else { return }
        if let micro = engine.micro {
            // This thread's micro-shards, one replica each, in micro-shard order.
            for i in micro.byThread[t] {
                let windows = r.order.windows(step: r.step, within: r.order.part(step: r.step, parts: micro.shards, index: micro.owned.lowerBound + i))
                engine.replicas[i].run(parameters: UnsafePointer(engine.parameters.base), dataset: engine.dataset, split: r.split,
                                       windows: windows, normalizer: r.normalizer, train: r.train, dropoutSeed: r.dropoutSeed,
                                       firstSequence: windows.positions.lowerBound, stateful: r.stateful, accumulate: r.accumulate)
            }
            return
        }
        let windows = r.order.windows(step: r.step, shard: engine.shard(t))
        let mine = engine.progress + t * progressStride
        engine.replicas[t].run(parameters: UnsafePointer(engine.parameters.base), dataset: engine.dataset, split: r.split,
                               windows: windows, normalizer: r.normalizer, train: r.train, dropoutSeed: r.dropoutSeed,
                               firstSequence: windows.positions.lowerBound, stateful: r.stateful, accumulate: r.accumulate,
                               finished: { m in if r.reportsProgress { engine.publishProgress(mine, m + 1) } })
        // A replica with no windows finishes nothing itself.
        if r.reportsProgress { engine.publishProgress(mine, engine.gradientGroups) }
    }

    /// Replica `thread`'s coordinates in the job.
    func shard(_ thread: Int) -> Shard {
        Shard(rank: comm.rank, rankCount: comm.size, thread: thread, threadCount: threads)
    }

    /// The global positions (streams, for stateful data) replica `i` owns in a batch of `n`.
    func positions(ofReplica i: Int, in n: Int) -> Range<Int> {
        if let micro { return Shard.balanced(n, parts: micro.shards, index: micro.owned.lowerBound + i) }
        return shard(i).range(in: n)
    }
}

/// Lap times on the monotonic clock: the step's phases are timed here and nowhere else.
struct PhaseClock {
    private var last = MonotonicClock.seconds()
    /// Seconds since the previous lap (or the clock's start).
    mutating func lap() -> Double {
        let now = MonotonicClock.seconds()
        defer { last = now }
        return now - last
    }
}
