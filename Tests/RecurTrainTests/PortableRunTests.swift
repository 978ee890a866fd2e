// Note [Portable runs] and Note [Best means evaluated]: a run directory moved with its data
// evaluates and resumes exactly; a data file moved alone is named with --data and checked by its
// fingerprint; no absolute path of the machine is written into model.safetensors; and the best
// checkpoint is the model that was evaluated (summary, eval and plot name the same step and value).

import Foundation
import XCTest
@testable import RecurStore

final class PortableRunTests: XCTestCase {
    func params(_ url: URL) throws -> [Float] {
        try Data(contentsOf: url).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testRunMovedWithItsData_EvaluatesAndResumesExactly_DataMovedAloneNeedsData() throws {
        let root = try temporaryDirectory()
        let project = root.appendingPathComponent("project")
        try FileManager.default.createDirectory(at: project.appendingPathComponent("data"), withIntermediateDirectories: true)
        try sineCSV(rows: 300).write(to: project.appendingPathComponent("data/s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: moved, seed: 3}
        data: {kind: series, path: data/s.csv, columns: [value], seq_len: 8}
        model: {cell: gru, hidden_size: 8}
        training: {steps: 10, batch_size: 16, checkpoint_every: 5, eval_every: 5}
        """.write(to: project.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let first = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1"], in: project)
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = try runRecur(["eval", "runs/moved", "--json", "--threads", "1"], in: project)
        XCTAssertEqual(before.status, 0, before.stderr)
        // Nothing of this machine's paths in what a run shares.
        let model = try SafeTensorsFile.read(from: project.appendingPathComponent("runs/moved/checkpoints/step-000010/model.safetensors"))
        XCTAssertFalse(model.metadata.values.contains { $0.contains(root.path) }, "an absolute path leaked into model.safetensors")
        XCTAssert(try String(contentsOf: project.appendingPathComponent("runs/moved/config.yaml"), encoding: .utf8).contains("path: ../../data/s.csv"))

        let moved = root.appendingPathComponent("elsewhere/project")
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: project, to: moved)
        let after = try runRecur(["eval", "runs/moved", "--json", "--threads", "1"], in: moved)
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(after.stdout, before.stdout, "the moved run evaluates as before")
        // Resumed after the move, it lands on the bits of a run that never stopped.
        let resumed = try runRecur(["train", "--resume", "runs/moved", "--quiet", "--threads", "1", "--set", "training.steps=20",
                                    "--parameters-out", "resumed.bin"], in: moved)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let straight = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1", "--set", "training.steps=20",
                                     "--set", "output.dir=straight", "--parameters-out", "straight.bin"], in: moved)
        XCTAssertEqual(straight.status, 0, straight.stderr)
        XCTAssertEqual(try params(moved.appendingPathComponent("resumed.bin")), try params(moved.appendingPathComponent("straight.bin")))

        // The data file moved on its own: named with --data, accepted for the same content only.
        try FileManager.default.moveItem(at: moved.appendingPathComponent("data/s.csv"), to: root.appendingPathComponent("s-moved.csv"))
        let lost = try runRecur(["eval", "runs/moved"], in: moved)
        XCTAssertEqual(lost.status, 2)
        XCTAssert(lost.stderr.contains("data.path: '../../data/s.csv' does not exist") && lost.stderr.contains("--data"), lost.stderr)
        let named = try runRecur(["eval", "runs/moved", "--data", root.appendingPathComponent("s-moved.csv").path], in: moved)
        XCTAssertEqual(named.status, 0, named.stderr)
        try sineCSV(rows: 280).write(to: root.appendingPathComponent("other.csv"), atomically: true, encoding: .utf8)
        let other = try runRecur(["eval", "runs/moved", "--data", root.appendingPathComponent("other.csv").path], in: moved)
        XCTAssertEqual(other.status, 2)
        XCTAssert(other.stderr.contains("holds other data than the model was trained on"), other.stderr)
        let resumeOther = try runRecur(["train", "--resume", "runs/moved", "--set", "training.steps=25",
                                        "--data", root.appendingPathComponent("other.csv").path], in: moved)
        XCTAssertEqual(resumeOther.status, 2)
        XCTAssert(resumeOther.stderr.contains("was trained on different data"), resumeOther.stderr)
    }

    /// configs/sunspots-rnn-small.yaml once reported a best checkpoint that was never evaluated
    /// (best validation loss at step 1500, checkpoint step-001512 scoring otherwise).
    func testBestCheckpoint_IsTheEvaluatedModel_SummaryEvalAndPlotAgree() throws {
        let dir = try temporaryDirectory()
        let config = LayeringTests.root.appendingPathComponent("configs/sunspots-rnn-small.yaml").path
        let train = try runRecur(["train", config, "--log-format", "json", "--threads", "2", "--set", "output.dir=\(dir.path)/run"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try XCTUnwrap(train.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.last { $0["kind"] as? String == "summary" })
        let bestLoss = try XCTUnwrap(summary["best_validation_loss"] as? Double)
        let bestStep = Int(try XCTUnwrap(summary["best_step"] as? Double))
        let checkpoint = try XCTUnwrap(summary["best_checkpoint"] as? String)
        XCTAssert(checkpoint.hasSuffix(String(format: "step-%06d", bestStep)), "\(checkpoint) is not the checkpoint of step \(bestStep)")
        let eval = try runRecur(["eval", "\(dir.path)/run", "--split", "validation", "--json", "--threads", "2"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let evaluated = try XCTUnwrap(report["loss"] as? Double)
        XCTAssertEqual(evaluated, bestLoss, accuracy: 1e-6 * bestLoss, "recur eval RUN scores the best checkpoint as the summary said")
        let plot = try runRecur(["plot", "\(dir.path)/run"], in: dir)
        XCTAssertEqual(plot.status, 0, plot.stderr)
        let svg = try String(contentsOf: dir.appendingPathComponent("run/loss.svg"), encoding: .utf8)
        XCTAssert(svg.contains(String(format: "best: %.4g at step %d", bestLoss, bestStep)), "the plot names the same best")
    }
}
