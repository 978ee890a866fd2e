// Using what training produced: eval's metrics per task, sample's seeded text, forecast's CSV
// and SVG in original units, plot's loss curves; and every shipped config runs a short smoke
// run (text configs on a small generated text, since tinyshakespeare is not shipped).

import Foundation
import XCTest

final class UseCommandsTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func smallText() -> String {
        (0..<400).map { "FIRST CITIZEN:\nWe are accounted poor citizens, the patricians good \($0).\n" }.joined(separator: "\n")
    }

    func testEveryShippedConfig_RunsAShortSmokeRun() throws {
        let dir = try temporaryDirectory()
        try smallText().write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        let configs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("configs").path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(configs.count, 8)
        for name in configs {
            let path = root.appendingPathComponent("configs/\(name)").path
            var args = ["train", path, "--quiet", "--set", "training.steps=3", "--set", "training.epochs=null",
                        "--set", "output.dir=\(dir.path)/runs/\(name)", "--set", "training.eval_every=3"]
            if name.hasPrefix("shakespeare") { args += ["--set", "data.path=\(dir.path)/text.txt", "--set", "model.hidden_size=32"] }
            if name.contains("stateful") { args += ["--set", "training.batch_size=4"] }
            let r = try runRecur(args, in: dir, timeout: 120)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir.path)/runs/\(name)/checkpoints/step-000003/model.safetensors"), name)
        }
    }

    func testSeriesModel_EvalForecastAndPlot() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 300).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: sine}
        data: {kind: series, path: s.csv, columns: [value], seq_len: 10, split: {train: 0.7, validation: 0.15, test: 0.15}}
        model: {cell: lstm, hidden_size: 12}
        training: {epochs: 8, batch_size: 16, optimizer: {kind: adam, lr: 0.01}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        let eval = try runRecur(["eval", "runs/sine", "--json"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["split"] as? String, "test")
        let rmse = try XCTUnwrap((report["rmse"] as? [String: Double])?["value"])
        // The sine's amplitude is about 1.1 in original units; a trained model is far closer than that.
        XCTAssertLessThan(rmse, 0.5)
        let forecast = try runRecur(["forecast", "runs/sine", "--steps", "15"], in: dir)
        XCTAssertEqual(forecast.status, 0, forecast.stderr)
        let rows = forecast.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first, "step,value")
        XCTAssertEqual(rows.count, 16)
        for r in rows.dropFirst() { XCTAssertLessThan(abs(Double(r.split(separator: ",")[1])!), 2.0, String(r)) }
        let svg = try String(contentsOf: dir.appendingPathComponent("runs/sine/forecast.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("<svg") && svg.contains("forecast"))
        let plot = try runRecur(["plot", "runs/sine"], in: dir)
        XCTAssertEqual(plot.status, 0, plot.stderr)
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("runs/sine/loss.svg"), encoding: .utf8).contains("validation"))
    }

    func testTextModel_SampleIsSeededAndEvalReportsPerplexity() throws {
        let dir = try temporaryDirectory()
        try smallText().write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: chars}
        data: {kind: chars, path: t.txt, seq_len: 16}
        model: {cell: gru, hidden_size: 24, embedding_size: 8}
        training: {steps: 40, batch_size: 8, optimizer: {kind: adam, lr: 0.01}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        let a = try runRecur(["sample", "runs/chars", "--prime", "FIRST", "--length", "40", "--seed", "4"], in: dir)
        let b = try runRecur(["sample", "runs/chars", "--prime", "FIRST", "--length", "40", "--seed", "4", "--top-k", "100"], in: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.hasPrefix("FIRST"))
        XCTAssertEqual(a.stdout.count, "FIRST".count + 40 + 1)
        XCTAssertEqual(a.stdout, b.stdout, "same seed, top-k above the vocabulary: same text")
        let eval = try runRecur(["eval", "runs/chars", "--split", "validation"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertTrue(eval.stdout.contains("bits per character"), eval.stdout)
        let unknown = try runRecur(["sample", "runs/chars", "--prime", "ZQX€"], in: dir)
        XCTAssertEqual(unknown.status, 2)
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
    }

    func testClassifier_EvalPrintsConfusionMatrix() throws {
        let dir = try temporaryDirectory()
        var csv = ""
        var rng = SystemRandomNumberGenerator()
        for i in 0..<240 {
            let label = i % 3
            let values = (0..<12).map { k in Double(label) * (k % 4 == label ? 1.0 : 0.1) + Double.random(in: 0..<0.2, using: &rng) }
            csv += values.map { String(format: "%.3f", $0) }.joined(separator: ",") + ",\(label)\n"
        }
        try csv.write(to: dir.appendingPathComponent("d.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: cls}
        data: {kind: sequences, path: d.csv, seq_len: 4, split: {train: 0.7, validation: 0.15, test: 0.15}}
        model: {cell: gru, hidden_size: 16}
        training: {epochs: 10, batch_size: 16, optimizer: {kind: adam, lr: 0.02}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        let eval = try runRecur(["eval", "runs/cls", "--json"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let confusion = try XCTUnwrap(report["confusion"] as? [[Int]])
        XCTAssertEqual(confusion.count, 3)
        XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), report["windows"] as? Int)
        XCTAssertGreaterThan(try XCTUnwrap(report["accuracy"] as? Double), 0.8)
    }

    func testUseCommands_BadPaths_ExitTwo() throws {
        let dir = try temporaryDirectory()
        for args in [["eval", "nowhere"], ["sample", "nowhere"], ["forecast", "nowhere"], ["plot", "nowhere"],
                     ["sample", "nowhere", "--temperature", "0"]] {
            let r = try runRecur(args, in: dir)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty)
        }
    }

    /// --temperature 0 always takes the most likely token: no draw, so after a prime the seed
    /// does not matter (without one, the seed picks the first token).
    func testSample_TemperatureZero_IsGreedy_SeedIndependent() throws {
        let dir = try temporaryDirectory()
        try smallText().write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: g}
        data: {kind: chars, path: t.txt, seq_len: 16}
        model: {cell: lstm, hidden_size: 16, embedding_size: 8}
        training: {steps: 30, batch_size: 8}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        let a = try runRecur(["sample", "runs/g", "--prime", "FIRST", "--temperature", "0", "--seed", "1", "--length", "40"], in: dir)
        let b = try runRecur(["sample", "runs/g", "--prime", "FIRST", "--temperature", "0", "--seed", "99", "--length", "40"], in: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        let negative = try runRecur(["sample", "runs/g", "--temperature", "-1"], in: dir)
        XCTAssertEqual(negative.status, 2)
    }
}
