// `recur bench`'s engine: fixed synthetic workloads (launch/bench-compare reads them from
// `recur bench --list --json` to run the same ones in tools/torch_rnn_bench.py), the
// core's measured FMA peak (Note [FMA peak]), and timed REAL training steps (Engine.step: replicas, thread
// reduction, allreduce, clipping at norm 5, Adam). It prints nothing and parses no flags
// (Sources/recur/BenchCommand.swift does); allocation counting is handed in by the executable.

import Foundation
import RecurData
import RecurPlan
import RecurEngine
import RecurKernels
import RecurModel
import RecurParallel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One benchmark model and batch. `all` is the one list of them: `recur bench --list --json`
/// prints it, and launch/bench-compare turns each into tools/torch_rnn_bench.py's flags.
public struct BenchWorkload: Sendable, Equatable, Codable {
    public var name: String
    public var cell: CellKind
    public var hiddenSize: Int
    public var layers: Int
    /// Token vocabulary (embedding input, cross-entropy head), or 0 for value features (MSE head).
    public var vocabularySize: Int
    public var embeddingSize: Int
    /// Values per step when `vocabularySize` is 0 (inputs and targets alike).
    public var features: Int
    /// Global batch (windows per synchronized step) and steps per window.
    public var batchSize: Int
    public var seqLen: Int
    /// Sequence classification instead: `features` values per step, windows of 1 … seqLen
    /// steps (padded batches, Note [Variable-length sequences]), one of `classes` per window,
    /// read both ways when `bidirectional`.
    public var classes = 0
    public var bidirectional = false

    /// The workloads of issue 6, plus `tiny` for tests.
    public static let all: [BenchWorkload] = [
        BenchWorkload(name: "char-lstm", cell: .lstm, hiddenSize: 256, layers: 2, vocabularySize: 65, embeddingSize: 64,
                      features: 0, batchSize: 64, seqLen: 100),
        BenchWorkload(name: "ts-lstm", cell: .lstm, hiddenSize: 64, layers: 1, vocabularySize: 0, embeddingSize: 0,
                      features: 1, batchSize: 32, seqLen: 50),
        BenchWorkload(name: "ts-gru", cell: .gru, hiddenSize: 64, layers: 1, vocabularySize: 0, embeddingSize: 0,
                      features: 1, batchSize: 32, seqLen: 50),
        BenchWorkload(name: "gru-512", cell: .gru, hiddenSize: 512, layers: 1, vocabularySize: 65, embeddingSize: 64,
                      features: 0, batchSize: 64, seqLen: 64),
        BenchWorkload(name: "rnn-256", cell: .rnn, hiddenSize: 256, layers: 1, vocabularySize: 65, embeddingSize: 64,
                      features: 0, batchSize: 64, seqLen: 100),
        BenchWorkload(name: "tiny", cell: .lstm, hiddenSize: 16, layers: 1, vocabularySize: 11, embeddingSize: 8,
                      features: 0, batchSize: 8, seqLen: 10),
        BenchWorkload(name: "tiny-var", cell: .gru, hiddenSize: 16, layers: 2, vocabularySize: 0, embeddingSize: 0,
                      features: 3, batchSize: 16, seqLen: 20, classes: 4, bidirectional: true),
    ]

    /// The workloads run when none is named (all but the `tiny` ones, which are for tests).
    public static var standard: [BenchWorkload] { all.filter { !$0.name.hasPrefix("tiny") } }

    public static func named(_ name: String) -> BenchWorkload? { all.first { $0.name == name } }

    /// Floating-point operations of one training step's GEMMs, counted from the layer shapes.
    ///
    /// With R = batch·seq_len rows, G gates (RNN 1, GRU 3, LSTM 4), hidden H, layer input I
    /// (embedding size, feature count, or H above the first layer) and head width O, a GEMM
    /// [M, K] × [K, N] counts 2·M·N·K, and one step has
    /// - per layer, forward: input projection 2·R·I·GH + recurrent GEMMs 2·R·H·GH;
    ///   backward: dh 2·R·GH·H, dW_hh 2·GH·H·R, dW_ih 2·GH·I·R, and dX 2·R·GH·I except for a
    ///   first layer fed by raw features (no gradient is needed there);
    /// - head: forward 2·R·H·O; backward dY 2·R·O·H and dW 2·O·H·R.
    /// Elementwise work (activations, loss, optimizer) is not counted. PyTorch does the same
    /// GEMMs for the same model, so the count is the same for both.
    /// Classification workloads count the real steps only (R = batch × the mean length, the
    /// work a packed-sequence implementation does), per direction, and a head on the last step
    /// (6·batch·D·H·classes).
    public var flopsPerStep: Double {
        let D = bidirectional ? 2.0 : 1.0
        let meanLength = classes > 0
            ? Double((0..<classificationWindows).reduce(0) { $0 + SyntheticDataset.length(window: $1, seqLen: seqLen) }) / Double(classificationWindows)
            : Double(seqLen)
        let R = Double(batchSize) * meanLength, H = Double(hiddenSize), GH = Double(cell.gateCount) * H
        let O = Double(classes > 0 ? classes : vocabularySize > 0 ? vocabularySize : features)
        var flops = 6 * (classes > 0 ? Double(batchSize) : R) * D * H * O
        for l in 0..<layers {
            let I = l > 0 ? D * H : Double(vocabularySize > 0 ? embeddingSize : features)
            let needsDX = l > 0 || vocabularySize > 0
            flops += D * 2 * R * GH * (I + H)                   // forward
            flops += D * 2 * R * GH * (2 * H + I + (needsDX ? I : 0))  // backward
        }
        return flops
    }

    /// The experiment this workload trains: Adam (lr 1e-3), clipping at global norm 5, stored
    /// window order, no dropout — the same settings torch_rnn_bench.py uses.
    /// - Throws: `ConfigError` only if the reader rejects it (a bug).
    /// With `microShards`, layout-invariant steps over that many micro-shards.
    public func experiment(microShards: Int? = nil) throws -> ExperimentConfig {
        let text = vocabularySize > 0
        let data = classes > 0 ? "kind: sequences, path: synthetic, seq_len: \(seqLen), variable_length: true, target: last, shuffle: false"
            : "kind: \(text ? "chars" : "series"), path: synthetic, seq_len: \(seqLen), target: next, shuffle: false"
        let yaml = """
            experiment: {name: bench-\(name), seed: 1}
            data: {\(data)}
            model: {cell: \(cell.rawValue), hidden_size: \(hiddenSize), layers: \(layers)\(text ? ", embedding_size: \(embeddingSize)" : "")\(bidirectional ? ", bidirectional: true" : "")}
            training:
              steps: 1000000
              batch_size: \(batchSize)
              optimizer: {kind: adam, lr: 0.001}
              clip: {norm: 5}
            parallel: {deterministic: \(microShards != nil), micro_shards: \(microShards ?? 16)}
            """
        return try ExperimentConfig.parse(yaml: yaml, file: "<bench \(name)>")
    }

    /// Windows of a classification workload's data: four batches, so that steps differ.
    private var classificationWindows: Int { 4 * batchSize }

    /// One global batch of fixed random data (the same batch every step, as in torch_rnn_bench.py);
    /// for classification four batches of sequences of different lengths, so steps differ.
    public func dataset() -> SyntheticDataset {
        if classes > 0 { return SyntheticDataset(classes: classes, features: features, seqLen: seqLen, windows: classificationWindows) }
        return vocabularySize > 0
            ? SyntheticDataset(tokens: vocabularySize, seqLen: seqLen, windows: batchSize)
            : SyntheticDataset(features: features, seqLen: seqLen, windows: batchSize)
    }
}

/// What one workload measured; rank 0's view of the whole job.
public struct BenchResult: Codable, Sendable {
    public var workload: String
    public var threads: Int
    public var processes: Int
    public var steps: Int
    /// Whether gradients were exchanged while backward ran (Note [Overlapped exchange]); then
    /// `allreduceShare` is the exposed exchange, after backward, rank wait included.
    public var overlap: Bool
    /// Median seconds per synchronized step, and the fastest and slowest step.
    public var stepSeconds: Double
    public var stepSecondsMin: Double
    public var stepSecondsMax: Double
    /// Global throughput at the median step time.
    public var sequencesPerSecond: Double
    public var tokensPerSecond: Double
    /// `BenchWorkload.flopsPerStep` / median step time, in 10⁹/s.
    public var gflops: Double
    /// `gflops` as a percentage of the measured FMA peak for the same threads × processes
    /// (Note [FMA peak]): at most 100 whatever BLAS kernel the machine is told to use.
    public var percentOfFMAPeak: Double
    /// Shares of the step (over all timed steps) spent summing thread gradients and in allreduce.
    public var threadReductionShare: Double
    public var allreduceShare: Double
    /// Share spent waiting for the slowest rank before the allreduce (a barrier the benchmark
    /// adds so that `allreduceShare` is the exchange alone; 0 for one process).
    public var rankWaitShare: Double
    /// Heap allocation calls per timed step (the most of any rank), nil when not countable.
    public var allocationsPerStep: Double?
    /// Peak resident memory of the process while this workload ran (the most of any rank), MiB.
    public var peakResidentMebibytes: Double
    /// Loss after the last step (shows the model trains on; random data gives about ln V).
    public var finalLoss: Double
    /// StableHasher of the parameters' bits after the last update, 16 hex digits: the same for
    /// the same workload, steps and kernel level (Note [Own GEMM]: whatever the machine's BLAS
    /// is told), so runs can be compared bit for bit.
    public var parameterChecksum: String
}

/// The machine's single-precision GEMM speed, as the benchmark measures it before the workloads.
/// The physical yardstick of `recur bench` (Note [FMA peak]): register-only FMA loops at the
/// level Recur's kernels run at (the CPU's widest under RECUR_GEMM=openblas), one per thread on
/// every process at once.
public struct FMAPeak: Codable, Sendable {
    /// The level Recur's own kernels run at (avx512, avx2, baseline; RECUR_KERNELS lowers it).
    public var kernels: String
    /// The level the loops ran at: `kernels`, or the CPU's widest when the step's GEMMs go to
    /// OpenBLAS (RECUR_GEMM=openblas), which may use it.
    public var peakLevel: String
    /// What was timed, in words.
    public var measuredWith: String
    /// Concurrent loops: threads per process × processes.
    public var concurrent: Int
    /// Their summed speed in 10⁹ FLOP/s.
    public var gflops: Double
    /// One loop's speed (one core's peak), 10⁹ FLOP/s.
    public var gflopsPerThread: Double
    /// The width of the core's two FMA units as the loops found it (FMASpeed.unitBits): 512, or
    /// 256 at AVX2 and where AVX-512 FMAs run as two 256-bit halves (AMD Zen 4); nil for the
    /// baseline, which has no FMA.
    public var fmaUnitBits: Int?
    /// The clock one core's speed implies at two FMA units of `fmaUnitBits`, GHz (nil for the
    /// baseline).
    public var impliedGigahertz: Double?

    /// Every rank runs `threads` FMA loops at once for about `seconds` (FMASpeed, RecurEngine).
    public static func measure(threads: Int, comm: Communicator, seconds: Double = 0.4) -> FMAPeak {
        let level = BLAS.comparingWithOpenBLAS ? KernelLevel.cpu : KernelLevel.current
        let gflops = FMASpeed.measure(level: level, threads: threads, comm: comm, seconds: seconds)
        let concurrent = threads * comm.size, perThread = gflops / Double(max(concurrent, 1))
        let what: String
        switch level {
        case .avx512: what = "16 chains of 512-bit FMAs in registers"
        case .avx2: what = "12 chains of 256-bit FMAs in registers"
        case .baseline: what = "12 chains of 128-bit multiply-adds in registers (no FMA)"
        }
        // At AVX-512 a short AVX2 loop tells whether the units are 512 bits wide or split a 512-bit
        // FMA in two (then both peaks are about equal), so the implied clock is the real one. The
        // loop is collective: every rank runs it when any rank is at AVX-512 (ranks agree on the
        // kernels, but under RECUR_GEMM=openblas the level is each CPU's own).
        var anyAVX512 = [level == .avx512 ? 1.0 : 0.0]
        comm.allreduceMax(&anyAVX512)
        let avx2Speed = anyAVX512[0] > 0 ? FMASpeed.measure(level: .avx2, threads: threads, comm: comm, seconds: seconds / 4) : 0
        let avx2PerThread = level == .avx512 ? avx2Speed / Double(max(concurrent, 1)) : nil
        let bits = FMASpeed.unitBits(level, peak: perThread, avx2Peak: avx2PerThread)
        return FMAPeak(kernels: KernelLevel.current.name, peakLevel: level.name, measuredWith: what, concurrent: concurrent, gflops: gflops, gflopsPerThread: perThread,
                       fmaUnitBits: bits, impliedGigahertz: bits.map { perThread / FMASpeed.flopsPerCycle(unitBits: $0) })
    }
}

public enum Benchmark {
    /// Who runs the GEMMs recur_sgemm would: "recur" (Note [Own GEMM]), or "openblas" under the
    /// comparison switch RECUR_GEMM=openblas (Note [OpenBLAS for comparisons]).
    public static var gemm: String { BLAS.comparingWithOpenBLAS ? "openblas" : "recur" }

    /// `gemm` in words for the table's header, with the core Recur switched OpenBLAS to, if any.
    public static var gemmWords: String {
        guard BLAS.comparingWithOpenBLAS else { return "Recur's" }
        return "OpenBLAS (RECUR_GEMM=openblas" + (BLAS.upgradedKernels.map { ", core \($0)" } ?? "") + ")"
    }

    /// Times `steps` training steps of `workload` after `warmup` untimed ones.
    /// - Parameters:
    ///   - threads: replicas per process.
    ///   - peak: the FMA peak to compare with.
    ///   - allocationCount: the process's allocation calls so far, or nil where not countable.
    /// - Throws: `ConfigError` when the global batch cannot feed every replica.
    public static func run(_ workload: BenchWorkload, threads: Int, steps: Int, warmup: Int, comm: Communicator,
                           peak: FMAPeak, allocationCount: (() -> UInt64)?, microShards: Int? = nil,
                           overlap: Bool = true) throws -> BenchResult {
        precondition(steps >= 1 && warmup >= 0 && threads >= 1, "Benchmark.run: bad counts")
        if comm.size * threads > workload.batchSize {
            throw ConfigError(file: "<bench \(workload.name)>", line: nil, key: "training.batch_size",
                              message: "\(workload.batchSize) windows cannot feed \(comm.size) process(es) × \(threads) thread(s); use fewer replicas")
        }
        ProcessMemory.resetPeak()
        let config = try workload.experiment(microShards: microShards)
        let dataset = workload.dataset()
        var engineConfig = config.engineConfig(for: dataset, threads: threads)
        engineConfig.overlap = overlap
        let engine = try Engine(engineConfig, dataset: dataset, comm: comm)
        try engine.agree(on: [])
        engine.broadcastInitialState()
        engine.separatesRankWait = true
        let plan = try BatchPlan.training(dataset, batchSize: workload.batchSize, shuffle: false, seed: config.seed)
        let order = plan.order(epoch: 0)
        let lr = Float(config.training.optimizer.lr)
        var index = 0
        for _ in 0..<warmup {
            _ = engine.step(order, step: index % plan.stepsPerEpoch, learningRate: lr, stepIndex: index)
            index += 1
        }
        comm.barrier()
        var times = [Double](repeating: 0, count: steps)
        var reduction = 0.0, allreduce = 0.0, wait = 0.0, loss = 0.0
        let allocationsBefore = allocationCount?() ?? 0
        for s in 0..<steps {
            let t0 = MonotonicClock.seconds()
            let r = engine.step(order, step: index % plan.stepsPerEpoch, learningRate: lr, stepIndex: index)
            times[s] = MonotonicClock.seconds() - t0
            reduction += engine.lastStepPhases.threadReduction
            allreduce += engine.lastStepPhases.allreduce
            wait += engine.lastStepPhases.rankWait
            loss = r.loss
            index += 1
        }
        let allocationsAfter = allocationCount?() ?? 0
        let allocations = comm.allgather(allocationsAfter &- allocationsBefore).max() ?? 0
        let peakKiB = comm.allgather(UInt64(ProcessMemory.peakResident() / 1024)).max() ?? 0

        let total = times.reduce(0, +)
        let sorted = times.sorted()
        let median = steps % 2 == 1 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2
        let gflops = workload.flopsPerStep / median / 1e9
        return BenchResult(
            workload: workload.name, threads: threads, processes: comm.size, steps: steps,
            overlap: engine.overlapsExchange,
            stepSeconds: median, stepSecondsMin: sorted.first!, stepSecondsMax: sorted.last!,
            sequencesPerSecond: Double(workload.batchSize) / median,
            tokensPerSecond: Double(workload.batchSize) * dataset.meanLength / median,
            gflops: gflops, percentOfFMAPeak: 100 * gflops / peak.gflops,
            threadReductionShare: reduction / total, allreduceShare: allreduce / total, rankWaitShare: wait / total,
            allocationsPerStep: allocationCount == nil ? nil : Double(allocations) / Double(steps),
            peakResidentMebibytes: Double(peakKiB) / 1024, finalLoss: loss,
            parameterChecksum: checksum(engine.parameters))
    }

    private static func checksum(_ parameters: FloatBuffer) -> String {
        var h = StableHasher()
        h.combine(bytes: UnsafeRawBufferPointer(start: parameters.base, count: parameters.count * MemoryLayout<Float>.stride))
        let hex = String(h.finalize(), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}


// MARK: - Through a Job

extension Benchmark {
    /// Checks that every rank of `job` runs the same benchmark (`lines` describe the invocation),
    /// then measures the FMA peak on `threads` × the job's processes. Collective.
    /// - Throws: `AgreementError` on every rank when ranks differ.
    public static func prepare(job: Job, threads: Int, invocation lines: [String]) throws -> FMAPeak {
        try StartupAgreement.check(StartupAgreement.buildItems() + [AgreementItem(name: "bench", lines: { lines })],
                                   comm: job.communicator)
        return FMAPeak.measure(threads: threads, comm: job.communicator)
    }

    /// Times `workload` on this job (see `run(_:threads:steps:warmup:comm:…)`). Collective.
    public static func run(_ workload: BenchWorkload, threads: Int, steps: Int, warmup: Int, job: Job, peak: FMAPeak,
                           allocationCount: (() -> UInt64)?, microShards: Int? = nil, overlap: Bool = true) throws -> BenchResult {
        try run(workload, threads: threads, steps: steps, warmup: warmup, comm: job.communicator, peak: peak,
                allocationCount: allocationCount, microShards: microShards, overlap: overlap)
    }
}
