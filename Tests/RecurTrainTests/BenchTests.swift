// `recur bench` and launch/bench-compare on the tiny workload, so both keep working; and the
// FLOP count of docs/benchmarks.md, checked by hand for char-lstm. Speed is not asserted here.

import Foundation
import RecurTrain
import XCTest

final class BenchTests: XCTestCase {
    func testFlopCount_CharLSTM_MatchesTheDocumentedFormula() {
        let w = BenchWorkload.named("char-lstm")!
        // R = 6400 rows; layer 0: GH = 1024, I = 64; layer 1: I = 256; head O = 65.
        let R = 6400.0
        let layer0 = 2 * R * 1024 * (64 + 256) + 2 * R * 1024 * (2 * 256 + 64 + 64)
        let layer1 = 2 * R * 1024 * (256 + 256) + 2 * R * 1024 * (2 * 256 + 256 + 256)
        XCTAssertEqual(w.flopsPerStep, layer0 + layer1 + 6 * R * 256 * 65, accuracy: 1)
    }

    func testBenchTiny_JSON_HasEveryMeasure() throws {
        let r = try runRecur(["bench", "tiny", "--json", "--steps", "3", "--warmup", "1"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let report = try XCTUnwrap(object, "not a JSON object: \(r.stdout)")
        XCTAssertEqual(report["threads"] as? Int, 1)
        XCTAssertEqual(report["processes"] as? Int, 1)
        XCTAssertEqual(report["gemm"] as? String, "recur", "every GEMM is Recur's unless RECUR_GEMM=openblas")
        // The yardstick is the cores' FMA peak at this process's kernel level (Note [FMA peak]).
        let peak = try XCTUnwrap(report["fma_peak"] as? [String: Any])
        XCTAssertGreaterThan(peak["gflops"] as? Double ?? 0, 0)
        XCTAssert(["avx512", "avx2", "baseline"].contains(peak["kernels"] as? String ?? ""), "\(peak)")
        XCTAssertEqual(peak["concurrent"] as? Int, 1)
        XCTAssertEqual(peak["peak_level"] as? String, peak["kernels"] as? String,
                       "every GEMM is Recur's, so the peak is measured at Recur's kernel level")
        if peak["kernels"] as? String != "baseline" {
            // The clock is quoted at the width the units were found to run (FMASpeed.unitBits).
            XCTAssert([256, 512].contains(peak["fma_unit_bits"] as? Int ?? 0), "\(peak)")
            XCTAssert((0.5...7).contains(peak["implied_gigahertz"] as? Double ?? 0), "no core runs at \(peak)")
        }
        let results = try XCTUnwrap(report["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 1)
        let t = results[0]
        XCTAssertEqual(t["workload"] as? String, "tiny")
        XCTAssertEqual(t["steps"] as? Int, 3)
        let step = try XCTUnwrap(t["step_seconds"] as? Double)
        XCTAssertGreaterThan(step, 0)
        XCTAssertEqual(t["sequences_per_second"] as? Double ?? 0, 8 / step, accuracy: 8 / step * 1e-9)
        XCTAssertEqual(t["tokens_per_second"] as? Double ?? 0, 80 / step, accuracy: 80 / step * 1e-9)
        for key in ["gflops", "percent_of_fma_peak", "peak_resident_mebibytes"] {
            XCTAssertGreaterThan(t[key] as? Double ?? 0, 0, key)
        }
        XCTAssertLessThanOrEqual(t["percent_of_fma_peak"] as? Double ?? 101, 100, "no workload beats the arithmetic units")
        for key in ["thread_reduction_share", "allreduce_share"] {
            let share = try XCTUnwrap(t[key] as? Double, key)
            XCTAssert((0...1).contains(share), "\(key) = \(share)")
        }
        XCTAssertEqual(t["rank_wait_share"] as? Double, 0, "one process never waits for another")
        XCTAssert((t["final_loss"] as? Double ?? .nan).isFinite)
        #if os(Linux)
        XCTAssertNotNil(t["allocations_per_step"] as? Double, "allocations are counted on Linux")
        #endif
    }

    /// Note [Own GEMM]: every GEMM of a step is Recur's, so what the machine's OpenBLAS is told
    /// (some machines of this kind set OPENBLAS_CORETYPE=Haswell) changes no bit of the update.
    /// A char-lstm step at batch 16 takes every GEMM path (embedding table, input projections,
    /// head, their backward, weight gradients with K = batch×time, recurrent products). With
    /// RECUR_GEMM=openblas (the step's GEMMs in OpenBLAS) the checksums differ by core.
    func testStepBits_DoNotDependOnWhatOpenBLASIsTold() throws {
        let exe = try releaseRecurExecutable().path
        let dir = try temporaryDirectory()
        func run(_ core: String) throws -> (checksum: String, peakLevel: String) {
            let r = try runProcess(exe, ["bench", "char-lstm", "--batch", "16", "--json", "--steps", "2", "--warmup", "1"],
                                   in: dir, environment: ["OPENBLAS_CORETYPE": core], timeout: 120)
            XCTAssertEqual(r.status, 0, r.stderr)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let result = try XCTUnwrap((report["results"] as? [[String: Any]])?.first)
            let checksum = try XCTUnwrap(result["parameter_checksum"] as? String)
            XCTAssertEqual(checksum.count, 16)
            let peak = try XCTUnwrap(report["fma_peak"] as? [String: Any])
            return (checksum, try XCTUnwrap(peak["peak_level"] as? String))
        }
        let prescott = try run("Prescott")   // OpenBLAS's SSE3 kernels: on every x86-64
        var cores = ["Prescott"]
        if prescott.peakLevel != "baseline" { cores.append("Haswell") }
        if prescott.peakLevel == "avx512" { cores.append("SkylakeX") }
        for core in cores.dropFirst() {
            XCTAssertEqual(try run(core).checksum, prescott.checksum, "OPENBLAS_CORETYPE=\(core) against Prescott")
        }
    }

    /// Every kernel of a step sums each value in the same order with the same fused
    /// multiply-adds at AVX-512 and AVX2 (the GEMMs' per-element chains, the cells' per-element
    /// formulas, no reassociation), so the two levels give the same bits: the deterministic
    /// mode's promise holds across this project's CPUs, AVX-512 or not (Note [Layout-invariant
    /// steps]). LSTM with an embedding, a GRU forecaster, a tanh RNN, variable-length sequences,
    /// and a deterministic step; the baseline (multiply, then add) differs.
    func testStepBits_SameAtAVX512AndAVX2() throws {
        let exe = try releaseRecurExecutable().path
        let dir = try temporaryDirectory()
        func run(_ args: [String], kernels: String) throws -> (checksum: String, kernels: String) {
            let r = try runProcess(exe, ["bench"] + args + ["--json", "--steps", "2", "--warmup", "1"],
                                   in: dir, environment: ["RECUR_KERNELS": kernels], timeout: 120)
            XCTAssertEqual(r.status, 0, r.stderr)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let result = try XCTUnwrap((report["results"] as? [[String: Any]])?.first)
            let peak = try XCTUnwrap(report["fma_peak"] as? [String: Any])
            return (try XCTUnwrap(result["parameter_checksum"] as? String), try XCTUnwrap(peak["kernels"] as? String))
        }
        let cases = [["char-lstm", "--batch", "16"], ["ts-gru"], ["rnn-256", "--batch", "16"], ["tiny-var"],
                     ["char-lstm", "--batch", "16", "--micro-shards", "4"]]
        for args in cases {
            let wide = try run(args, kernels: "avx512")
            try XCTSkipIf(wide.kernels != "avx512", "this CPU has no AVX-512")
            let avx2 = try run(args, kernels: "avx2")
            XCTAssertEqual(avx2.kernels, "avx2")
            XCTAssertEqual(avx2.checksum, wide.checksum, "\(args.joined(separator: " ")): AVX2 against AVX-512")
        }
        let baseline = try run(cases[0], kernels: "baseline")
        XCTAssertNotEqual(baseline.checksum, try run(cases[0], kernels: "avx2").checksum,
                          "the baseline multiplies, then adds: other bits (if not, this test checks nothing)")
    }

    /// Ranks at AVX-512 and at AVX2 agree at start-up (their arithmetic is the same) and train
    /// to one set of bits in deterministic mode; a baseline rank is refused before anything
    /// runs, with the setting that makes the ranks agree.
    func testMixedKernelRanks_AVX2WithAVX512_Agree_BaselineRefused() throws {
        let mpi = try mpirun(), exe = try releaseRecurExecutable().path, dir = try temporaryDirectory()
        let bench = ["bench", "char-lstm", "--batch", "16", "--micro-shards", "4", "--json", "--steps", "2", "--warmup", "1"]
        func ranks(_ first: String, _ second: String) throws -> CommandResult {
            var args = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self",
                        "-np", "1", "-x", "RECUR_KERNELS=\(first)", exe] + bench + [":", "-np", "1", "-x", "RECUR_KERNELS=\(second)", exe] + bench
            if getuid() == 0 { args.insert("--allow-run-as-root", at: 0) }
            return try runProcess(mpi, args, in: dir, environment: [:], timeout: 120)
        }
        func checksum(_ r: CommandResult) throws -> String {
            XCTAssertEqual(r.status, 0, r.stderr)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
            return try XCTUnwrap((report["results"] as? [[String: Any]])?.first?["parameter_checksum"] as? String)
        }
        let oneLevel = try checksum(try ranks("avx2", "avx2"))
        let refused = try ranks("baseline", "avx2")
        XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
        XCTAssert(refused.stderr.contains("kernel arithmetic") && refused.stderr.contains("RECUR_KERNELS=baseline on every rank"), refused.stderr)
        try XCTSkipUnless((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains("avx512f") ?? false,
                          "this CPU has no AVX-512")
        XCTAssertEqual(try checksum(try ranks("avx512", "avx2")), oneLevel, "an AVX-512 rank beside an AVX2 one")
    }

    /// The comparison switch takes one value; another is refused before anything runs.
    func testUnknownGEMMSetting_ExitsTwo_WithTheFix() throws {
        let r = try runProcess(try releaseRecurExecutable().path, ["bench", "tiny", "--steps", "1"], in: try temporaryDirectory(),
                               environment: ["RECUR_GEMM": "mkl"], timeout: 60)
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssert(r.stderr.contains("RECUR_GEMM=mkl") && r.stderr.contains("RECUR_GEMM=openblas"), r.stderr)
        XCTAssertFalse(r.stdout.contains("tiny "), "no workload ran: \(r.stdout)")
    }

    /// Allocations per steady-state step that `recur bench` (release build) reports for `workload`.
    private func allocationsPerStep(_ workload: String, threads: Int) throws -> Double {
        let exe = try releaseRecurExecutable().path
        let r = try runProcess(exe, ["bench", workload, "--threads", "\(threads)", "--json", "--steps", "12", "--warmup", "3"],
                               in: try temporaryDirectory(), environment: [:], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let t = try XCTUnwrap((report["results"] as? [[String: Any]])?.first)
        return try XCTUnwrap(t["allocations_per_step"] as? Double)
    }

    /// A warm step allocates nothing at 1 and 2 threads, for the LSTM with an embedding (`tiny`,
    /// whose 11×8×64 embedding-gradient GEMM made OpenBLAS's AVX-512 small-matrix kernel call
    /// malloc every step: Note [Small GEMMs]), the GRU forecaster, and a bidirectional GRU
    /// classifier of sequences of different lengths (`tiny-var`: batches of 1 … 20 steps, ordered
    /// and cut by work every step).
    func testBench_SteadyStateStep_AllocatesNothing_At1And2Threads() throws {
        #if os(Linux)
        for workload in ["tiny", "ts-gru", "tiny-var"] {
            for threads in [1, 2] {
                XCTAssertEqual(try allocationsPerStep(workload, threads: threads), 0,
                               "heap allocations per steady-state step, \(workload) at \(threads) thread(s)")
            }
        }
        #else
        throw XCTSkip("allocations are counted on Linux only")
        #endif
    }

    /// The steady-state step under mpirun allocates nothing: the ring allreduce reuses its
    /// scratch buffer (MPI_Allreduce allocated about 2 times per step on this workload).
    func testBenchTiny_UnderMPI_ReportsTwoRanks_AndNoAllocationsPerStep() throws {
        let mpi = try mpirun()
        var args = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "2",
                    try releaseRecurExecutable().path, "bench", "tiny", "tiny-var", "--json", "--steps", "20", "--warmup", "3"]
        if getuid() == 0 { args.insert("--allow-run-as-root", at: 0) }
        let r = try runProcess(mpi, args, in: try temporaryDirectory(), environment: [:], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
                                   "rank 0 prints one JSON document: \(r.stdout)")
        XCTAssertEqual(report["processes"] as? Int, 2)
        let results = try XCTUnwrap(report["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        for t in results {
            for key in ["allreduce_share", "rank_wait_share"] {
                let share = try XCTUnwrap(t[key] as? Double, key)
                XCTAssert((0...1).contains(share), "\(key) = \(share)")
            }
            #if os(Linux)
            let allocations = try XCTUnwrap(t["allocations_per_step"] as? Double)
            XCTAssertEqual(allocations, 0, "heap allocations per steady-state step under mpirun (the most of any rank), \(t["workload"] ?? "")")
            #endif
        }
    }

    func testBenchBatchOverride_SetsTheGlobalBatch_AndRefusesZero() throws {
        let r = try runRecur(["bench", "tiny", "--batch", "16", "--json", "--steps", "2", "--warmup", "0"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let t = try XCTUnwrap((report["results"] as? [[String: Any]])?.first)
        let step = try XCTUnwrap(t["step_seconds"] as? Double)
        XCTAssertEqual(t["sequences_per_second"] as? Double ?? 0, 16 / step, accuracy: 16 / step * 1e-9)
        let bad = try runRecur(["bench", "tiny", "--batch", "0"], timeout: 30)
        XCTAssertEqual(bad.status, 2)
        XCTAssert(bad.stderr.contains("--batch must be at least 1"), bad.stderr)
    }

    func testBenchUnknownWorkload_FailsNamingTheChoices() throws {
        let r = try runRecur(["bench", "char-gru"], timeout: 30)
        XCTAssertNotEqual(r.status, 0)
        XCTAssert(r.stderr.contains("char-lstm"), r.stderr)
    }

    func testBenchCompareTiny_PrintsRatio_WhenTorchIsPresent() throws {
        guard let python = torchPython() else { throw XCTSkip("no Python with torch") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root.appendingPathComponent("launch/bench-compare").path, "tiny",
                       "--rounds", "1", "--steps", "2", "--warmup", "1", "--json"]
        var env = ProcessInfo.processInfo.environment
        env["RECUR_BIN"] = try recurExecutable().path
        env["RECUR_TORCH_PYTHON"] = python
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, errText)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(doc["torch"] as? Bool, true)
        let row = try XCTUnwrap((doc["rows"] as? [[String: Any]])?.first)
        XCTAssertEqual(row["workload"] as? String, "tiny")
        XCTAssertGreaterThan(row["speedup"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(row["torch_peak_mib"] as? Double ?? 0, 0)
    }

    /// The Python bench-compare would use, if it imports torch.
    private func torchPython() -> String? {
        let env = ProcessInfo.processInfo.environment
        for c in [env["RECUR_TORCH_PYTHON"], "/opt/torchref/bin/python"].compactMap({ $0 })
        where FileManager.default.isExecutableFile(atPath: c) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: c)
            p.arguments = ["-c", "import torch"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { continue }
            p.waitUntilExit()
            if p.terminationStatus == 0 { return c }
        }
        return nil
    }
}
