// The synchronized step in-process: Engines built directly on InProcessCommunicator (N ranks
// on threads, each rank's engine with its own workers) over a tiny in-memory data set, so
// accumulation, the overlapped exchange, layout invariance and resume are each checked in
// milliseconds. RecurTrainTests checks the same through the release binary under mpirun.

@testable import RecurEngine
import CKernels
import RecurData
import RecurPlan
import RecurKernels
import RecurModel
import RecurOptim
import RecurParallel
import XCTest

/// Random next-token windows: `windows` windows of `seqLen` tokens below `vocabulary`, the
/// same in every split; with `streams`, read as that many stateful streams (window b·W + w).
struct TinyTokens: WindowedDataset {
    let vocabulary: Int, seqLen: Int, windows: Int
    var streams: Int? = nil
    private let inputs: [Int32], targets: [Int32]
    var input: InputShape { .tokens(vocabularySize: vocabulary) }
    var targetKind: TargetKind { .nextTokens }
    var horizon: Int { 1 }
    var outputSize: Int { vocabulary }
    var targetsPerWindow: Int { seqLen }
    var streamCount: Int? { streams }

    init(vocabulary: Int = 11, seqLen: Int = 5, windows: Int = 48, streams: Int? = nil, seed: UInt64 = 7) {
        self.vocabulary = vocabulary; self.seqLen = seqLen; self.windows = windows; self.streams = streams
        var rng = SeededRandom(seed: seed)
        inputs = (0..<(windows * seqLen)).map { _ in Int32(rng.below(vocabulary)) }
        targets = (0..<(windows * seqLen)).map { _ in Int32(rng.below(vocabulary)) }
    }

    func windowCount(_ split: DataSplit) -> Int { windows }

    func fill(_ split: DataSplit, windows list: some Collection<Int>, into batch: BatchBuffers) {
        let b = list.count
        for (j, w) in list.enumerated() {
            for t in 0..<seqLen {
                batch.inputTokens![t * b + j] = inputs[w * seqLen + t]
                batch.targetTokens![t * b + j] = targets[w * seqLen + t]
            }
        }
    }

    func fingerprint() -> UInt64 { UInt64(vocabulary * 1_000_003 + seqLen * 1009 + windows) }
    var manifest: DataManifest { DataManifest(kind: .chars) }
}

/// An in-process rank that claims to exchange while computing (as MPI does), so that an
/// engine on it may overlap its exchange; everything else is the in-process rank's.
final class OverlappingCommunicator: Communicator {
    let inner: InProcessCommunicator
    init(_ inner: InProcessCommunicator) { self.inner = inner }
    var rank: Int { inner.rank }
    var size: Int { inner.size }
    var localSize: Int { inner.localSize }
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) { inner.allreduceSum(buffer, count: count) }
    func allreduceSum(_ values: inout [Double]) { inner.allreduceSum(&values) }
    func allreduceSum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) { inner.allreduceSum(buffer, count: count) }
    func allreduceMax(_ values: inout [Double]) { inner.allreduceMax(&values) }
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) { inner.broadcast(buffer, count: count, root: root) }
    func broadcast(bytes: inout [UInt8], root: Int) { inner.broadcast(bytes: &bytes, root: root) }
    func allgather(_ words: [UInt64]) -> [[UInt64]] { inner.allgather(words) }
    func barrier() { inner.barrier() }
    func abort(code: Int32) -> Never { inner.abort(code: code) }
    func waitBySleeping(_ on: Bool) {}
    var exchangesWhileComputing: Bool { true }
}

final class EngineStepTests: XCTestCase {
    let data = TinyTokens()

    func model(_ cell: CellKind = .lstm, layers: Int = 2, dropout: Float = 0) -> ModelConfig {
        ModelConfig(cell: cell, hiddenSize: 8, layers: layers, dropout: dropout, input: .embedding,
                    vocabularySize: data.vocabulary, embeddingSize: 6, outputSize: data.vocabulary)
    }

    func config(_ model: ModelConfig, batch: Int, threads: Int, optimizer: OptimizerConfig = .init(algorithm: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false), lr: 0.01, weightDecay: 0),
                bucketSize: Int = 1 << 20, microShards: Int? = nil, overlap: Bool = true) -> EngineConfig {
        var c = EngineConfig(model: model, batchSize: batch, optimizer: optimizer, clipNorm: 1.0, threads: threads,
                             bucketSize: bucketSize, seed: 42, microShards: microShards)
        c.overlap = overlap
        return c
    }

    /// Updates `updates` of a run whose updates each take `accumulate` batches of
    /// `config.batchSize`, epoch after epoch (the order of TrainingRun). Returns what went
    /// wrong (a rank's thread does not assert: XCTest records failures on the test's thread).
    func train(_ engine: Engine, updates: Range<Int>, accumulate: Int = 1) throws -> [String] {
        let plan = try BatchPlan.training(engine.dataset, batchSize: engine.config.batchSize, seed: 3)
        let perEpoch = plan.stepsPerEpoch / accumulate
        var problems: [String] = []
        for u in updates {
            let order = plan.order(epoch: u / perEpoch)
            let first = (u % perEpoch) * accumulate
            if plan.isStateful && first == 0 { engine.resetCarriedState() }
            let r = engine.step(order, batches: first..<(first + accumulate), learningRate: Float(engine.config.optimizer.lr), stepIndex: u)
            if !(r.loss.isFinite && r.parametersFinite) { problems.append("rank \(engine.comm.rank), update \(u): loss \(r.loss)") }
        }
        return problems
    }

    /// What one rank's engine ended with.
    struct RankOutcome {
        var parameters: [Float]
        var overlaps: Bool
        var problems: [String]
    }

    /// Every rank's parameters after `updates` updates at `ranks` × `config.threads`; with
    /// `overlaps`, checks that every engine does (or does not) overlap its exchange.
    func parameters(_ config: EngineConfig, ranks: Int, updates: Int, accumulate: Int = 1, overlaps: Bool? = nil,
                    wrap: @escaping (InProcessCommunicator) -> Communicator = { $0 },
                    file: StaticString = #filePath, line: UInt = #line) throws -> [[Float]] {
        let outcomes = try InProcessWorld.run(size: ranks) { comm -> RankOutcome in
            let engine = try Engine(config, dataset: self.data, comm: wrap(comm), smallestOverlappedModel: 0)
            let problems = try self.train(engine, updates: 0..<updates, accumulate: accumulate)
            return RankOutcome(parameters: engine.parameters.array, overlaps: engine.overlapsExchange, problems: problems)
        }
        for o in outcomes {
            XCTAssertEqual(o.problems, [], file: file, line: line)
            if let overlaps { XCTAssertEqual(o.overlaps, overlaps, "overlapsExchange", file: file, line: line) }
        }
        return outcomes.map(\.parameters)
    }

    /// Same bits, reported briefly (the first difference and how many).
    func assertSameBits(_ a: [Float], _ b: [Float], _ message: @autoclosure () -> String,
                        file: StaticString = #filePath, line: UInt = #line) {
        guard a.count == b.count else { return XCTFail("\(message()): \(a.count) vs \(b.count) values", file: file, line: line) }
        let differ = a.indices.filter { a[$0].bitPattern != b[$0].bitPattern }
        if let i = differ.first {
            XCTFail("\(message()): \(differ.count) of \(a.count) values differ, first at \(i): \(a[i]) vs \(b[i])", file: file, line: line)
        }
    }

    func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, n = 0.0
        for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
        return (d / max(n, 1e-300)).squareRoot()
    }

    func delta(_ after: [Float], _ before: [Float]) -> [Float] { zip(after, before).map { $0 - $1 } }

    // MARK: Gradient accumulation

    /// k batches of b accumulated make the update that one batch of k·b makes (SGD, so the
    /// update is the gradient itself), at several layouts.
    func testAccumulation_ThreeBatchesOf4_SameUpdateAsOneBatchOf12() throws {
        let sgd = OptimizerConfig(algorithm: .sgd(momentum: 0, dampening: 0, nesterov: false), lr: 0.5, weightDecay: 0)
        let start = try Engine(config(model(), batch: 12, threads: 1), dataset: data, comm: SingleProcessCommunicator()).parameters.array
        for (ranks, threads) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            let big = try parameters(config(model(), batch: 12, threads: threads, optimizer: sgd), ranks: ranks, updates: 1)
            let acc = try parameters(config(model(), batch: 4, threads: threads, optimizer: sgd), ranks: ranks, updates: 1, accumulate: 3)
            let one = try parameters(config(model(), batch: 4, threads: threads, optimizer: sgd), ranks: ranks, updates: 1)
            for r in 0..<ranks { assertSameBits(acc[r], acc[0], "\(ranks)×\(threads): ranks differ") }
            XCTAssertLessThan(relativeDifference(delta(acc[0], start), delta(big[0], start)), 1e-5, "\(ranks)×\(threads)")
            XCTAssertGreaterThan(relativeDifference(delta(one[0], start), delta(big[0], start)), 1e-2,
                                 "\(ranks)×\(threads): the comparison can fail")
        }
    }

    // MARK: The overlapped exchange

    /// With buckets of 32 floats the 2-layer model's five gradient groups are cut into many
    /// buckets; exchanging each group as backward finishes it gives the bits of exchanging them
    /// all after backward (Note [Overlapped exchange]), with and without accumulation.
    func testOverlap_SeveralBuckets_SameBitsAsAfterBackward_At2To4Ranks() throws {
        let network = try RecurrentNetwork(model())
        XCTAssertGreaterThan(network.gradientMilestones.count, 2, "several gradient groups")
        XCTAssertGreaterThan(network.parameterCount / 32, 4 * network.gradientMilestones.count, "several buckets a group")
        for cell in [CellKind.lstm, .gru] {
            for (ranks, threads) in [(2, 1), (3, 1), (4, 1), (2, 2)] {
                for accumulate in [1, 2] {
                    let label = "\(cell) \(ranks)×\(threads), \(accumulate) batch(es) an update"
                    let overlapped = try parameters(config(model(cell), batch: 8, threads: threads, bucketSize: 32), ranks: ranks,
                                                    updates: 4, accumulate: accumulate, overlaps: true, wrap: OverlappingCommunicator.init)
                    let after = try parameters(config(model(cell), batch: 8, threads: threads, bucketSize: 32, overlap: false),
                                               ranks: ranks, updates: 4, accumulate: accumulate, overlaps: false, wrap: OverlappingCommunicator.init)
                    for r in 0..<ranks {
                        assertSameBits(overlapped[r], after[0], "\(label): rank \(r)")
                        assertSameBits(after[r], after[0], "\(label): rank \(r)")
                    }
                }
            }
        }
    }

    /// The production rule: an in-process rank (which exchanges only when called) and a model
    /// under `smallestOverlappedModel` never overlap.
    func testOverlap_ProductionRule_InProcessOrSmallModel_DoesNotOverlap() throws {
        let flags = try InProcessWorld.run(size: 2) { comm -> [Bool] in
            [try Engine(self.config(self.model(), batch: 8, threads: 1), dataset: self.data, comm: comm).overlapsExchange,
             try Engine(self.config(self.model(), batch: 8, threads: 1), dataset: self.data, comm: OverlappingCommunicator(comm)).overlapsExchange,
             try Engine(self.config(self.model(), batch: 8, threads: 1), dataset: self.data, comm: OverlappingCommunicator(comm),
                        smallestOverlappedModel: 0).overlapsExchange]
        }
        XCTAssertEqual(flags, [[false, false, true], [false, false, true]])
    }

    // MARK: Layout invariance

    static let layouts = [(1, 1), (2, 1), (1, 2), (4, 1), (2, 2), (8, 1)]

    /// With 8 micro-shards (parallel.deterministic) every layout gives the same bits: parameters
    /// after Adam updates with dropout, the step's loss, and the validation loss.
    func testLayoutInvariance_MicroShards_SameBitsAtEveryLayout() throws {
        for cell in [CellKind.lstm, .gru] {
            var reference: [Float]?, referenceLoss: [Double]?
            for (ranks, threads) in Self.layouts {
                let c = config(model(cell, dropout: 0.2), batch: 16, threads: threads, bucketSize: 100, microShards: 8)
                let out = try InProcessWorld.run(size: ranks) { comm -> ([Float], [Double]) in
                    let engine = try Engine(c, dataset: self.data, comm: comm)
                    let problems = try self.train(engine, updates: 0..<4)
                    precondition(problems.isEmpty, "\(problems)")
                    let plan = try BatchPlan.training(self.data, batchSize: 16, seed: 3)
                    let step = engine.step(plan.order(epoch: 1), step: 0, learningRate: 0.01, stepIndex: 4)
                    return (engine.parameters.array, [step.loss, step.gradientNorm, engine.evaluate(.validation).loss])
                }
                for r in 0..<ranks { assertSameBits(out[r].0, out[0].0, "\(cell) \(ranks)×\(threads): rank \(r)") }
                if let reference, let referenceLoss {
                    assertSameBits(out[0].0, reference, "\(cell) \(ranks)×\(threads): parameters differ from 1×1")
                    XCTAssertEqual(out[0].1, referenceLoss, "\(cell) \(ranks)×\(threads): losses differ from 1×1")
                } else {
                    reference = out[0].0; referenceLoss = out[0].1
                }
            }
        }
    }

    /// Note [W_hh packed once per region]: the engine packs every layer's W_hh before each
    /// parallel region and all its replicas read those panels, so after each update the next
    /// region must read the new W_hh. Without the packed GEMM (RECUR_PACKED_GEMM=0) every
    /// product goes through BLAS.gemm instead; the two agree to rounding, while panels left from
    /// an earlier update would be off by the updates themselves (Adam at lr 0.01: about 1e-3).
    func testSharedPacks_FollowEveryUpdate_AsWithoutPacking() throws {
        try XCTSkipIf(recur_packed_gemm_available() == 0, "packed GEMM needs AVX2+FMA or AVX-512")
        for cell in [CellKind.lstm, .gru] {
            for microShards in [nil, 4] as [Int?] {
                let c = config(model(cell), batch: 12, threads: 2, microShards: microShards)
                let packed = try parameters(c, ranks: 1, updates: 6)[0]
                setenv("RECUR_PACKED_GEMM", "0", 1)
                defer { unsetenv("RECUR_PACKED_GEMM") }
                XCTAssertEqual(recur_packed_gemm_available(), 0)
                let plain = try parameters(c, ranks: 1, updates: 6)[0]
                let initial = try Engine(c, dataset: data, comm: SingleProcessCommunicator()).parameters.array
                XCTAssertGreaterThan(relativeDifference(packed, initial), 1e-3, "\(cell): the updates moved the parameters")
                XCTAssertLessThan(relativeDifference(packed, plain), 1e-6, "\(cell) micro-shards \(String(describing: microShards))")
            }
        }
    }

    /// Without micro-shards the layouts agree up to float rounding (and some differ in their
    /// bits, so the test with micro-shards can fail).
    func testLayoutInvariance_WithoutMicroShards_AgreesTo1e5() throws {
        var reference: [Float]?, differing = 0
        for (ranks, threads) in Self.layouts {
            let p = try parameters(config(model(.gru), batch: 16, threads: threads, bucketSize: 100), ranks: ranks, updates: 4)
            for r in 0..<ranks { assertSameBits(p[r], p[0], "\(ranks)×\(threads): ranks differ") }
            if let reference {
                XCTAssertLessThan(relativeDifference(p[0], reference), 1e-5, "\(ranks)×\(threads)")
                if p[0] != reference { differing += 1 }
            } else {
                reference = p[0]
            }
        }
        XCTAssertGreaterThan(differing, 0, "no layout rounds differently from 1×1")
    }

    // MARK: Resume

    /// N updates, then parameters, optimizer state and step (and for stateful streams the
    /// carried state) into a fresh engine, then M more: the bits of N + M updates straight
    /// (across an epoch boundary), after backward and overlapped, with micro-shards resumed at
    /// another layout, and for streams at another layout (carried state is stored in stream order).
    func testResume_NThenMUpdatesInAFreshEngine_SameBitsAsNPlusMStraight() throws {
        let n = 3, m = 4   // 48 windows in batches of 8: 6 updates an epoch
        let streams = TinyTokens(streams: 8)   // 8 streams of 6 windows: 6 updates an epoch
        let cases: [(String, EngineConfig, TinyTokens, Int, Int, Int, Bool)] = [
            ("1×1", config(model(), batch: 8, threads: 1), data, 1, 1, 1, false),
            ("2×2", config(model(), batch: 8, threads: 2, bucketSize: 64), data, 2, 2, 2, false),
            ("2×1 overlapped", config(model(), batch: 8, threads: 1, bucketSize: 64), data, 2, 2, 1, true),
            ("micro-shards 1×2 then 4×1", config(model(dropout: 0.2), batch: 8, threads: 2, microShards: 4), data, 1, 4, 1, false),
            ("streams 2×1 then 1×2", config(model(), batch: 8, threads: 1), streams, 2, 1, 2, false),
            ("streams with micro-shards 1×2 then 2×2", config(model(.gru), batch: 8, threads: 2, microShards: 4), streams, 1, 2, 2, false),
        ]
        for (label, c, data, ranks, resumeRanks, resumeThreads, overlap) in cases {
            let wrap: (InProcessCommunicator) -> Communicator = overlap ? OverlappingCommunicator.init : { $0 }
            let straight = try InProcessWorld.run(size: ranks) { comm -> RankOutcome in
                let engine = try Engine(c, dataset: data, comm: wrap(comm), smallestOverlappedModel: 0)
                let problems = try self.train(engine, updates: 0..<(n + m))
                return RankOutcome(parameters: engine.parameters.array, overlaps: engine.overlapsExchange, problems: problems)
            }
            XCTAssertEqual(straight.map(\.overlaps), Array(repeating: overlap, count: ranks), label)
            XCTAssertEqual(straight.flatMap(\.problems), [], label)
            let saved = try InProcessWorld.run(size: ranks) { comm -> Checkpoint in
                let engine = try Engine(c, dataset: data, comm: wrap(comm), smallestOverlappedModel: 0)
                let problems = try self.train(engine, updates: 0..<n)
                precondition(problems.isEmpty, "\(problems)")
                return Checkpoint(parameters: engine.parameters.array, step: engine.optimizer.stepCount,
                                  optimizer: Dictionary(uniqueKeysWithValues: engine.optimizer.stateTensors.map { ($0.name, $0.buffer.array) }),
                                  hidden: engine.carriedState(cell: false), cell: engine.carriedState(cell: true))
            }[0]
            var resumedConfig = c
            resumedConfig.threads = resumeThreads
            let resumed = try InProcessWorld.run(size: resumeRanks) { comm -> [Float] in
                let engine = try Engine(resumedConfig, dataset: data, comm: wrap(comm), smallestOverlappedModel: 0)
                engine.setParameters(saved.parameters)
                try engine.optimizer.restoreState(stepCount: saved.step, tensors: saved.optimizer)
                if data.streams != nil, let h = saved.hidden {
                    precondition(engine.restoreCarriedState(h, cell: false), "carried hidden state")
                }
                if data.streams != nil, let cs = saved.cell {
                    precondition(engine.restoreCarriedState(cs, cell: true), "carried cell state")
                }
                let problems = try self.train(engine, updates: n..<(n + m))
                precondition(problems.isEmpty, "\(problems)")
                return engine.parameters.array
            }
            XCTAssertEqual(saved.step, n, label)
            if data.streams != nil { XCTAssert(saved.hidden.map { $0.contains { $0 != 0 } } ?? false, "\(label): a state is carried") }
            for r in 0..<resumeRanks { assertSameBits(resumed[r], straight[0].parameters, "\(label): rank \(r)") }
            XCTAssertNotEqual(saved.parameters, straight[0].parameters, "\(label): the comparison can fail")
        }
    }

    /// What a checkpoint holds of an engine.
    struct Checkpoint {
        var parameters: [Float]
        var step: Int
        var optimizer: [String: [Float]]
        var hidden: [Float]?
        var cell: [Float]?
    }

    // MARK: Engines on several threads at once

    /// Each engine has its own workers: eight in-process ranks of two threads each step at the
    /// same time, and an engine that is released ends its workers.
    func testEngines_OnEightRankThreadsAtOnce_EachUseTheirOwnWorkers() throws {
        for _ in 0..<3 {
            let p = try parameters(config(model(), batch: 16, threads: 2), ranks: 8, updates: 3)
            for r in 0..<8 { assertSameBits(p[r], p[0], "rank \(r)") }
        }
    }
}
