// How a training step's gradients and loss sums cross the replicas of a rank and then the
// ranks. The engine picks one exchange when it is built, and every step goes through it:
// - AfterBackwardExchange: the thread sum, then the bucketed allreduce, once backward is done;
// - OverlappedExchange: each group of gradients summed and exchanged as soon as every replica's
//   backward has finished it (Note [Overlapped exchange]);
// - FixedPointExchange: exact integer sums of micro-shard gradients, the same bits at every
//   layout (Note [Layout-invariant steps], in Engine+LayoutInvariance.swift).
// Each owns what it synchronises with; the step (Engine.step) times the phases and applies
// the result. None allocates in a step.

import RecurPlan
import RecurKernels
import RecurModel
import RecurParallel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A step's loss sum, hits and target count over every replica of every rank, and whether any
/// rank asked to stop.
struct StepTotals {
    var loss = 0.0
    var correct = 0.0
    var count = 0.0
    var stopRequested = false
}

/// The summed gradients of a step and its reduced totals.
struct ExchangeResult {
    /// The sum of every replica's gradients on every rank (the same bits on every rank).
    let gradients: FloatBuffer
    let totals: StepTotals
}

/// One way to sum a step's gradients over threads and ranks (see the top of this file).
protocol GradientExchange: AnyObject {
    /// Whether the exchange begins while backward runs (`Engine.overlapsExchange`).
    var overlapsBackward: Bool { get }
    /// Runs the replicas over the step's last batch (`region`; earlier batches of an
    /// accumulated step have run already) and returns when their backward is done. An
    /// overlapped exchange also sums and exchanges every gradient group but the last here.
    func runLastBatch(_ region: Engine.ReplicaRegion, of engine: Engine)
    /// Sums this rank's replica gradients (what is left of that sum after `runLastBatch`).
    func sumOverThreads()
    /// Sums over ranks (collective): the gradients, then the loss sums and stop requests.
    func sumOverRanks(stopRequested: Bool) -> ExchangeResult
    /// An evaluation's loss and hit sums across ranks (collective), from this rank's sums
    /// (`pass`: over batches of the replicas' sums) or its per-replica sums over the batches.
    func reduceEvaluation(_ pass: (loss: Double, correct: Double), perReplica: [LossSums]) -> (loss: Double, correct: Double)
}

/// The rank-local loss sums of `replicas`, in replica order.
func localSums(_ replicas: [Replica]) -> LossSums {
    var local = LossSums()
    for r in replicas { local.loss += r.sums.loss; local.correct += r.sums.correct; local.count += r.sums.count }
    return local
}

/// Loss sum, hits, count and stop requests reduced across ranks in one small allreduce, into
/// a buffer kept across steps.
struct RankTotals {
    private var values = [Double](repeating: 0, count: 4)

    mutating func reduce(_ local: LossSums, stopRequested: Bool, over comm: Communicator) -> StepTotals {
        values[0] = local.loss; values[1] = Double(local.correct); values[2] = Double(local.count)
        values[3] = stopRequested ? 1 : 0
        comm.allreduceSum(&values)
        return StepTotals(loss: values[0], correct: values[1], count: values[2], stopRequested: values[3] > 0)
    }
}

/// An evaluation's sums of this rank, reduced across ranks.
func reducedEvaluation(_ pass: (loss: Double, correct: Double), over comm: Communicator) -> (loss: Double, correct: Double) {
    var t = [pass.loss, pass.correct]
    comm.allreduceSum(&t)
    return (t[0], t[1])
}

/// Every replica's backward first; then the thread sum (fixed replica order, into replica 0's
/// buffer) and the allreduce, bucket after bucket in the same order on every rank.
final class AfterBackwardExchange: GradientExchange {
    private let comm: Communicator
    private let replicas: [Replica]
    private let threadSum: GradientThreadSum
    private let allreduce: GradientAllreduce
    private var totals = RankTotals()

    init(replicas: [Replica], threadSum: GradientThreadSum, allreduce: GradientAllreduce, comm: Communicator) {
        self.replicas = replicas; self.threadSum = threadSum; self.allreduce = allreduce; self.comm = comm
    }

    var overlapsBackward: Bool { false }

    func runLastBatch(_ region: Engine.ReplicaRegion, of engine: Engine) { engine.run(region) }

    func sumOverThreads() { threadSum.run() }

    func sumOverRanks(stopRequested: Bool) -> ExchangeResult {
        let grads = replicas[0].gradients
        allreduce.reduce(grads, over: comm)               // buckets, same order on every rank (as overlapped)
        return ExchangeResult(gradients: grads, totals: totals.reduce(localSums(replicas), stopRequested: stopRequested, over: comm))
    }

    func reduceEvaluation(_ pass: (loss: Double, correct: Double), perReplica: [LossSums]) -> (loss: Double, correct: Double) {
        reducedEvaluation(pass, over: comm)
    }
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
// `Engine.smallestOverlappedModel` parameters, whose exchange is mostly latency. In an
// accumulated step only the last batch's backward overlaps (the earlier ones add into the
// same buffers first).

/// How many gradient groups each replica's backward has finished in an overlapped step, one
/// slot per replica a cache line apart: written by its worker (`publish`), waited on by the
/// main thread under one mutex and condition variable.
final class GroupProgress: @unchecked Sendable {
    /// Gradient groups of a backward (`GradientAllreduce.bucketsByGroup.count`).
    let groups: Int
    private let replicas: Int
    private let slots: UnsafeMutablePointer<Int>
    private static let stride = 16
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(replicas: Int, groups: Int) {
        self.replicas = replicas
        self.groups = groups
        slots = .allocate(capacity: Self.stride * max(replicas, 1))
        slots.initialize(repeating: 0, count: Self.stride * max(replicas, 1))
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        slots.deallocate()
        pthread_cond_destroy(changed); changed.deallocate()
        pthread_mutex_destroy(lock); lock.deallocate()
    }

    /// Before the replicas start: nothing is finished.
    func reset() { for i in 0..<replicas { slots[i * Self.stride] = 0 } }

    /// Replica `replica`'s worker: `finished` gradient groups of its backward are final.
    func publish(replica: Int, finished: Int) {
        pthread_mutex_lock(lock)
        slots[replica * Self.stride] = finished
        pthread_cond_signal(changed)
        pthread_mutex_unlock(lock)
    }

    /// Sleeps until every replica has finished group `group` (polling would take the core from them).
    func waitUntilFinished(_ group: Int) {
        pthread_mutex_lock(lock)
        while (0..<replicas).contains(where: { slots[$0 * Self.stride] <= group }) { pthread_cond_wait(changed, lock) }
        pthread_mutex_unlock(lock)
    }
}

/// The last batch's backward runs on the workers while this thread sums and exchanges each
/// gradient group as it is finished (Note [Overlapped exchange]); the same buckets in the same
/// order as AfterBackwardExchange, so the same bits.
final class OverlappedExchange: GradientExchange {
    private let comm: Communicator
    private let replicas: [Replica]
    private let threadSum: GradientThreadSum
    private let allreduce: GradientAllreduce
    private let pool: WorkerPool
    private let progress: GroupProgress
    private var totals = RankTotals()

    init(replicas: [Replica], threadSum: GradientThreadSum, allreduce: GradientAllreduce, comm: Communicator, pool: WorkerPool) {
        self.replicas = replicas; self.threadSum = threadSum; self.allreduce = allreduce; self.comm = comm; self.pool = pool
        progress = GroupProgress(replicas: replicas.count, groups: allreduce.bucketsByGroup.count)
    }

    var overlapsBackward: Bool { true }

    /// Every replica on a worker; on this thread, each group but the last summed over the
    /// replicas (in replica order, as GradientThreadSum) and exchanged once every replica has
    /// finished it. Returns when the last group is finished too.
    func runLastBatch(_ region: Engine.ReplicaRegion, of engine: Engine) {
        var region = region
        region.progress = progress
        engine.begin(region)
        progress.reset()
        comm.waitBySleeping(true)
        pool.start(replicas.count, context: Unmanaged.passUnretained(engine).toOpaque(), Engine.replicaTask)
        let last = progress.groups - 1
        for g in 0..<last {
            progress.waitUntilFinished(g)
            exchange(group: g)
        }
        progress.waitUntilFinished(last)
    }

    /// The last group's thread sum (the others were summed while backward ran).
    func sumOverThreads() {
        for r in allreduce.bucketsByGroup[progress.groups - 1] { threadSum.run(r) }
    }

    /// The last group's exchange, then the loss sums once the workers have returned.
    func sumOverRanks(stopRequested: Bool) -> ExchangeResult {
        allreduce.reduce(replicas[0].gradients, group: progress.groups - 1, over: comm)
        pool.finish()
        comm.waitBySleeping(false)
        return ExchangeResult(gradients: replicas[0].gradients,
                              totals: totals.reduce(localSums(replicas), stopRequested: stopRequested, over: comm))
    }

    private func exchange(group g: Int) {
        for r in allreduce.bucketsByGroup[g] { threadSum.run(r) }
        allreduce.reduce(replicas[0].gradients, group: g, over: comm)
    }

    func reduceEvaluation(_ pass: (loss: Double, correct: Double), perReplica: [LossSums]) -> (loss: Double, correct: Double) {
        reducedEvaluation(pass, over: comm)
    }
}
