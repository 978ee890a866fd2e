// The synchronized training step of ARCHITECTURE.md: every replica of every rank runs its
// contiguous share of the global batch; gradients are summed over threads (fixed order), then
// over ranks (bucketed allreduce), clipped by global norm and applied by one optimizer update
// that is identical everywhere. How the sums are made (after backward, overlapped with it, or
// exact for layout-invariant steps) is the engine's GradientExchange, chosen once at init
// (GradientExchange.swift). One process with one thread is the same code with sizes 1.
// The epoch loop, logging and checkpoints live in RecurTrain and use this API only.

import CKernels
import RecurData
import RecurPlan
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
    /// Summing the replicas' gradient buffers into replica 0's (in an overlapped step, the
    /// last gradient group's sum: the others are summed while backward runs).
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
    /// Every layer's W_hh packed before each parallel region, read by all replicas (Note [W_hh
    /// packed once per region]); nil where the packed GEMM is unavailable.
    let packs: PackedRecurrentWeights?
    /// Which micro-shards this rank's replicas run, for layout-invariant steps (Note
    /// [Layout-invariant steps]); nil when replica t runs thread t's shard.
    let micro: MicroShardPlan?
    /// How the step's gradients cross threads and ranks, chosen once here (GradientExchange.swift).
    let exchange: any GradientExchange
    /// This engine's replica workers (its own, so that engines on different threads never share them).
    let pool = WorkerPool()
    /// The parallel region in flight (see `run(_:)`).
    var region: ReplicaRegion?
    /// Whether the start-up agreement passed (Note [Agree, then broadcast]).
    private(set) var agreed: Bool
    /// Whether training steps exchange gradients while backward runs (Note [Overlapped exchange]).
    public var overlapsExchange: Bool { exchange.overlapsBackward }
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
    public convenience init(_ config: EngineConfig, dataset: any WindowedDataset, comm: Communicator) throws {
        try self.init(config, dataset: dataset, comm: comm, smallestOverlappedModel: Self.smallestOverlappedModel)
    }

    /// As the public initialiser, with the size from which a model overlaps its exchange (tests
    /// lower it to overlap a small model's).
    init(_ config: EngineConfig, dataset: any WindowedDataset, comm: Communicator, smallestOverlappedModel: Int) throws {
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
        let packs = PackedRecurrentWeights(network: network)
        self.packs = packs
        let built = (0..<replicaCount).map { _ in Replica(network: network, dataset: dataset, capacity: capacity, packs: packs) }
        replicas = built
        if let plan {
            exchange = FixedPointExchange(plan: plan, replicas: built, count: network.parameterCount, threads: config.threads,
                                          bucketSize: config.bucketSize, comm: comm, pool: pool)
        } else {
            let threadSum = GradientThreadSum(built.map(\.gradients), threads: config.threads, pool: pool)
            let allreduce = GradientAllreduce(bucketSize: config.bucketSize, count: network.parameterCount,
                                              groups: network.gradientMilestones)
            let overlaps = config.overlap && comm.size > 1 && comm.exchangesWhileComputing
                && network.parameterCount >= smallestOverlappedModel
            exchange = overlaps ? OverlappedExchange(replicas: built, threadSum: threadSum, allreduce: allreduce, comm: comm, pool: pool)
                : AfterBackwardExchange(replicas: built, threadSum: threadSum, allreduce: allreduce, comm: comm)
        }
        agreed = comm.size == 1
        BLAS.useSingleThread()
    }

    deinit { pool.shutdown() }

    /// Refuses a run that would allocate more than this process can get, before allocating
    /// (a failed allocation would end the process with a trap and no message).
    static func checkMemory(network: RecurrentNetwork, config: EngineConfig, capacity: Int, replicas count: Int,
                            seqLen: Int) throws {
        guard let available = ProcessMemory.available() else { return }
        let P = Double(network.parameterCount) * Double(MemoryLayout<Float>.stride)
        let replicas = Double(count) + (config.microShards == nil ? 0 : 3)   // + the fixed-point sum's buffers
        // Parameters, one gradient buffer per replica, up to three optimizer buffers, activations,
        // the shared W_hh packs.
        let workspace = Replica.activationBytes(network: network, capacity: capacity, seqLen: seqLen, sharedPacks: true)
        let need = P * (4 + replicas) + replicas * workspace + PackedRecurrentWeights.bytes(network: network)
        guard need > available else { return }
        func gb(_ b: Double) -> String { b >= 1e9 ? String(format: "%.1f GB", b / 1e9) : String(format: "%.0f MB", b / 1e6) }
        throw ModelConfigError(key: replicas * workspace > P * (4 + replicas) ? "training.batch_size" : "model.hidden_size",
                               message: "this run needs about \(gb(need)) (\(network.parameterCount) parameters: \(gb(P * (4 + replicas))) with gradients and optimizer state; activations: \(gb(replicas * workspace))) but this process can get only \(gb(available)); lower model.hidden_size, model.layers, training.batch_size or data.seq_len, or use fewer threads")
    }

    // MARK: Start-up

    /// The start-up agreement (StartupAgreement.check) over what the engine itself must share
    /// with every rank — Recur build, kernels' arithmetic, parameter layout — and the caller's items.
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
    /// replicas forward+backward, exchange (thread sum, allreduce), clip, update.
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
        var clock = PhaseClock(), phases = StepPhases()
        defer { lastStepPhases = phases }
        let dropoutSeed = config.model.dropout > 0 ? config.seed &+ UInt64(stepIndex) &* 0x9E37_79B9 : nil
        let normalizer = Double(batches.reduce(0) { $0 + order.targetCount(step: $1) })
        func batch(_ b: Int) -> ReplicaRegion {
            ReplicaRegion(order: order, step: b, split: .train, train: true, dropoutSeed: dropoutSeed,
                          stateful: order.plan.isStateful, normalizer: Float(normalizer), accumulate: b != batches.lowerBound)
        }

        // Replicas: forward and backward over every batch, the last one through the exchange
        // (an overlapped exchange begins while it runs).
        let last = batches.upperBound - 1
        for b in batches.lowerBound..<last { run(batch(b)) }
        exchange.runLastBatch(batch(last), of: self)
        phases.replicas = clock.lap()

        // Exchange: over threads, then (once every rank is there, when timed apart) over ranks.
        exchange.sumOverThreads()
        phases.threadReduction = clock.lap()
        if separatesRankWait && comm.size > 1 && !exchange.overlapsBackward {
            comm.barrier()
            phases.rankWait = clock.lap()
        }
        let exchanged = exchange.sumOverRanks(stopRequested: stopRequested)
        let grads = exchanged.gradients, totals = exchanged.totals
        phases.allreduce = clock.lap()
        defer { phases.update = clock.lap() }

        // Clip and update, the same on every rank.
        let sumSq = Vec.sumOfSquares(grads.base, count: grads.count)
        let norm = sumSq.squareRoot()
        let result = StepResult(loss: totals.loss / normalizer, gradientNorm: norm, targets: Int(normalizer),
                                windows: batches.reduce(0) { $0 + order.plan.windowCount(step: $1) }, correct: Int(totals.correct),
                                steps: order.plan.lengths == nil ? nil : batches.reduce(0) { $0 + order.steps(step: $1) },
                                stopRequested: totals.stopRequested)
        guard applyIfFinite, result.loss.isFinite, norm.isFinite else { return result }
        clip(grads, sumOfSquares: sumSq)
        optimizer.step(parameters: parameters.base, gradients: UnsafePointer(grads.base), count: grads.count,
                       learningRate: learningRate)
        // Squares summed in Double stay finite for any finite floats, so this is "all finite".
        var checked = result
        checked.parametersFinite = Vec.sumOfSquares(parameters.base, count: parameters.count).isFinite
        return checked
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
        run(ReplicaRegion(order: order, step: step, split: split, train: train, dropoutSeed: dropoutSeed,
                          stateful: stateful, normalizer: Float(normalizer)))
        return (localSums(replicas), normalizer)
    }

    /// Runs every replica over its share of `region` and returns when all are done; with
    /// `region.accumulate` their gradients and loss sums add to the previous batch's instead of
    /// replacing them.
    func run(_ region: ReplicaRegion) {
        begin(region)
        pool.run(threads, context: Unmanaged.passUnretained(self).toOpaque(), Self.replicaTask)
    }

    /// What the main thread does before any worker runs `region` (here and in
    /// OverlappedExchange, which starts the workers itself): publishes it, and packs W_hh from
    /// the parameters, which stay fixed until the region ends (Note [W_hh packed once per region]).
    func begin(_ region: ReplicaRegion) {
        self.region = region
        packs?.pack(UnsafePointer(parameters.base), backward: region.train)
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
        /// Where replicas publish each finished gradient group (overlapped steps only).
        var progress: GroupProgress? = nil
    }

    /// Replica t's share of the current region: `context` is the engine.
    static let replicaTask: ReplicaTask = { context, t in
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
        let progress = r.progress
        engine.replicas[t].run(parameters: UnsafePointer(engine.parameters.base), dataset: engine.dataset, split: r.split,
                               windows: windows, normalizer: r.normalizer, train: r.train, dropoutSeed: r.dropoutSeed,
                               firstSequence: windows.positions.lowerBound, stateful: r.stateful, accumulate: r.accumulate,
                               finished: { m in progress?.publish(replica: t, finished: m + 1) })
        // A replica with no windows finishes nothing itself.
        if let progress { progress.publish(replica: t, finished: progress.groups) }
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
