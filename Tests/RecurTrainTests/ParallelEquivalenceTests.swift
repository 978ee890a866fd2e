// The same maths at any scale, for real: 1×1, 1×2, 2×1, 2×2 and 3×1 (processes × threads, the
// processes under mpirun over TCP only, as between nodes) give the same parameters after 20
// Adam steps up to float rounding; the same layout twice is bitwise identical; and one rank
// failing mid-run ends the whole job quickly with that rank's message.

import Foundation
import XCTest

final class ParallelEquivalenceTests: XCTestCase {
    /// Runs a layout and returns the final parameters.
    func train(_ config: String, in dir: URL, processes: Int, threads: Int, tag: String,
               environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> ([Float], CommandResult) {
        let out = dir.appendingPathComponent("params-\(tag).bin").path
        let recur = try recurExecutable().path
        var args = ["train", config, "--threads", "\(threads)", "--quiet", "--parameters-out", out]
        let r: CommandResult
        if processes == 1 {
            r = try runProcess(recur, args, in: dir, environment: environment, timeout: timeout)
        } else {
            var mpi = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "\(processes)"]
            if getuid() == 0 { mpi.insert("--allow-run-as-root", at: 0) }
            for k in environment.keys { mpi += ["-x", k] }
            args = mpi + [recur] + args
            r = try runProcess(try mpirun(), args, in: dir, environment: environment, timeout: timeout)
        }
        guard r.status == 0 else { return ([], r) }
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        return (data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, r)
    }

    func assertLayoutsAgree(_ yaml: String, name: String,
                            layouts: [(Int, Int)] = [(1, 2), (2, 1), (2, 2)]) throws {
        _ = try mpirun()
        let dir = try temporaryDirectory(name)
        let text = (0..<60).map { "line \($0): the quick brown fox jumps over the lazy dog; " }.joined(separator: "\n")
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try sineCSV(rows: 300).write(to: dir.appendingPathComponent("series.csv"), atomically: true, encoding: .utf8)
        try raggedSequencesCSV(examples: 70).write(to: dir.appendingPathComponent("seqs.csv"), atomically: true, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let (reference, r0) = try train("e.yaml", in: dir, processes: 1, threads: 1, tag: "1x1")
        XCTAssertEqual(r0.status, 0, r0.stderr)
        XCTAssertFalse(reference.isEmpty)
        // Relative difference as ‖a − b‖ / ‖b‖: Adam divides by √v, so a parameter whose gradient
        // is nearly zero (a rare token's embedding row) can move by rounding alone; the norm-wise
        // measure still catches any real disagreement, which moves many parameters.
        let refNorm = reference.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        for (p, k) in layouts {
            let (params, r) = try train("e.yaml", in: dir, processes: p, threads: k, tag: "\(p)x\(k)")
            XCTAssertEqual(r.status, 0, "\(p)×\(k): \(r.stderr)")
            XCTAssertEqual(params.count, reference.count, "\(p)×\(k)")
            let worst = zip(params, reference).map { abs($0 - $1) }.max() ?? .infinity
            let diffNorm = zip(params, reference).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            XCTAssertLessThanOrEqual(diffNorm / refNorm, 1e-5,
                                     "\(name) \(p)×\(k): relative difference \(diffNorm / refNorm), largest element difference \(worst)")
            if ProcessInfo.processInfo.environment["RECUR_VERBOSE"] != nil {
                print("\(name) \(p)x\(k): relative difference \(diffNorm / refNorm), largest element difference \(worst)")
            }
        }
        let (again, r2) = try train("e.yaml", in: dir, processes: 2, threads: 2, tag: "2x2-again")
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let (first, _) = try train("e.yaml", in: dir, processes: 2, threads: 2, tag: "2x2-first")
        XCTAssertEqual(again, first, "\(name): the same layout and seed twice must be bitwise identical")
    }

    func testLayouts_LSTMCharModel_SameParametersAfter20AdamSteps() throws {
        try assertLayoutsAgree("""
        experiment: {name: eq-lstm, seed: 11}
        data: {kind: chars, path: text.txt, seq_len: 16, split: {train: 0.9, validation: 0.1, test: 0}}
        model: {cell: lstm, hidden_size: 24, layers: 2, embedding_size: 8, dropout: 0.2}
        training: {steps: 20, batch_size: 12, optimizer: {kind: adam, lr: 0.01}, log_every: 100}
        """, name: "lstm", layouts: [(1, 2), (2, 1), (2, 2), (3, 1)])   // ~9K parameters: the ring, uneven slices
    }

    func testLayouts_GRUForecaster_SameParametersAfter20AdamSteps() throws {
        try assertLayoutsAgree("""
        experiment: {name: eq-gru, seed: 12}
        data: {kind: series, path: series.csv, columns: [value], seq_len: 10, target: next}
        model: {cell: gru, hidden_size: 20, layers: 1}
        training: {steps: 20, batch_size: 10, optimizer: {kind: adam, lr: 0.01}, log_every: 100}
        """, name: "gru", layouts: [(1, 2), (2, 1), (2, 2), (3, 1)])   // ~1.4K parameters: recursive doubling, a folded rank
    }

    /// Batches cut by work, not count (Note [Work-balanced parts]): a replica may get many short
    /// sequences or a few long ones.
    func testLayouts_VariableLengthBidirectionalGRU_SameParametersAfter20AdamSteps() throws {
        try assertLayoutsAgree("""
        experiment: {name: eq-var, seed: 14}
        data: {kind: sequences, path: seqs.csv, seq_len: 24, variable_length: true, features: 2, split: {train: 0.9, validation: 0.1, test: 0}}
        model: {cell: gru, hidden_size: 12, layers: 2, bidirectional: true}
        training: {steps: 20, batch_size: 12, optimizer: {kind: adam, lr: 0.01}, log_every: 100}
        """, name: "variable-length")
    }

    func testLayouts_StatefulCharModel_SameParametersAfter20AdamSteps() throws {
        try assertLayoutsAgree("""
        experiment: {name: eq-stateful, seed: 13}
        data: {kind: chars, path: text.txt, seq_len: 8, stateful: true, split: {train: 0.8, validation: 0.2, test: 0}}
        model: {cell: lstm, hidden_size: 16, embedding_size: 8}
        training: {steps: 20, batch_size: 8, optimizer: {kind: adam, lr: 0.01}, log_every: 100}
        """, name: "stateful")
    }

    func testOneRankFails_JobEndsQuicklyWithItsMessage() throws {
        _ = try mpirun()
        let dir = try temporaryDirectory()
        try sineCSV(rows: 2000).write(to: dir.appendingPathComponent("series.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: fail}
        data: {kind: series, path: series.csv, columns: [value], seq_len: 20}
        model: {cell: lstm, hidden_size: 32}
        training: {steps: 100000, batch_size: 8, log_every: 100000}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let started = Date()
        let (_, r) = try train("e.yaml", in: dir, processes: 2, threads: 1, tag: "fail",
                               environment: ["RECUR_FAIL_STEP": "50", "RECUR_FAIL_RANK": "1"], timeout: 60)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertLessThan(elapsed, 15, "the job took \(elapsed) s to end")
        XCTAssertTrue(r.stderr.contains("rank 1: injected failure at step 50"), r.stderr)
    }

    func testKillNineOfOneRank_EndsTheWholeJob() throws {
        let mpi = try mpirun()
        let dir = try temporaryDirectory()
        try sineCSV(rows: 500).write(to: dir.appendingPathComponent("series.csv"), atomically: true, encoding: .utf8)
        let marker = "kill9-\(UUID().uuidString.prefix(8)).yaml"
        try """
        experiment: {name: kill}
        data: {kind: series, path: series.csv, columns: [value], seq_len: 10}
        model: {cell: lstm, hidden_size: 32}
        training: {steps: 100000000, batch_size: 8, log_every: 100000000, checkpoint_every: 100000000}
        """.write(to: dir.appendingPathComponent(marker), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpi)
        var args = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "2",
                    try recurExecutable().path, "train", marker, "--threads", "1", "--quiet"]
        if getuid() == 0 { args.insert("--allow-run-as-root", at: 0) }
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Find a rank (a recur process whose command line names our file) and kill it hard.
        func ranks() -> [Int32] {
            let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return procs.compactMap(Int32.init).filter { pid in
                guard let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
                let argv = cmd.split(separator: "\0")
                return argv.first?.hasSuffix("/recur") == true && argv.contains { $0 == marker }
            }
        }
        var victims: [Int32] = []
        let found = Date().addingTimeInterval(30)
        while victims.count < 2 && Date() < found { usleep(100_000); victims = ranks() }
        XCTAssertEqual(victims.count, 2, "both ranks should be running")
        usleep(500_000)
        let killed = Date()
        kill(victims[0], SIGKILL)
        while p.isRunning && Date().timeIntervalSince(killed) < 20 { usleep(50_000) }
        let elapsed = Date().timeIntervalSince(killed)
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        XCTAssertLessThan(elapsed, 15, "the job did not end within 15 s of kill -9")
        XCTAssertNotEqual(p.terminationStatus, 0)
        usleep(200_000)
        XCTAssertTrue(ranks().isEmpty, "no rank may be left behind")
    }
}
