// recur sweep: a grid trained as ordinary runs under one directory; killed with SIGKILL and run
// again it continues (the run in flight resumes from the checkpoint it wrote when the sweep
// died) and its table equals that of a sweep that was never interrupted; bad grids exit 2.

import Foundation
import XCTest

final class SweepTests: XCTestCase {
    func experiment(_ dir: URL) throws {
        try sineCSV(rows: 300).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: sine}
        data: {kind: series, path: s.csv, columns: [value], seq_len: 10, split: {train: 0.7, validation: 0.15, test: 0.15}}
        model: {cell: lstm, hidden_size: 8}
        training: {steps: 400, batch_size: 16, eval_every: 20, checkpoint_every: 20, optimizer: {kind: adam, lr: 0.01}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
    }

    let grid = ["--grid", "model.hidden_size=[6,10]", "--grid", "training.optimizer.lr=[0.01,0.003]"]

    /// The 2×2 sweep started in the background, its output discarded.
    func startSweep(in dir: URL, sweepDirectory: String) throws -> Process {
        let p = Process()
        p.executableURL = try recurExecutable()
        p.arguments = ["sweep", "e.yaml", "--dir", sweepDirectory] + grid
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func testSweep_2x2_KilledAndRerun_EqualsAnUninterruptedSweep() throws {
        let dir = try temporaryDirectory()
        try experiment(dir)
        let clean = try runRecur(["sweep", "e.yaml", "--dir", "clean"] + grid, in: dir, timeout: 300)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        let table = clean.stdout.split(separator: "\n")
        XCTAssertEqual(table.count, 5, clean.stdout)
        let csv = try String(contentsOf: dir.appendingPathComponent("clean/sweep.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "rank,model.hidden_size,training.optimizer.lr,best_validation_loss,best_step,status,run,rmse,mae,mape,smape,mase")
        // Sorted by best validation loss, every run done, each run's best equal to its own metrics.jsonl minimum.
        let rows = csv.dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows.map { Double($0[3])! }, rows.map { Double($0[3])! }.sorted())
        for r in rows {
            XCTAssertEqual(r[5], "done")
            let metrics = try String(contentsOf: dir.appendingPathComponent("clean/\(r[6])/metrics.jsonl"), encoding: .utf8)
            let losses = metrics.split(separator: "\n").compactMap { line -> Double? in
                let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return o?["kind"] as? String == "validation" ? o?["loss"] as? Double : nil
            }
            XCTAssertEqual(losses.min(), Double(r[3]), r[6])
            XCTAssertTrue(r[6].contains("hidden_size=\(r[1])") && r[6].contains("lr=\(r[2])"), r[6])
            // The forecast metrics of the run's best checkpoint on its validation split, as eval gives them.
            let eval = try runRecur(["eval", "clean/\(r[6])", "--split", "validation", "--json", "--threads", "1"], in: dir)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
            let mase = try XCTUnwrap((report["mase"] as? [String: Double])?["value"])
            XCTAssertEqual(Double(r[11])!, mase, accuracy: 1e-9 * max(1, mase), "sweep.csv's MASE is eval's")
        }

        // The same sweep, killed with SIGKILL while its second run trains, then run again.
        let p = try startSweep(in: dir, sweepDirectory: "killed")
        let deadline = Date().addingTimeInterval(120)
        func secondRunHasCheckpoint() -> Bool {
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("killed").path)) ?? []
            guard let second = runs.first(where: { $0.hasPrefix("01-") }) else { return false }
            let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("killed/\(second)/checkpoints").path)) ?? []
            return checkpoints.contains { $0.hasPrefix("step-") && !$0.contains("tmp") }
        }
        while !secondRunHasCheckpoint() && p.isRunning && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(p.isRunning, "the sweep finished before it could be killed; make its runs longer")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let again = try runRecur(["sweep", "e.yaml", "--dir", "killed"] + grid, in: dir, timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("killed/sweep.csv"), encoding: .utf8),
                       try String(contentsOf: dir.appendingPathComponent("clean/sweep.csv"), encoding: .utf8))
        XCTAssertEqual(again.stdout, clean.stdout)
        // The run in flight resumed from its checkpoint instead of starting over.
        let log = try String(contentsOf: dir.appendingPathComponent("killed/logs/01-hidden_size=6-lr=0.003.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("stopped by SIGTERM"), log)
        // A third run of the command only reports.
        let third = try runRecur(["sweep", "e.yaml", "--dir", "killed"] + grid, in: dir, timeout: 300)
        XCTAssertEqual(third.stdout, clean.stdout)
    }

    func testSweep_BadGrids_ExitTwo_BeforeAnyRun() throws {
        let dir = try temporaryDirectory()
        try experiment(dir)
        let cases: [([String], String)] = [
            (["--grid", "model.hiden_size=[4,8]"], "hidden_size"),
            (["--grid", "model.hidden_size=[4,zero]"], "zero"),
            (["--grid", "model.hidden_size=[4,0]"], "model.hidden_size"),
            (["--grid", "model.hidden_size"], "KEY=[v1,v2"),
            (["--grid", "model.hidden_size=[4,,8]"], "separated by commas"),
            (["--grid", "model.hidden_size=[4,4]"], "listed twice"),
            (["--grid", "model.hidden_size=[4]", "--grid", "model.hidden_size=[8]"], "given twice"),
            (["--grid", "output.dir=[a,b]"], "--dir"),
            ([], "at least one --grid"),
            (["--grid", "model.hidden_size=[4,8]", "--parallel", "0"], "--parallel"),
        ]
        for (args, fragment) in cases {
            let r = try runRecur(["sweep", "e.yaml", "--dir", "bad"] + args, in: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(fragment), "\(args): «\(fragment)» missing from \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad").path), "\(args) started a sweep")
        }
        // A directory holding another grid's sweep is not mixed with this one.
        XCTAssertEqual(try runRecur(["sweep", "e.yaml", "--dir", "s", "--grid", "model.hidden_size=[4,6]", "--set", "training.steps=20"], in: dir).status, 0)
        let other = try runRecur(["sweep", "e.yaml", "--dir", "s", "--grid", "model.hidden_size=[4,8]", "--set", "training.steps=20"], in: dir)
        XCTAssertEqual(other.status, 2)
        XCTAssertTrue(other.stderr.contains("holds a sweep of another"), other.stderr)
    }

    func testSweep_Parallel_SplitsTheCores() throws {
        let dir = try temporaryDirectory()
        try experiment(dir)
        let r = try runRecur(["sweep", "e.yaml", "--dir", "p", "--parallel", "2", "--grid", "model.hidden_size=[4,6]", "--set", "training.steps=40"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        XCTAssertTrue(r.stderr.contains("2 at a time with \(max(1, cores / 2)) thread"), r.stderr)
        for name in ["00-hidden_size=4", "01-hidden_size=6"] {
            let log = try String(contentsOf: dir.appendingPathComponent("p/logs/\(name).jsonl"), encoding: .utf8)
            XCTAssertTrue(log.contains("\"threads\":\(Double(max(1, cores / 2)))"), log)
        }
    }

    /// A `sweep:` section in the experiment does what --grid does; --grid replaces it.
    func testSweep_GridFromTheExperimentFile() throws {
        let dir = try temporaryDirectory()
        try experiment(dir)
        let text = try String(contentsOf: dir.appendingPathComponent("e.yaml"), encoding: .utf8)
        try (text + "\nsweep:\n  grid: [\"model.hidden_size=[4,6]\", \"training.optimizer.lr=[0.01]\"]\n")
            .write(to: dir.appendingPathComponent("f.yaml"), atomically: true, encoding: .utf8)
        let r = try runRecur(["sweep", "f.yaml", "--dir", "f", "--set", "training.steps=20"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("sweep of 2 runs"), r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("rank  model.hidden_size  training.optimizer.lr"), r.stdout)
        XCTAssertEqual(try runRecur(["train", "f.yaml", "--quiet", "--set", "training.steps=5"], in: dir).status, 0, "train ignores sweep.grid")
        let replaced = try runRecur(["sweep", "f.yaml", "--dir", "g", "--set", "training.steps=20", "--grid", "model.layers=[1,2,3]"], in: dir)
        XCTAssertEqual(replaced.status, 0, replaced.stderr)
        XCTAssertTrue(replaced.stderr.contains("sweep of 3 runs"), replaced.stderr)
        try (text + "\nsweep: {grid: [\"model.hiden_size=[4,6]\"]}\n").write(to: dir.appendingPathComponent("h.yaml"), atomically: true, encoding: .utf8)
        let bad = try runRecur(["sweep", "h.yaml", "--dir", "h"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("hidden_size"), bad.stderr)
    }

    /// Ctrl-C in a terminal signals the sweep and its run together; the run must still write its
    /// checkpoint (the sweep passes the stop on as SIGUSR2, never as a second SIGINT), the sweep
    /// exits 130, and running it again finishes with the uninterrupted sweep's table.
    func testSweep_CtrlC_StopsWithCheckpoints_AndContinues() throws {
        let dir = try temporaryDirectory()
        try experiment(dir)
        let clean = try runRecur(["sweep", "e.yaml", "--dir", "clean"] + grid, in: dir, timeout: 300)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        let p = try startSweep(in: dir, sweepDirectory: "stopped")
        let deadline = Date().addingTimeInterval(120)
        func child() -> Int32? {
            // The sweep's run: the process whose parent is the sweep (/proc/PID/stat field 4).
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
                if fields.count > 1, Int32(fields[1]) == p.processIdentifier { return pid }
            }
            return nil
        }
        let checkpoints = dir.appendingPathComponent("stopped/00-hidden_size=6-lr=0.01/checkpoints").path
        while ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).isEmpty && Date() < deadline { usleep(10_000) }
        let run = try XCTUnwrap(child(), "no run process found")
        kill(p.processIdentifier, SIGINT)
        kill(run, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let log = try String(contentsOf: dir.appendingPathComponent("stopped/logs/00-hidden_size=6-lr=0.01.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("stopped by SIGINT"), log)
        let again = try runRecur(["sweep", "e.yaml", "--dir", "stopped"] + grid, in: dir, timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, clean.stdout)
    }
}
