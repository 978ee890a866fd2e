// Training end to end: a small model overfits a small batch, the command line trains a
// forecaster that beats the previous-value baseline, and bad input exits with status 2.

import Foundation
import RecurEngine
import XCTest
import RecurData
import RecurPlan
import RecurParallel
@testable import RecurTrain
@testable import RecurExperiment
@testable import RecurInference
@testable import RecurReport
@testable import RecurStore

final class EndToEndTests: XCTestCase {
    func testSmallLSTM_OverfitsOneBatch_LossFallsTenfold() throws {
        let dir = try temporaryDirectory()
        let text = String(repeating: "the cat sat on the mat. ", count: 20)
        try text.write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
        let yaml = """
        experiment: {name: overfit, seed: 5}
        data: {kind: chars, path: \(dir.path)/t.txt, seq_len: 12, split: {train: 1.0, validation: 0, test: 0}, shuffle: false}
        model: {cell: lstm, hidden_size: 32, embedding_size: 8}
        training: {steps: 150, batch_size: 8, optimizer: {kind: adam, lr: 0.02}}
        """
        let config = try ExperimentConfig.parse(yaml: yaml, file: "overfit.yaml")
        let dataset = try config.loadDataset(configPath: nil)
        let trainer = try Engine(config.engineConfig(for: dataset, threads: 1), dataset: dataset, comm: SingleProcessCommunicator())
        // One fixed batch: the first 8 windows in stored order.
        let order = try BatchPlan.training(dataset, batchSize: 8, shuffle: false, seed: 5).order(epoch: 0)
        let first = trainer.step(order, step: 0, learningRate: 0.02, stepIndex: 0)
        var last = first
        for s in 1..<150 { last = trainer.step(order, step: 0, learningRate: 0.02, stepIndex: s) }
        XCTAssertLessThan(last.loss, first.loss / 10, "loss \(first.loss) → \(last.loss)")
    }

    func testCommandLine_TrainsForecaster_BeatsPreviousValue() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 400).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: sine}
        data: {kind: series, path: s.csv, columns: [value], seq_len: 12}
        model: {cell: gru, hidden_size: 16}
        training: {epochs: 15, batch_size: 16, optimizer: {kind: adam, lr: 0.01}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let r = try runRecur(["train", "e.yaml", "--threads", "2", "--log-format", "json"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(r.stdout.split(separator: "\n").last { $0.contains("\"kind\":\"summary\"") })
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any])
        let validation = try XCTUnwrap(object["validation_loss"] as? Double), baseline = try XCTUnwrap(object["baseline_loss"] as? Double)
        XCTAssertLessThan(validation, baseline / 2, String(summary))
        // The run directory holds what a user looks at afterwards.
        let run = dir.appendingPathComponent("runs/sine")
        for f in ["config.yaml", "metrics.jsonl", "checkpoints"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(f).path), f)
        }
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: run.path).contains { $0.hasPrefix("events.out.tfevents.") })
    }

    func testCommandLine_BadInputs_ExitTwoWithOneMessage() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 50).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        let good = "experiment: {name: x}\ndata: {kind: series, path: s.csv, seq_len: 4}\nmodel: {cell: lstm, hidden_size: 4}\n"
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "s.csv", with: "missing.csv"), "missing.csv"),
            (good.replacingOccurrences(of: "lstm", with: "transformer"), "model.cell: 'transformer' is not one of rnn, gru, lstm"),
            (good.replacingOccurrences(of: "hidden_size: 4", with: "hidden_size: 0"), "model.hidden_size: must be at least 1, got 0"),
            (good.replacingOccurrences(of: "seq_len: 4", with: "seq_len: 60"), "s.csv"),
        ]
        for (i, (yaml, expected)) in cases.enumerated() {
            try yaml.write(to: dir.appendingPathComponent("e\(i).yaml"), atomically: true, encoding: .utf8)
            let r = try runRecur(["train", "e\(i).yaml"], in: dir)
            XCTAssertEqual(r.status, 2, "case \(i): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "case \(i): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "case \(i): one message, got \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs").path))
        }
        let missingConfig = try runRecur(["train", "nope.yaml"], in: dir)
        XCTAssertEqual(missingConfig.status, 2)
        XCTAssertTrue(missingConfig.stderr.contains("nope.yaml: no such file"), missingConfig.stderr)
    }

    func testNonFiniteLoss_StopsWithMessage_LastCheckpointIntact_OrSkips() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 200).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: nan}
        data: {kind: series, path: s.csv, columns: [value], seq_len: 8}
        model: {cell: rnn, hidden_size: 8, rnn: {nonlinearity: relu}}
        training: {steps: 20, batch_size: 8, optimizer: {kind: sgd, lr: 1e18}, clip: {norm: 0}, checkpoint_every: 1}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let stop = try runRecur(["train", "e.yaml", "--set", "output.dir=stop"], in: dir)
        XCTAssertEqual(stop.status, 1, stop.stderr)
        XCTAssertTrue(stop.stderr.contains("stopped") && stop.stderr.contains("is intact"), stop.stderr)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("stop/checkpoints").path)
        XCTAssertFalse(checkpoints.isEmpty)
        let eval = try runRecur(["eval", "stop", "--split", "validation"], in: dir)
        XCTAssertEqual(eval.status, 0, "the last checkpoint must load: \(eval.stderr)")
        // Skipping cannot undo an update that already made the parameters infinite: that stops too,
        // and so does a long run of skipped steps, each saying which checkpoint is intact.
        let skip = try runRecur(["train", "e.yaml", "--set", "output.dir=skip", "--set", "training.on_nonfinite=skip", "--quiet"], in: dir)
        XCTAssertEqual(skip.status, 1, skip.stderr)
        XCTAssert(skip.stderr.contains("is intact"), skip.stderr)
        XCTAssertEqual(try runRecur(["eval", "skip", "--split", "validation"], in: dir).status, 0)
    }
}
