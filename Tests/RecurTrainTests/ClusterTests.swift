// Beyond one machine (Note [Exchange deadline], launch/cluster/simulate): a rank that stops
// answering ends the whole job within seconds, naming it, where the job used to hang for good;
// the simulated cluster (network namespaces joined by shaped links, Open MPI over TCP) trains
// the bits of one process at 2 and 4 hosts; a host whose link is cut mid-run ends the job in
// under 30 s with the host named, and the job resumes exactly from its last checkpoint.

import Foundation
import XCTest

final class ClusterTests: XCTestCase {
    let yaml = """
    experiment: {name: c, seed: 3}
    data: {kind: chars, path: text.txt, seq_len: 12, split: {train: 0.9, validation: 0.1, test: 0}}
    model: {cell: gru, hidden_size: 16, embedding_size: 8}
    training: {steps: 100000, batch_size: 8, optimizer: {kind: adam, lr: 0.01}, checkpoint_every: 50, keep_checkpoints: 100000,
               eval_every: 100000000, log_every: 100000000}
    parallel: {deterministic: true, micro_shards: 4}
    """

    func setUpDir(_ name: String = #function) throws -> URL {
        let dir = try temporaryDirectory(name)
        let text = (0..<40).map { "line \($0): the quick brown fox jumps over the lazy dog; " }.joined(separator: "\n")
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func params(_ dir: URL, _ name: String) throws -> [Float] {
        try Data(contentsOf: dir.appendingPathComponent(name)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The last checkpoint's step in `run`.
    func lastCheckpoint(_ dir: URL, run: String) throws -> Int {
        let steps = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("\(run)/checkpoints").path)
            .compactMap { $0.hasPrefix("step-") ? Int($0.dropFirst(5)) : nil }
        return try XCTUnwrap(steps.max(), "no checkpoint in \(run)")
    }

    /// The reference: one process, one thread, trained to `steps`.
    func oneProcess(_ dir: URL, steps: Int, out: String) throws -> [Float] {
        let r = try runProcess(try recurExecutable().path, ["train", "e.yaml", "--threads", "1", "--quiet", "--set", "output.dir=one-\(steps)",
                                                            "--set", "training.steps=\(steps)", "--parameters-out", out],
                               in: dir, environment: [:], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try params(dir, out)
    }

    /// Starts `exe args` in `dir` with output to files; returns the process.
    func start(_ exe: String, _ args: [String], in dir: URL, output: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = dir.appendingPathComponent(output)
        FileManager.default.createFile(atPath: out.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: out)
        p.standardOutput = p.standardError
        try p.run()
        return p
    }

    /// Waits until `path` exists (or fails after `seconds`).
    func waitFor(_ path: URL, seconds: Double) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until { if FileManager.default.fileExists(atPath: path.path) { return true }; usleep(20_000) }
        return false
    }

    /// Waits for `p` to end within `seconds` (killing it otherwise); returns the seconds it took.
    func waitForExit(_ p: Process, seconds: Double, what: String) -> Double {
        let started = Date(), until = started.addingTimeInterval(seconds)
        while p.isRunning && Date() < until { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); XCTFail("\(what) did not end within \(seconds) s") }
        p.waitUntilExit()
        return Date().timeIntervalSince(started)
    }

    /// The rank number of each child of `pid` started by mpirun (OMPI_COMM_WORLD_RANK).
    func ranks(of pid: Int32) -> [Int: Int32] {
        var found: [Int: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == pid,
                  let env = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            for item in env.split(separator: 0) {
                let s = String(decoding: item, as: UTF8.self)
                if s.hasPrefix("OMPI_COMM_WORLD_RANK="), let r = Int(s.dropFirst(21)) { found[r] = child }
            }
        }
        return found
    }

    // MARK: The exchange deadline, on one host

    /// A rank that stops answering (frozen here with SIGSTOP; its daemon still answers, so
    /// Open MPI sees nothing wrong) used to hang the job for good. Now its peer gives up after
    /// parallel.exchange_timeout, names it, and mpirun ends the job; the run resumes exactly.
    func testFrozenRank_EndsTheJobNamingIt_AndTheRunResumesExactly() throws {
        let mpi = try mpirun()
        let dir = try setUpDir()
        let recur = try recurExecutable().path
        var base = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "2"]
        if getuid() == 0 { base.insert("--allow-run-as-root", at: 0) }
        let job = try start(mpi, base + [recur, "train", "e.yaml", "--threads", "1", "--quiet", "--set", "output.dir=part",
                                         "--set", "parallel.exchange_timeout=2"], in: dir, output: "job.txt")
        XCTAssert(waitFor(dir.appendingPathComponent("part/checkpoints/step-000100"), seconds: 60), "the job did not reach step 100")
        let rank1 = try XCTUnwrap(ranks(of: job.processIdentifier)[1], "rank 1's process not found")
        kill(rank1, SIGSTOP)
        let took = waitForExit(job, seconds: 30, what: "the job with a frozen rank")
        let output = (try? String(contentsOf: dir.appendingPathComponent("job.txt"), encoding: .utf8)) ?? ""
        XCTAssertNotEqual(job.terminationStatus, 0, output)
        XCTAssertLessThan(took, 15, "a 2 s deadline should end the job within seconds")
        XCTAssert(output.contains("rank 0 (host "), output)
        XCTAssert(output.contains("no data from rank 1 (host "), output)
        XCTAssert(output.contains("parallel.exchange_timeout"), output)
        XCTAssert(output.contains("recur train --resume part"), output)

        let last = try lastCheckpoint(dir, run: "part"), target = last + 30
        let resumed = try runProcess(mpi, base + [recur, "train", "--resume", "part", "--threads", "1", "--quiet",
                                                  "--set", "training.steps=\(target)", "--parameters-out", "resumed.bin"],
                                     in: dir, environment: [:], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try oneProcess(dir, steps: target, out: "one.bin"),
                       "resumed from step \(last) to \(target)")
    }

    // MARK: The simulated cluster

    /// launch/cluster/simulate, or a skip where network namespaces cannot be made (not root,
    /// no CAP_SYS_ADMIN, no mpirun).
    func simulator() throws -> String {
        _ = try mpirun()
        guard getuid() == 0 else { throw XCTSkip("the simulated cluster needs root (network namespaces)") }
        let probe = try runProcess("/bin/sh", ["-c", "command -v ip >/dev/null || exit 3; ip netns add recur-probe-$$ && ip netns del recur-probe-$$"],
                                   in: URL(fileURLWithPath: "/tmp"), environment: [:], timeout: 20)
        guard probe.status == 0 else { throw XCTSkip("network namespaces cannot be created here: \(probe.stderr)") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("launch/cluster/simulate").path
    }

    func testSimulatedCluster_TwoAndFourHosts_TrainTheBitsOfOneProcess() throws {
        let simulate = try simulator()
        let dir = try setUpDir()
        let recur = try recurExecutable().path
        let steps = 60
        let reference = try oneProcess(dir, steps: steps, out: "one.bin")
        for hosts in [2, 4] {
            let r = try runProcess(simulate, ["--hosts", "\(hosts)", "--rate", "1gbit", "--", recur, "train", "e.yaml", "--threads", "1",
                                              "--quiet", "--set", "output.dir=h\(hosts)", "--set", "training.steps=\(steps)",
                                              "--parameters-out", "h\(hosts).bin"], in: dir, environment: [:], timeout: 180)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssert(r.stderr.contains("\(hosts) host(s) × 1 rank(s)"), r.stderr)
            XCTAssert(r.stderr.contains("done: \(steps)/\(steps) steps"), r.stderr)
            XCTAssertEqual(try params(dir, "h\(hosts).bin"), reference, "\(hosts) hosts")
        }
        let left = try runProcess("/bin/sh", ["-c", "ip netns list | grep -c '^rc' || true"], in: dir, environment: [:], timeout: 20)
        XCTAssertEqual(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0", "namespaces left behind: \(left.stdout)")
    }

    func testCutLink_EndsTheJobWithin30s_NamingTheHost_AndTheJobResumesExactly() throws {
        let simulate = try simulator()
        let dir = try setUpDir()
        let recur = try recurExecutable().path
        let cutAt = dir.appendingPathComponent("part/checkpoints/step-000100")
        let job = try start(simulate, ["--hosts", "2", "--rate", "1gbit", "--cut", "host2@\(cutAt.path)", "--", recur, "train", "e.yaml",
                                       "--threads", "1", "--quiet", "--set", "output.dir=part"], in: dir, output: "job.txt")
        XCTAssert(waitFor(cutAt, seconds: 90), "the job did not reach step 100")
        let took = waitForExit(job, seconds: 60, what: "the job with a cut link")
        let output = (try? String(contentsOf: dir.appendingPathComponent("job.txt"), encoding: .utf8)) ?? ""
        XCTAssert(output.contains("cut host2's link"), output)
        XCTAssertNotEqual(job.terminationStatus, 0, output)
        XCTAssertLessThan(took, 30, output)
        XCTAssert(output.contains("(host2)") || output.contains("(host host2)"), "the message names the host: \(output)")
        XCTAssertFalse(output.contains("done:"), output)

        let last = try lastCheckpoint(dir, run: "part"), target = last + 30
        let resumed = try runProcess(simulate, ["--hosts", "2", "--rate", "1gbit", "--", recur, "train", "--resume", "part", "--threads", "1",
                                                "--quiet", "--set", "training.steps=\(target)", "--parameters-out", "resumed.bin"],
                                     in: dir, environment: [:], timeout: 180)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try params(dir, "resumed.bin"), try oneProcess(dir, steps: target, out: "one.bin"),
                       "resumed from step \(last) to \(target)")
    }

    func testSimulate_RefusesBadArguments() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let simulate = root.appendingPathComponent("launch/cluster/simulate").path
        for (args, fragment) in [(["--hosts", "0", "--", "true"], "--hosts must be a whole number"),
                                 (["--hosts", "2"], "no command"),
                                 (["--hosts", "2", "--rate", "fast", "--", "true"], "is not a tc rate"),
                                 (["--hosts", "2", "--cut", "host3@5", "--", "true"], "there are hosts 1 to 2"),
                                 (["--hosts", "2", "--bogus", "--", "true"], "unknown option '--bogus'")] {
            let r = try runProcess(simulate, args, in: URL(fileURLWithPath: "/tmp"), environment: [:], timeout: 30)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssert(r.stderr.contains(fragment), "\(args): \(r.stderr)")
        }
    }
}

/// Note [Overlapped exchange]: exchanging each gradient group while backward computes the rest
/// reduces the same buckets in the same order as exchanging after backward, so the bits are
/// the same (here at 3 processes, with dropout and gradient accumulation).
final class OverlappedExchangeTests: XCTestCase {
    func testOverlappedExchange_GivesTheBitsOfExchangingAfterBackward() throws {
        // 2 layers of 160: about 320k parameters, above Engine.smallestOverlappedModel.
        try assertOverlapKeepsTheBits(model: "{cell: lstm, hidden_size: 160, layers: 2, embedding_size: 16, dropout: 0.2}", target: "next")
    }

    /// Bidirectional layers finish four groups per layer (forward, then reverse), in the order
    /// RecurrentNetwork.gradientMilestones lists them.
    func testOverlappedExchange_Bidirectional_GivesTheBitsOfExchangingAfterBackward() throws {
        try assertOverlapKeepsTheBits(model: "{cell: gru, hidden_size: 130, layers: 2, embedding_size: 16, dropout: 0.2, bidirectional: true}",
                                      target: "last")
    }

    func assertOverlapKeepsTheBits(model: String, target: String, function: String = #function) throws {
        let mpi = try mpirun()
        let dir = try temporaryDirectory(function)
        let text = (0..<40).map { "line \($0): the quick brown fox jumps over the lazy dog; " }.joined(separator: "\n")
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: o, seed: 4}
        data: {kind: chars, path: text.txt, seq_len: 12, target: \(target), split: {train: 0.9, validation: 0.1, test: 0}}
        model: \(model)
        training: {steps: 6, batch_size: 16, accumulate: 2, optimizer: {kind: adam, lr: 0.01}, clip: {norm: 1}, log_every: 1}
        parallel: {bucket_size: 50000}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let recur = try recurExecutable().path
        // 3 ranks: a sum of three rounds differently in another order (two would not show it).
        var base = ["--oversubscribe", "--bind-to", "none", "-np", "3"]
        if getuid() == 0 { base.insert("--allow-run-as-root", at: 0) }
        var parameters: [[Float]] = []
        for overlap in [true, false] {
            let r = try runProcess(mpi, base + [recur, "train", "e.yaml", "--threads", "1", "--log-format", "json", "--set", "output.dir=run-\(overlap)",
                                                "--set", "parallel.overlap=\(overlap)", "--parameters-out", "p-\(overlap).bin"],
                                   in: dir, environment: [:], timeout: 300)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout.contains("exchange overlapped with backward"), overlap, r.stdout)
            parameters.append(try Data(contentsOf: dir.appendingPathComponent("p-\(overlap).bin")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
        }
        XCTAssertFalse(parameters[0].isEmpty)
        XCTAssertEqual(parameters[0], parameters[1])
    }
}
