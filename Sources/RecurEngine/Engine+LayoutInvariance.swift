// Layout-invariant steps: every batch is cut into a fixed number of micro-shards whatever the
// processes × threads layout, each micro-shard's gradient is computed by the same kernels on
// the same rows, and the micro-shards' gradients and loss sums are added exactly, so the update
// has the same bits at every layout. The plan of which replica runs which micro-shard is here
// (MicroShardPlan), the exact sum (FixedPointSum), and the engine's exchange that uses them
// (FixedPointExchange, one of the GradientExchange kinds).

import CKernels
import RecurData
import RecurPlan
import RecurKernels
import RecurModel
import RecurParallel

// Note [Layout-invariant steps]
// Floating-point sums depend on their order, and the order of a data-parallel step's sums
// depends on how the batch was split: which rows a GEMM sums over (a replica's shard), then the
// thread sum and the allreduce's tree. Two things remove the layout from the result:
// - micro-shards: batch position p of n belongs to micro-shard j of S by Shard.balanced(n, S)
//   (sequences of different lengths: by work, EpochOrder.part, Note [Work-balanced parts]),
//   and micro-shard j to global replica g (rank·K + thread) by Shard.balanced(S, P·K). A
//   micro-shard is always the same rows, computed by one replica with single-threaded kernels
//   whose per-row results do not depend on where the rows sit, so its gradient has the same
//   bits at any layout; each runs in its own Replica (its own activations, carried state and
//   gradient buffer);
// - exact sums: all ranks agree on the largest |g| of any micro-shard (one small allreduce of a
//   maximum), pick 2^e with S·max·2^e ≤ 2^62, and add every micro-shard's g·2^e, rounded to an
//   integer, as Int64 — over the rank's micro-shards, then across ranks with the same ring.
//   Integer sums are exact, so every order gives the same total, which is converted back to
//   Float once. Values below max·2^-62 become 0 (far below Float's own resolution at max).
// Loss sums, hits and counts go into one slot per micro-shard (each slot has one contributor,
// so the allreduce adds zeros to it exactly) and are folded in micro-shard order. Evaluation
// uses the same slots. It holds at the AVX-512 and AVX2 kernel levels alike, whatever the CPU:
// every kernel computes each value with the same IEEE operations in the same order at both (the
// GEMMs' per-element FMA chains, the cells' per-element formulas, no reassociation and no
// approximate instructions), which BenchTests checks on the machine it runs on; the baseline
// kernels multiply, then add, and give other bits. The cost is in docs/benchmarks.md.

/// Which micro-shards this rank owns and which of its threads runs each.
struct MicroShardPlan {
    /// S, micro-shards per batch.
    let shards: Int
    /// The micro-shards this rank owns (global indices, contiguous).
    let owned: Range<Int>
    /// Per thread, the indices into `owned` (replicas) it runs, in order.
    let byThread: [Range<Int>]
    /// The most windows a micro-shard holds.
    let capacity: Int

    init(shards: Int, batch: Int, rank: Int, ranks: Int, threads: Int) {
        self.shards = shards
        let replicas = ranks * threads
        let first = Shard.balanced(shards, parts: replicas, index: rank * threads).lowerBound
        let last = Shard.balanced(shards, parts: replicas, index: rank * threads + threads - 1).upperBound
        owned = first..<last
        byThread = (0..<threads).map { t in
            let g = Shard.balanced(shards, parts: replicas, index: rank * threads + t)
            return (g.lowerBound - first)..<(g.upperBound - first)
        }
        capacity = (batch + shards - 1) / shards
    }
}

/// The exact sum of Note [Layout-invariant steps] over this rank's micro-shard gradients.
/// Allocated once; a step allocates nothing.
final class FixedPointSum {
    private let inputs: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    private let inputCount: Int
    private let buffers: [FloatBuffer]
    let count: Int
    let shards: Int
    /// The Int64 sums, then (after the allreduce) converted into `output`.
    private let accumulator: UnsafeMutablePointer<Int64>
    let output: FloatBuffer
    private let chunks: Int, per: Int
    private let threadMax: UnsafeMutablePointer<Double>
    private var maxBox = [0.0]
    private var scale = 1.0, inverse = 1.0
    private var finite = true
    private let pool: WorkerPool

    init(_ buffers: [FloatBuffer], count: Int, threads: Int, shards: Int, pool: WorkerPool) {
        self.pool = pool
        self.buffers = buffers
        self.count = count
        self.shards = shards
        inputCount = buffers.count
        inputs = .allocate(capacity: max(buffers.count, 1))
        for (i, b) in buffers.enumerated() { inputs[i] = b.base }
        accumulator = .allocate(capacity: max(count, 1))
        accumulator.initialize(repeating: 0, count: max(count, 1))
        output = FloatBuffer(count: count)
        chunks = max(1, min(threads, count / 4096 + 1))
        per = (count + chunks - 1) / chunks
        threadMax = .allocate(capacity: chunks)
        threadMax.initialize(repeating: 0, count: chunks)
    }

    deinit { inputs.deallocate(); accumulator.deallocate(); threadMax.deallocate() }

    /// Agrees on the scale: the largest |g| of any micro-shard on any rank (collective).
    func prepare(over comm: Communicator) {
        pool.run(chunks, context: Unmanaged.passUnretained(self).toOpaque(), Self.maxTask)
        var m = 0.0
        for c in 0..<chunks { m = m.isNaN ? m : (threadMax[c].isNaN ? .nan : max(m, threadMax[c])) }
        maxBox[0] = m.isNaN ? .infinity : m
        comm.allreduceMax(&maxBox)
        let top = maxBox[0]
        finite = top.isFinite
        guard finite, top > 0 else { scale = 1; inverse = 1; return }
        let e = 62 - Int((top * Double(shards)).exponent) - 1
        scale = Double(sign: .plus, exponent: e, significand: 1)
        inverse = Double(sign: .plus, exponent: -e, significand: 1)
    }

    /// accumulator = Σ over this rank's micro-shards of round(g·2^e), exactly.
    func convertAndSum() {
        pool.run(chunks, context: Unmanaged.passUnretained(self).toOpaque(), Self.convertTask)
    }

    /// Sums the accumulators across ranks (exact, so any algorithm and bucket order will do).
    func allreduce(over comm: Communicator, bucketSize: Int) {
        guard finite else { return }
        var start = 0
        while start < count {
            let n = min(bucketSize, count - start)
            comm.allreduceSum(accumulator + start, count: n)
            start += n
        }
    }

    /// output = accumulator · 2^-e, rounded to Float once (NaN everywhere if a gradient was not finite).
    func convertBack() {
        pool.run(chunks, context: Unmanaged.passUnretained(self).toOpaque(), Self.backTask)
    }

    private func range(_ c: Int) -> Range<Int> { (c * per)..<min(count, (c + 1) * per) }

    private static let maxTask: ReplicaTask = { context, c in
        let s = Unmanaged<FixedPointSum>.fromOpaque(context).takeUnretainedValue()
        let r = s.range(c)
        var m = 0.0
        for k in 0..<s.inputCount {
            let a = Double(recur_max_abs(s.inputs[k] + r.lowerBound, r.count))
            m = a.isNaN || m.isNaN ? .nan : max(m, a)
        }
        s.threadMax[c] = m
    }

    private static let convertTask: ReplicaTask = { context, c in
        let s = Unmanaged<FixedPointSum>.fromOpaque(context).takeUnretainedValue()
        guard s.finite else { return }
        let r = s.range(c)
        let acc = UnsafeMutableRawPointer(s.accumulator + r.lowerBound).assumingMemoryBound(to: CLongLong.self)
        if s.inputCount == 0 { for i in 0..<r.count { acc[i] = 0 } }
        for k in 0..<s.inputCount { recur_fixed_add(s.inputs[k] + r.lowerBound, r.count, s.scale, acc, k == 0 ? 1 : 0) }
    }

    private static let backTask: ReplicaTask = { context, c in
        let s = Unmanaged<FixedPointSum>.fromOpaque(context).takeUnretainedValue()
        let r = s.range(c), out = s.output.base + r.lowerBound
        if !s.finite {
            for i in 0..<r.count { out[i] = .nan }
            return
        }
        let acc = UnsafeRawPointer(s.accumulator + r.lowerBound).assumingMemoryBound(to: CLongLong.self)
        recur_fixed_to_float(acc, r.count, s.inverse, out)
    }
}

/// The exchange of layout-invariant steps (Note [Layout-invariant steps]): after backward,
/// the exact sum of this rank's micro-shard gradients, then across ranks; loss sums, hits and
/// counts through one slot per micro-shard, folded in micro-shard order.
final class FixedPointExchange: GradientExchange {
    private let comm: Communicator
    private let plan: MicroShardPlan
    /// One per micro-shard this rank owns, in micro-shard order.
    private let replicas: [Replica]
    private let sum: FixedPointSum
    private let bucketSize: Int
    /// Per micro-shard loss, hits and count, then the stop flag (one contributor each, so the
    /// allreduce adds zeros to them exactly).
    private var slots: [Double]

    init(plan: MicroShardPlan, replicas: [Replica], count: Int, threads: Int, bucketSize: Int, comm: Communicator,
         pool: WorkerPool) {
        self.plan = plan; self.replicas = replicas; self.bucketSize = bucketSize; self.comm = comm
        sum = FixedPointSum(replicas.map(\.gradients), count: count, threads: threads, shards: plan.shards, pool: pool)
        slots = [Double](repeating: 0, count: 3 * plan.shards + 1)
    }

    var overlapsBackward: Bool { false }

    func runLastBatch(_ region: Engine.ReplicaRegion, of engine: Engine) { engine.run(region) }

    /// The agreed scale (one small collective), then this rank's exact sum.
    func sumOverThreads() {
        sum.prepare(over: comm)
        sum.convertAndSum()
    }

    func sumOverRanks(stopRequested: Bool) -> ExchangeResult {
        sum.allreduce(over: comm, bucketSize: bucketSize)
        sum.convertBack()
        for i in 0..<slots.count { slots[i] = 0 }
        for (i, r) in replicas.enumerated() {
            let j = plan.owned.lowerBound + i
            slots[3 * j] = r.sums.loss; slots[3 * j + 1] = Double(r.sums.correct); slots[3 * j + 2] = Double(r.sums.count)
        }
        slots[3 * plan.shards] = stopRequested ? 1 : 0
        comm.allreduceSum(&slots)
        var totals = StepTotals(stopRequested: slots[3 * plan.shards] > 0)
        for j in 0..<plan.shards { totals.loss += slots[3 * j]; totals.correct += slots[3 * j + 1]; totals.count += slots[3 * j + 2] }
        return ExchangeResult(gradients: sum.output, totals: totals)
    }

    /// The same slots, folded in micro-shard order (the same at every layout).
    func reduceEvaluation(_ pass: (loss: Double, correct: Double), perReplica: [LossSums]) -> (loss: Double, correct: Double) {
        for i in 0..<slots.count { slots[i] = 0 }
        for (i, s) in perReplica.enumerated() {
            let j = plan.owned.lowerBound + i
            slots[3 * j] = s.loss; slots[3 * j + 1] = Double(s.correct)
        }
        comm.allreduceSum(&slots)
        var t = (loss: 0.0, correct: 0.0)
        for j in 0..<plan.shards { t.loss += slots[3 * j]; t.correct += slots[3 * j + 1] }
        return t
    }
}
