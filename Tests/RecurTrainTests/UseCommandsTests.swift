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

    /// Trains runs/sine: a forecaster of sineCSV(rows: 300) in s.csv, 10 steps in, 70/15/15 split.
    func trainSine(in dir: URL, cell: String) throws {
        try sineCSV(rows: 300).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: sine}
        data: {kind: series, path: s.csv, columns: [value], seq_len: 10, split: {train: 0.7, validation: 0.15, test: 0.15}}
        model: {cell: \(cell), hidden_size: 12}
        training: {epochs: 8, batch_size: 16, optimizer: {kind: adam, lr: 0.01}}
        """.write(to: dir.appendingPathComponent("sine.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "sine.yaml", "--quiet"], in: dir).status, 0)
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
            // A warm-up longer than the 3-step run is refused (as it should be); shorten it.
            if try String(contentsOfFile: path, encoding: .utf8).contains("warmup_steps") {
                args += ["--set", "training.schedule.warmup_steps=1"]
            }
            let r = try runRecur(args, in: dir, timeout: 120)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir.path)/runs/\(name)/checkpoints/step-000003/model.safetensors"), name)
            // recur predict on the config's own data file (the small text for the text configs).
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let dataPath = try XCTUnwrap(text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("path:") })
                .split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
            let input = name.hasPrefix("shakespeare") ? "\(dir.path)/text.txt" : root.appendingPathComponent("configs/\(dataPath)").path
            let predict = try runRecur(["predict", "\(dir.path)/runs/\(name)", "--input", input, "--output", "\(dir.path)/\(name).csv"], in: dir)
            XCTAssertEqual(predict.status, 0, "\(name): \(predict.stderr)")
            let rows = try String(contentsOfFile: "\(dir.path)/\(name).csv", encoding: .utf8).split(separator: "\n")
            XCTAssertGreaterThan(rows.count, 1, name)
            XCTAssertEqual(Set(rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).count }).count, 1, "\(name): ragged CSV")
        }
    }

    /// A classifier of sequences of different lengths, trained on ragged rows, labels new ragged
    /// rows: with an empty last cell (no label) or a label; a sequence longer than seq_len is
    /// refused naming the file, line and the setting.
    func testPredict_VariableLengthClassifier_RaggedRowsWithAndWithoutLabels() throws {
        let dir = try temporaryDirectory()
        var csv = ""
        for i in 0..<160 {
            let n = 2 + (i * 5) % 9
            csv += (0..<n).map { k in String(Double(i % 2) * 5 + Double((i + k) % 10) / 10) }.joined(separator: ",") + ",\(i % 2)\n"
        }
        try csv.write(to: dir.appendingPathComponent("v.csv"), atomically: true, encoding: .utf8)
        try "0.1,0.2,\n5.1,5.2,5.3,5.0,5.1,5.2,\n0.2,0.1,0.3,0\n".write(to: dir.appendingPathComponent("new.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: var}
        data: {kind: sequences, path: v.csv, seq_len: 10, variable_length: true}
        model: {cell: gru, hidden_size: 8, bidirectional: true}
        training: {epochs: 15, batch_size: 16, optimizer: {kind: adam, lr: 0.03}}
        """.write(to: dir.appendingPathComponent("v.yaml"), atomically: true, encoding: .utf8)
        let trained = try runRecur(["train", "v.yaml", "--quiet"], in: dir)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let p = try runRecur(["predict", "runs/var", "--input", "new.csv"], in: dir)
        XCTAssertEqual(p.status, 0, p.stderr)
        let rows = p.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.dropFirst().map { $0[1] }, ["0", "1", "0"])
        XCTAssertEqual(rows.dropFirst().map { $0[4] }, ["", "", "0"])
        XCTAssertTrue(p.stderr.contains("3 sequences; accuracy 1.0000 over the 1 with a label"), p.stderr)
        try ((0..<12).map { _ in "0.1" }.joined(separator: ",") + ",0\n").write(to: dir.appendingPathComponent("long.csv"), atomically: true, encoding: .utf8)
        let long = try runRecur(["predict", "runs/var", "--input", "long.csv"], in: dir)
        XCTAssertEqual(long.status, 2)
        XCTAssertTrue(long.stderr.contains("long.csv:1") && long.stderr.contains("12 steps, more than data.seq_len (10)"), long.stderr)
    }

    /// A sequence labeller (a class at every step, long form): eval scores every real step and
    /// predict writes a row per step of each sequence, also for a file without the tag column.
    func testSequenceLabelling_EvalAndPredictPerStep() throws {
        let dir = try temporaryDirectory()
        try stepTaggedCSV(sequences: 80).write(to: dir.appendingPathComponent("tags.csv"), atomically: true, encoding: .utf8)
        try "seq,a,b\nx,0.9,0.1\nx,-0.9,0.2\nx,0.0,0.3\ny,0.95,0.5\n".write(to: dir.appendingPathComponent("new.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: tags}
        data: {kind: sequences, path: tags.csv, seq_len: 18, variable_length: true, sequence_column: seq, label_column: tag}
        model: {cell: gru, hidden_size: 12, bidirectional: true}
        training: {epochs: 30, batch_size: 8, optimizer: {kind: adam, lr: 0.02}}
        """.write(to: dir.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        let trained = try runRecur(["train", "t.yaml", "--quiet"], in: dir)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let eval = try runRecur(["eval", "runs/tags", "--split", "validation", "--json"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        // The validation split's 8 sequences (the shuffle puts them anywhere) have between 16 and
        // 8·18 real steps, every one a target; no padded step is.
        let windows = try XCTUnwrap(report["windows"] as? Int), targets = try XCTUnwrap(report["targets"] as? Int)
        XCTAssertEqual(windows, 8)
        XCTAssertGreaterThan(targets, 2 * windows)
        let confusion = try XCTUnwrap(report["confusion"] as? [[Int]])
        XCTAssertEqual(confusion.joined().reduce(0, +), targets, "the confusion matrix counts real steps only")
        XCTAssertGreaterThan(try XCTUnwrap(report["accuracy"] as? Double), 0.8)
        let p = try runRecur(["predict", "runs/tags", "--input", "new.csv"], in: dir)
        XCTAssertEqual(p.status, 0, p.stderr)
        let rows = p.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.first, ["example", "step", "predicted", "p0", "p1", "p2", "label"])
        XCTAssertEqual(rows.dropFirst().map { "\($0[0]):\($0[1])" }, ["0:0", "0:1", "0:2", "1:0"])
        XCTAssertEqual(rows.dropFirst().map { $0[2] }, ["1", "2", "0", "1"])
        XCTAssertTrue(p.stderr.contains("2 sequences, 4 steps"), p.stderr)
    }

    /// recur predict for each task on a file the model never saw: classifiers label rows without a
    /// label, text is scored window by window, forecasts come in original units; eval --plot draws
    /// actual against predicted.
    func testPredict_EveryTask_OnNewFiles() throws {
        let dir = try temporaryDirectory()
        // Classifier: class 0 has small values, class 1 large; the new file has two unlabelled rows.
        var csv = ""
        for i in 0..<120 { csv += (0..<6).map { k in String(Double(i % 2) * 5 + Double((i * 7 + k) % 10) / 10) }.joined(separator: ",") + ",\(i % 2)\n" }
        try csv.write(to: dir.appendingPathComponent("c.csv"), atomically: true, encoding: .utf8)
        try "0.1,0.2,0.3,0.1,0.2,0.3\n5.1,5.2,5.3,5.1,5.2,5.3\n0.2,0.2,0.2,0.2,0.2,0.2,0\n".write(
            to: dir.appendingPathComponent("new.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: cls}
        data: {kind: sequences, path: c.csv, seq_len: 3}
        model: {cell: gru, hidden_size: 8}
        training: {epochs: 15, batch_size: 16, optimizer: {kind: adam, lr: 0.03}}
        """.write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "c.yaml", "--quiet"], in: dir).status, 0)
        let cls = try runRecur(["predict", "runs/cls", "--input", "new.csv"], in: dir)
        XCTAssertEqual(cls.status, 0, cls.stderr)
        let rows = cls.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.first, ["example", "predicted", "p0", "p1", "label"])
        XCTAssertEqual(rows.dropFirst().map { $0[1] }, ["0", "1", "0"])
        XCTAssertEqual(rows.dropFirst().map { $0[4] }, ["", "", "0"])
        for r in rows.dropFirst() { XCTAssertEqual(Double(r[2])! + Double(r[3])!, 1, accuracy: 1e-5) }
        XCTAssertTrue(cls.stderr.contains("3 sequences; accuracy 1.0000 over the 1 with a label"), cls.stderr)
        // A row of the wrong length names the file, the line and both lengths it accepts.
        try "1,2,3\n".write(to: dir.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let bad = try runRecur(["predict", "runs/cls", "--input", "bad.csv"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("bad.csv:1") && bad.stderr.contains("or 6 (no label)"), bad.stderr)

        // Text: every window scored; the file's loss is the mean over its tokens.
        try smallText().write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
        try String(smallText().prefix(300)).write(to: dir.appendingPathComponent("t2.txt"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: chars}
        data: {kind: chars, path: t.txt, seq_len: 16}
        model: {cell: lstm, hidden_size: 16}
        training: {steps: 10, batch_size: 8}
        """.write(to: dir.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "t.yaml", "--quiet"], in: dir).status, 0)
        let text = try runRecur(["predict", "runs/chars", "--input", "t2.txt", "--output", "p.csv"], in: dir)
        XCTAssertEqual(text.status, 0, text.stderr)
        let windows = try String(contentsOf: dir.appendingPathComponent("p.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").map { Double($0)! } }
        XCTAssertEqual(windows.count, (300 - 1) / 16)
        let mean = windows.map { $0[2] }.reduce(0, +) / Double(windows.count)
        let reported = try XCTUnwrap(text.stderr.range(of: #"loss [0-9.]+"#, options: .regularExpression).map { Double(text.stderr[$0].dropFirst(5))! })
        XCTAssertEqual(mean, reported, accuracy: 1e-4)
        for w in windows { XCTAssertEqual(w[3], w[2] / log(2), accuracy: 1e-4 * w[3]) }
        try "FIRST €€€€€€€€€€€€€€€€€€€€€€€€€\n".write(to: dir.appendingPathComponent("u.txt"), atomically: true, encoding: .utf8)
        let unknown = try runRecur(["predict", "runs/chars", "--input", "u.txt"], in: dir)
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("vocabulary") && unknown.stderr.contains("u.txt:1:7"), unknown.stderr)
        XCTAssertFalse(unknown.stderr.contains("split"), "a file read whole has no split to name: \(unknown.stderr)")

        // Series: predicted and actual in original units.
        try sineCSV(rows: 40).write(to: dir.appendingPathComponent("s2.csv"), atomically: true, encoding: .utf8)
        try trainSine(in: dir, cell: "gru")
        let series = try runRecur(["predict", "runs/sine", "--input", "s2.csv"], in: dir)
        XCTAssertEqual(series.status, 0, series.stderr)
        let lines = series.stdout.split(separator: "\n")
        // The file's time column t leads each row: the time of the row the prediction is for (Note [Time axis]).
        XCTAssertEqual(lines.first, "t,window,predicted_value,actual_value")
        XCTAssertEqual(lines.count - 1, 40 - 10)
        let original = sineCSV(rows: 40).split(separator: "\n").dropFirst().map { Double($0.split(separator: ",").last!)! }
        for (w, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: ",").map { Double($0)! }
            XCTAssertEqual(f[0], Double(w + 10), "the time of the row after window \(w)")
            XCTAssertEqual(f[3], original[w + 10], accuracy: 1e-3, "actual value after window \(w)")
            XCTAssertEqual(f[2], f[3], accuracy: 0.5)
        }
        let plot = try runRecur(["eval", "runs/sine", "--plot", "ev.svg"], in: dir)
        XCTAssertEqual(plot.status, 0, plot.stderr)
        let svg = try String(contentsOf: dir.appendingPathComponent("ev.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("actual") && svg.contains("predicted"))
        // Against the file's time column t (the row each predicted value belongs to), not window numbers.
        XCTAssertTrue(svg.contains(">t</text>"), "eval --plot's x axis is not the time column")
        XCTAssertFalse(svg.contains(">window</text>"))
        XCTAssertEqual(try runRecur(["eval", "runs/cls", "--plot", "x.svg"], in: dir).status, 2)
        XCTAssertEqual(try runRecur(["predict", "runs/sine", "--input", "missing.csv"], in: dir).status, 2)
    }

    func testSeriesModel_EvalForecastAndPlot() throws {
        let dir = try temporaryDirectory()
        try trainSine(in: dir, cell: "lstm")
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
        // The time column continues past the last row (t = 299) by its spacing.
        XCTAssertEqual(rows.first, "t,step,value")
        XCTAssertEqual(rows.count, 16)
        XCTAssertEqual(rows.dropFirst().map { String($0.split(separator: ",")[0]) }, (300..<315).map(String.init))
        for r in rows.dropFirst() { XCTAssertLessThan(abs(Double(r.split(separator: ",")[2])!), 2.0, String(r)) }
        let svg = try String(contentsOf: dir.appendingPathComponent("runs/sine/forecast.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("<svg") && svg.contains("forecast"))
        // The file's time column t (rows 0…299) is the x axis, not steps counted from the end.
        XCTAssertTrue(svg.contains(">t</text>"), "x axis not labelled with the time column")
        XCTAssertTrue(svg.contains(">280<") || svg.contains(">300<"), "x ticks are not in the time column's units")
        XCTAssertFalse(svg.contains("step (0 = last observed)"))
        let plot = try runRecur(["plot", "runs/sine"], in: dir)
        XCTAssertEqual(plot.status, 0, plot.stderr)
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("runs/sine/loss.svg"), encoding: .utf8).contains("validation"))
    }

    /// A directory with smallText() as t.txt and the run `experiment` (which reads it) trained.
    func trainTextModel(_ experiment: String, function: String = #function) throws -> URL {
        let dir = try temporaryDirectory(function)
        try smallText().write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
        try experiment.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        return dir
    }

    func testTextModel_SampleIsSeededAndEvalReportsPerplexity() throws {
        let dir = try trainTextModel("""
        experiment: {name: chars}
        data: {kind: chars, path: t.txt, seq_len: 16}
        model: {cell: gru, hidden_size: 24, embedding_size: 8}
        training: {steps: 40, batch_size: 8, optimizer: {kind: adam, lr: 0.01}}
        """)
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
        let dir = try trainTextModel("""
        experiment: {name: g}
        data: {kind: chars, path: t.txt, seq_len: 16}
        model: {cell: lstm, hidden_size: 16, embedding_size: 8}
        training: {steps: 30, batch_size: 8}
        """)
        let a = try runRecur(["sample", "runs/g", "--prime", "FIRST", "--temperature", "0", "--seed", "1", "--length", "40"], in: dir)
        let b = try runRecur(["sample", "runs/g", "--prime", "FIRST", "--temperature", "0", "--seed", "99", "--length", "40"], in: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        let negative = try runRecur(["sample", "runs/g", "--temperature", "-1"], in: dir)
        XCTAssertEqual(negative.status, 2)
    }

    /// A bidirectional next-character model (target: last) samples from sliding windows of
    /// seq_len read both ways (it carries no state; it used to stop on a precondition), and
    /// eval, predict and sample all run on it.
    func testBidirectionalTextModel_SamplesEvaluatesAndPredicts() throws {
        let dir = try trainTextModel("""
        experiment: {name: bi}
        data: {kind: chars, path: t.txt, seq_len: 12, target: last}
        model: {cell: gru, hidden_size: 16, embedding_size: 8, layers: 2, bidirectional: true}
        training: {steps: 30, batch_size: 8}
        """)
        let a = try runRecur(["sample", "runs/bi", "--prime", "FIRST", "--seed", "3", "--length", "40"], in: dir)
        let b = try runRecur(["sample", "runs/bi", "--prime", "FIRST", "--seed", "3", "--length", "40"], in: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertEqual(a.stdout.count, "FIRST".count + 40 + 1, a.stdout)
        let greedy = try runRecur(["sample", "runs/bi", "--prime", "FIRST", "--temperature", "0", "--length", "20"], in: dir)
        XCTAssertEqual(greedy.status, 0, greedy.stderr)
        XCTAssertEqual(try runRecur(["eval", "runs/bi"], in: dir).status, 0)
        XCTAssertEqual(try runRecur(["predict", "runs/bi", "--input", "t.txt"], in: dir).status, 0)
    }
}
