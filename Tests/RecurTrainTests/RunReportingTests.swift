// What a run says and writes down: the summary names the best validation step, its loss and
// checkpoint and the run directory (also with --quiet), --log-format json starts with a start
// event, `recur --version`; a length given with --set replaces the file's; a cosine schedule
// follows the run's length unless told otherwise (and warns when told otherwise); resume
// overrides are written to config.yaml with the replaced file kept beside it.

import Foundation
import XCTest

final class RunReportingTests: XCTestCase {
    func setUpDir(_ name: String = #function, yaml: String) throws -> URL {
        let dir = try temporaryDirectory(name)
        try sineCSV(rows: 300).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    let yaml = """
    experiment: {name: rep, seed: 4}
    data: {kind: series, path: s.csv, columns: [value], seq_len: 10}
    model: {cell: gru, hidden_size: 8}
    training: {epochs: 60, batch_size: 16, eval_every: 10, checkpoint_every: 10, optimizer: {kind: adam, lr: 0.05}}
    """

    func testSummary_NamesBestStepCheckpointAndRun_QuietToo_JSONHasStartAndSummary() throws {
        let dir = try setUpDir(yaml: yaml)
        let r = try runRecur(["train", "e.yaml", "--quiet", "--set", "training.steps=40"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(r.stderr.split(separator: "\n").last { $0.hasPrefix("done:") }.map(String.init), r.stderr)
        let metrics = try String(contentsOf: dir.appendingPathComponent("runs/rep/metrics.jsonl"), encoding: .utf8)
        let validations = metrics.split(separator: "\n").compactMap { line -> (Int, Double)? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["kind"] as? String == "validation" else { return nil }
            return (o["step"] as! Int, o["loss"] as! Double)
        }
        let best = try XCTUnwrap(validations.min { $0.1 < $1.1 })
        XCTAssert(summary.contains("best validation loss \(String(format: "%.6g", best.1)) at step \(best.0)"), summary)
        XCTAssert(summary.contains("best checkpoint runs/rep/checkpoints/step-\(String(format: "%06d", best.0))"), summary)
        XCTAssert(summary.hasSuffix("run runs/rep"), summary)

        let json = try runRecur(["train", "e.yaml", "--log-format", "json", "--set", "training.steps=20", "--set", "output.dir=j"], in: dir)
        XCTAssertEqual(json.status, 0, json.stderr)
        let events = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let start = try XCTUnwrap(events.first { $0["kind"] as? String == "start" })
        XCTAssertEqual(start["parameters"] as? Double, Double(3 * 8 * (1 + 8) + 3 * 8 * 2 + 9))
        XCTAssertEqual(start["layout"] as? String, "1 process × 2 threads")
        let end = try XCTUnwrap(events.last)
        XCTAssertEqual(end["kind"] as? String, "summary")
        XCTAssertNotNil(end["best_checkpoint"] as? String)
        XCTAssertNotNil(end["best_step"] as? Double)

        let version = try runRecur(["--version"], in: dir)
        XCTAssertEqual(version.status, 0)
        XCTAssert(version.stdout.hasPrefix("recur "), version.stdout)
    }

    /// Sequences of different lengths: tokens per second count each sequence's own steps (2…24
    /// here), not seq_len (24) per sequence.
    func testVariableLengths_TokensPerSecondCountRealSteps() throws {
        let dir = try temporaryDirectory()
        try raggedSequencesCSV(examples: 70).write(to: dir.appendingPathComponent("seqs.csv"), atomically: true, encoding: .utf8)
        try """
        data: {kind: sequences, path: seqs.csv, seq_len: 24, variable_length: true, features: 2}
        model: {cell: gru, hidden_size: 6}
        training: {steps: 12, batch_size: 8, log_every: 1}
        """.write(to: dir.appendingPathComponent("v.yaml"), atomically: true, encoding: .utf8)
        let r = try runRecur(["train", "v.yaml", "--log-format", "json"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let ratios = r.stdout.split(separator: "\n").compactMap { line -> Double? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["kind"] as? String == "train",
                  let tok = o["tok_per_s"] as? Double, let seq = o["seq_per_s"] as? Double else { return nil }
            return tok / seq
        }
        XCTAssertEqual(ratios.count, 12)
        for ratio in ratios { XCTAssert((2...23.5).contains(ratio), "steps per sequence \(ratio)") }
        XCTAssertGreaterThan(Set(ratios.map { ($0 * 100).rounded() }).count, 3, "batches of different lengths")
    }

    func testLengthFromTheCommandLine_ReplacesTheFiles_AndCosineFollowsIt() throws {
        let dir = try setUpDir(yaml: yaml.replacingOccurrences(of: "optimizer:", with: "schedule: {kind: cosine, warmup_steps: 3}, optimizer:"))
        let r = try runRecur(["train", "e.yaml", "--quiet", "--set", "training.steps=25"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stderr.contains("done: 25/25 steps"), r.stderr)
        XCTAssertFalse(r.stderr.contains("warning"), r.stderr)
        let show = try runRecur(["config", "show", "e.yaml", "--set", "training.epochs=3"], in: dir)
        XCTAssert(show.stdout.contains("epochs: 3") && show.stdout.contains("steps: null") && show.stdout.contains("total_steps: null"), show.stdout)
        // The learning rate reaches min_lr (0) at the run's last update.
        let metrics = try String(contentsOf: dir.appendingPathComponent("runs/rep/metrics.jsonl"), encoding: .utf8)
        let lastLR = metrics.split(separator: "\n").compactMap { line -> Double? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["kind"] as? String == "train" else { return nil }
            return o["lr"] as? Double
        }.last
        XCTAssertLessThan(try XCTUnwrap(lastLR), 0.05 * 0.01)
        // A given horizon that is not the run's length is followed, with a warning.
        let warned = try runRecur(["train", "e.yaml", "--quiet", "--set", "training.steps=25", "--set", "training.schedule.total_steps=3100",
                                   "--set", "output.dir=w"], in: dir)
        XCTAssertEqual(warned.status, 0, warned.stderr)
        XCTAssert(warned.stderr.contains("warning: training.schedule.total_steps is 3100 but the run is 25 steps"), warned.stderr)
    }

    func testResumeOverrides_AreWrittenToConfigYAML_TheOldFileKept() throws {
        let dir = try setUpDir(yaml: yaml)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet", "--set", "training.steps=20"], in: dir).status, 0)
        let longer = try runRecur(["train", "--resume", "runs/rep", "--quiet", "--set", "training.steps=30"], in: dir)
        XCTAssertEqual(longer.status, 0, longer.stderr)
        let config = try String(contentsOf: dir.appendingPathComponent("runs/rep/config.yaml"), encoding: .utf8)
        XCTAssert(config.contains("steps: 30"), config)
        let old = try String(contentsOf: dir.appendingPathComponent("runs/rep/config.before-step-20.yaml"), encoding: .utf8)
        XCTAssert(old.contains("steps: 20"), old)
        let again = try runRecur(["train", "--resume", "runs/rep", "--quiet"], in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssert(again.stderr.contains("done: 30/30 steps"), again.stderr)
    }

    /// training.early_stopping ends the run with the reason in the summary, and the best
    /// checkpoint it names (by the watched metric) is what eval picks.
    func testEarlyStopping_EndsTheRun_WithTheReason_AndNamesTheBestCheckpoint() throws {
        let dir = try setUpDir(yaml: yaml)
        let r = try runRecur(["train", "e.yaml", "--quiet", "--set", "training.steps=3000", "--set", "training.eval_every=20",
                              "--set", "training.checkpoint_every=20", "--set", "training.early_stopping={patience: 2, min_delta: 0.01}"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(r.stderr.split(separator: "\n").last { $0.hasPrefix("done:") }.map(String.init))
        XCTAssert(summary.contains("stopped early: validation_loss did not improve by more than 0.01 for 2 evaluations"), summary)
        let steps = try XCTUnwrap(Int(summary.dropFirst(6).prefix { $0 != "/" }))
        XCTAssertLessThan(steps, 3000)
        XCTAssertEqual(steps % 20, 0)
        XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs/rep/checkpoints/step-\(String(format: "%06d", steps))").path))
        let bad = try runRecur(["config", "validate", "e.yaml", "--set", "training.early_stopping={min_delta: 0.1}"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssert(bad.stderr.contains("early stopping needs patience"), bad.stderr)
    }

    /// A plateau schedule's state (rate, best loss, counters) is in the checkpoint: stopping at
    /// step 40 and resuming to 80 gives the bits and the rates of a run that never stopped.
    func testPlateauSchedule_ResumesExactly() throws {
        let dir = try setUpDir(yaml: yaml)
        let common = ["--quiet", "--set", "training.eval_every=5", "--set", "training.checkpoint_every=5", "--set", "training.log_every=5",
                      "--set", "training.schedule={kind: plateau, patience: 0, factor: 0.5, threshold: 0.2}"]
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--set", "output.dir=full", "--set", "training.steps=80", "--parameters-out", "full.bin"] + common, in: dir).status, 0)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--set", "output.dir=part", "--set", "training.steps=40"] + common, in: dir).status, 0)
        let resumed = try runRecur(["train", "--resume", "part", "--quiet", "--set", "training.steps=80", "--parameters-out", "part.bin"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("part.bin")), try Data(contentsOf: dir.appendingPathComponent("full.bin")))
        func rates(_ run: String) throws -> [String] {
            try String(contentsOf: dir.appendingPathComponent("\(run)/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
                .filter { $0.contains("\"train\"") }.compactMap { $0.split(separator: ",").first { $0.hasPrefix("\"lr\"") }.map(String.init) }
        }
        let full = try rates("full")
        XCTAssertEqual(try rates("part"), full)
        XCTAssertGreaterThan(Set(full).count, 2, "the rate was lowered more than once: \(full)")
    }
}
