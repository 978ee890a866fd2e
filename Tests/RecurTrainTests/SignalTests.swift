// Stopping on a signal (Note [Stopping on a signal]): SIGINT to one process and SIGTERM to
// mpirun both finish the step in flight, write one checkpoint of it on every rank, say how to
// resume, and end non-zero; resuming from that checkpoint gives the bits of a run that was
// never stopped. Before this, a signal ended the run at once and lost up to checkpoint_every steps.

import Foundation
import XCTest

final class SignalTests: XCTestCase {
    let yaml = """
    experiment: {name: s, seed: 5}
    data: {kind: chars, path: text.txt, seq_len: 12, split: {train: 0.9, validation: 0.1, test: 0}}
    model: {cell: lstm, hidden_size: 16, embedding_size: 8}
    training: {steps: 100000000, batch_size: 6, optimizer: {kind: adam, lr: 0.01}, checkpoint_every: 100000000, eval_every: 100000000, log_every: 100000000}
    """

    func setUpDir(_ name: String = #function) throws -> URL {
        let dir = try temporaryDirectory(name)
        let text = (0..<40).map { "line \($0): sing a song of sixpence, a pocket full of rye; " }.joined(separator: "\n")
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Starts `exe args` in `dir`, waits until the run has written metrics (it is training),
    /// sends `signal` and waits for the exit.
    func runAndSignal(_ exe: String, _ args: [String], in dir: URL, metrics: String, signal: Int32) throws -> CommandResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = dir
        let err = dir.appendingPathComponent("signal-err.txt")
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let ready = Date().addingTimeInterval(30)
        while Date() < ready && !FileManager.default.fileExists(atPath: dir.appendingPathComponent(metrics).path) { usleep(50_000) }
        usleep(700_000)
        kill(p.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); XCTFail("\(args) did not end within 60 s of the signal") }
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, "ended by a signal, not by itself")
        return CommandResult(status: p.terminationStatus, stdout: "", stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// The step the signal stopped at, from the one checkpoint written.
    func stoppedStep(_ dir: URL, run: String) throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("\(run)/checkpoints").path)
            .filter { $0.hasPrefix("step-") }
        XCTAssertEqual(names.count, 1, "one checkpoint, of the stopped step: \(names)")
        return try XCTUnwrap(names.first.flatMap { Int($0.dropFirst(5)) })
    }

    func params(_ dir: URL, _ name: String) throws -> [Float] {
        try Data(contentsOf: dir.appendingPathComponent(name)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testSIGINT_OneProcess_CheckpointsTheStep_AndResumesExactly() throws {
        let dir = try setUpDir()
        let recur = try recurExecutable().path
        let r = try runAndSignal(recur, ["train", "e.yaml", "--threads", "2", "--set", "output.dir=part"], in: dir,
                                 metrics: "part/metrics.jsonl", signal: SIGINT)
        XCTAssertEqual(r.status, 130, r.stderr)
        let step = try stoppedStep(dir, run: "part")
        XCTAssert(r.stderr.contains("stopped by SIGINT at step \(step)"), r.stderr)
        XCTAssert(r.stderr.contains("continue with: recur train --resume"), r.stderr)
        let target = step + 7
        let resumed = try runProcess(recur, ["train", "--resume", "part", "--threads", "2", "--quiet", "--set", "training.steps=\(target)",
                                             "--parameters-out", "resumed.bin"], in: dir, environment: [:], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let full = try runProcess(recur, ["train", "e.yaml", "--threads", "2", "--quiet", "--set", "output.dir=full",
                                          "--set", "training.steps=\(target)", "--parameters-out", "full.bin"], in: dir, environment: [:], timeout: 300)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try params(dir, "full.bin"), "stopped at \(step) and resumed to \(target)")
    }

    /// SIGHUP (the terminal closed) and SIGQUIT (Ctrl-\\) stop like SIGINT: the step's checkpoint,
    /// the resume hint, 128 + the signal, and no crash report.
    func testSIGHUP_AndSIGQUIT_StopWithACheckpoint_NoCrashReport() throws {
        let recur = try recurExecutable().path
        for (signal, name) in [(SIGHUP, "SIGHUP"), (SIGQUIT, "SIGQUIT")] {
            let dir = try setUpDir("signal-\(name)")
            let r = try runAndSignal(recur, ["train", "e.yaml", "--threads", "2", "--set", "output.dir=part"], in: dir,
                                     metrics: "part/metrics.jsonl", signal: signal)
            XCTAssertEqual(r.status, 128 + signal, r.stderr)
            let step = try stoppedStep(dir, run: "part")
            XCTAssert(r.stderr.contains("stopped by \(name) at step \(step)"), r.stderr)
            XCTAssert(r.stderr.contains("continue with: recur train --resume"), r.stderr)
            for crash in ["Crash", "Backtrace", "Fatal error", "💣"] { XCTAssertFalse(r.stderr.contains(crash), r.stderr) }
        }
    }

    /// `recur train … | head -1`: the reader goes away after one line, the run does not (SIGPIPE
    /// is ignored, lost progress is no error) and ends with its last checkpoint, exit 0.
    func testSIGPIPE_ReaderGone_RunFinishesWithItsCheckpoint() throws {
        let dir = try setUpDir()
        let recur = try recurExecutable().path
        try yaml.replacingOccurrences(of: "steps: 100000000", with: "steps: 300")
            .replacingOccurrences(of: "log_every: 100000000", with: "log_every: 1")
            .write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let r = try runProcess("/bin/bash", ["-c", "'\(recur)' train e.yaml --threads 2 2>&1 | head -1; exit ${PIPESTATUS[0]}"],
                               in: dir, environment: [:], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, r.stdout)
        XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs/s/checkpoints/step-000300").path))
        // The JSON events are the output itself: a reader that goes away is an error, after the checkpoint.
        let json = try runProcess("/bin/bash", ["-c", "'\(recur)' train e.yaml --threads 2 --log-format json --set output.dir=j | head -1 >/dev/null; exit ${PIPESTATUS[0]}"],
                                  in: dir, environment: [:], timeout: 120)
        XCTAssertEqual(json.status, 1, json.stderr)
        XCTAssert(json.stderr.contains("standard output: cannot write the JSON events: Broken pipe"), json.stderr)
        XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("j/checkpoints/step-000300").path))
    }

    /// mpirun passes SIGTERM on to both ranks (and kills them a second later): both stop after the
    /// same step, agreed through the step's allreduce, and write that step's checkpoint in time.
    func testSIGTERM_UnderMPI_BothRanksStopAtOneStep_AndResumeIsExact() throws {
        let mpi = try mpirun()
        let dir = try setUpDir()
        let recur = try recurExecutable().path
        var base = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "2"]
        if getuid() == 0 { base.insert("--allow-run-as-root", at: 0) }
        let r = try runAndSignal(mpi, base + [recur, "train", "e.yaml", "--threads", "1", "--set", "output.dir=part"], in: dir,
                                 metrics: "part/metrics.jsonl", signal: SIGTERM)
        XCTAssertNotEqual(r.status, 0, r.stderr)
        let step = try stoppedStep(dir, run: "part")
        XCTAssert(r.stderr.contains("stopped by SIGTERM at step \(step)"), r.stderr)
        let target = step + 7
        let resumed = try runProcess(mpi, base + [recur, "train", "--resume", "part", "--threads", "1", "--quiet",
                                                  "--set", "training.steps=\(target)", "--parameters-out", "resumed.bin"],
                                     in: dir, environment: [:], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let full = try runProcess(mpi, base + [recur, "train", "e.yaml", "--threads", "1", "--quiet", "--set", "output.dir=full",
                                               "--set", "training.steps=\(target)", "--parameters-out", "full.bin"],
                                  in: dir, environment: [:], timeout: 300)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try params(dir, "full.bin"), "stopped at \(step) and resumed to \(target)")
    }
}
