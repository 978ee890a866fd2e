// Exact resume: stopping at a checkpoint (normally, by kill -9, or by a failing rank) and
// continuing with --resume gives parameters bitwise identical to a run that never stopped,
// in one process and under mpirun; and resume refuses what it cannot continue.

import Foundation
import XCTest

final class ResumeTests: XCTestCase {
    let yaml = """
    experiment: {name: r, seed: 21}
    data: {kind: chars, path: text.txt, seq_len: 12, split: {train: 0.9, validation: 0.1, test: 0}}
    model: {cell: gru, hidden_size: 16, layers: 2, embedding_size: 8, dropout: 0.1}
    training: {steps: 40, batch_size: 6, optimizer: {kind: adam, lr: 0.01}, checkpoint_every: 10, eval_every: 15, log_every: 100}
    """

    func setUpDir(_ name: String = #function, stateful: Bool = false) throws -> URL {
        let dir = try temporaryDirectory(name)
        let text = (0..<40).map { "line \($0): sing a song of sixpence, a pocket full of rye; " }.joined(separator: "\n")
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        var y = yaml
        if stateful { y = y.replacingOccurrences(of: "seq_len: 12,", with: "seq_len: 8, stateful: true,") }
        try y.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func params(_ dir: URL, _ name: String) throws -> [Float] {
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func train(_ args: [String], in dir: URL, processes: Int = 1, env: [String: String] = [:]) throws -> CommandResult {
        let recur = try recurExecutable().path
        if processes == 1 {
            return try runProcess(recur, args + ["--threads", "2"], in: dir, environment: env, timeout: 120)
        }
        var mpi = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "\(processes)"]
        if getuid() == 0 { mpi.insert("--allow-run-as-root", at: 0) }
        for k in env.keys { mpi += ["-x", k] }
        return try runProcess(try mpirun(), mpi + [recur] + args + ["--threads", "1"],
                                                  in: dir, environment: env, timeout: 120)
    }

    func assertExactResume(processes: Int, stateful: Bool, name: String = #function) throws {
        let dir = try setUpDir(name, stateful: stateful)
        let full = try train(["train", "e.yaml", "--set", "output.dir=full", "--parameters-out", "full.bin"], in: dir, processes: processes)
        XCTAssertEqual(full.status, 0, full.stderr)
        // Stop after step 20 (a finished shorter run), then continue to 40.
        let first = try train(["train", "e.yaml", "--set", "output.dir=part", "--set", "training.steps=20"], in: dir, processes: processes)
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try train(["train", "--resume", "part", "--set", "training.steps=40", "--parameters-out", "resumed.bin"],
                                in: dir, processes: processes)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try params(dir, "full.bin"), "resumed run differs from the uninterrupted one")
        // metrics.jsonl has no duplicated steps after the resume.
        let lines = try String(contentsOf: dir.appendingPathComponent("part/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let trainSteps = lines.filter { $0.contains("\"kind\":\"train\"") }.compactMap { l -> Int? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any] else { return nil }
            return o["step"] as? Int
        }
        XCTAssertEqual(trainSteps, Array(Set(trainSteps)).sorted())
    }

    func testResume_SingleProcess_BitwiseIdenticalToUninterrupted() throws {
        try assertExactResume(processes: 1, stateful: false)
    }

    func testResume_StatefulStreams_BitwiseIdenticalToUninterrupted() throws {
        try assertExactResume(processes: 1, stateful: true)
    }

    /// Variable-length sequences: the resumed run's batches (ordered longest first, cut by work)
    /// and dropout masks are the uninterrupted run's. Stopped mid-epoch (55 training examples,
    /// batches of 8: step 20 is inside epoch 3).
    func testResume_VariableLengthSequences_BitwiseIdenticalToUninterrupted() throws {
        let dir = try temporaryDirectory(#function)
        try raggedSequencesCSV(examples: 70).write(to: dir.appendingPathComponent("seqs.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: rv, seed: 22}
        data: {kind: sequences, path: seqs.csv, seq_len: 24, variable_length: true, features: 2}
        model: {cell: lstm, hidden_size: 10, layers: 2, dropout: 0.2, bidirectional: true}
        training: {steps: 40, batch_size: 8, optimizer: {kind: adam, lr: 0.01}, checkpoint_every: 10, eval_every: 15, log_every: 100}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let full = try train(["train", "e.yaml", "--set", "output.dir=full", "--parameters-out", "full.bin"], in: dir)
        XCTAssertEqual(full.status, 0, full.stderr)
        let first = try train(["train", "e.yaml", "--set", "output.dir=part", "--set", "training.steps=20"], in: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try train(["train", "--resume", "part", "--set", "training.steps=40", "--parameters-out", "resumed.bin"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try params(dir, "full.bin"), "resumed run differs from the uninterrupted one")
    }

    func testResume_UnderMPI_BitwiseIdenticalToUninterrupted() throws {
        _ = try mpirun()
        try assertExactResume(processes: 2, stateful: true)
    }

    func testKilledRun_ResumesFromLastCheckpoint_AndMatchesUninterrupted() throws {
        let dir = try setUpDir()
        let recur = try recurExecutable()
        // A long run, killed with SIGKILL once it has written a few checkpoints.
        let p = Process()
        p.executableURL = recur
        p.arguments = ["train", "e.yaml", "--set", "output.dir=killed", "--set", "training.steps=1000000", "--quiet", "--threads", "2"]
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let checkpoints = dir.appendingPathComponent("killed/checkpoints")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
            if names.filter({ $0.hasPrefix("step-") }).count >= 3 { break }
            usleep(5_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let names = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).filter { $0.hasPrefix("step-") }.sorted()
        let last = try XCTUnwrap(names.last.flatMap { Int($0.dropFirst(5)) })
        let target = last + 30
        let resumed = try train(["train", "--resume", "killed", "--set", "training.steps=\(target)", "--parameters-out", "resumed.bin"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let full = try train(["train", "e.yaml", "--set", "output.dir=full", "--set", "training.steps=\(target)", "--parameters-out", "full.bin"], in: dir)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try params(dir, "full.bin"))
    }

    func testFailingRank_JobResumesFromLastCheckpoint() throws {
        _ = try mpirun()
        let dir = try setUpDir()
        let failed = try train(["train", "e.yaml", "--set", "output.dir=failed"], in: dir, processes: 2,
                               env: ["RECUR_FAIL_STEP": "27", "RECUR_FAIL_RANK": "1"])
        XCTAssertNotEqual(failed.status, 0)
        let resumed = try train(["train", "--resume", "failed", "--parameters-out", "resumed.bin"], in: dir, processes: 2)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming from step-000020"), resumed.stderr)
        let full = try train(["train", "e.yaml", "--set", "output.dir=full", "--parameters-out", "full.bin"], in: dir, processes: 2)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try params(dir, "full.bin"))
    }

    func testResume_BadInputs_ExitTwo() throws {
        let dir = try setUpDir()
        let missing = try runRecur(["train", "--resume", "nowhere"], in: dir)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("nowhere: no such run directory"), missing.stderr)
        // A run directory whose only checkpoint is truncated.
        let r = try train(["train", "e.yaml", "--set", "output.dir=run", "--set", "training.steps=10"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let model = dir.appendingPathComponent("run/checkpoints/step-000010/model.safetensors")
        let bytes = try Data(contentsOf: model)
        try bytes.prefix(bytes.count / 2).write(to: model)
        let truncated = try runRecur(["train", "--resume", "run"], in: dir)
        XCTAssertEqual(truncated.status, 2, truncated.stderr)
        XCTAssertTrue(truncated.stderr.contains("model.safetensors"), truncated.stderr)
        // A chosen output directory that already holds a run is not overwritten.
        let again = try runRecur(["train", "e.yaml", "--set", "output.dir=run"], in: dir)
        XCTAssertEqual(again.status, 2, again.stderr)
        XCTAssertTrue(again.stderr.contains("already holds a run"), again.stderr)
    }

    func testInitFrom_StartsFromSavedParameters_AndRefusesAnotherModel() throws {
        let dir = try setUpDir()
        let a = try train(["train", "e.yaml", "--set", "output.dir=a", "--set", "training.steps=10", "--parameters-out", "a.bin"], in: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        let model = "a/checkpoints/step-000010/model.safetensors"
        // Zero steps is not allowed, so check the start: the first logged loss of a run from
        // init_from equals the loss the saved model gives (eval on the train split would be slow).
        let b = try train(["train", "e.yaml", "--set", "output.dir=b", "--set", "training.steps=1",
                           "--set", "model.init_from=\(model)", "--set", "training.optimizer.lr=1e-30", "--parameters-out", "b.bin"], in: dir)
        XCTAssertEqual(b.status, 0, b.stderr)
        let pa = try params(dir, "a.bin"), pb = try params(dir, "b.bin")
        let worst = zip(pa, pb).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThan(worst, 1e-6, "a run from init_from must start at the saved parameters")
        let wrong = try train(["train", "e.yaml", "--set", "output.dir=c", "--set", "model.hidden_size=17",
                               "--set", "model.init_from=\(model)"], in: dir)
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("model.safetensors"), wrong.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("c").path), "nothing may be written")
    }
}
