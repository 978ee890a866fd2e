// Given splits (Note [Given splits]): data.validation_path and data.test_path name a split's
// own file, read with what the training file fitted and appended as that split, through train,
// eval --split, predict and a sweep; the fractions divide what data.path holds among the other
// splits, and a fraction for a split with a file is refused.

import Foundation
import XCTest
import RecurExperiment
import RecurData

final class GivenSplitsTests: XCTestCase {
    /// Rows of four values rising (class "up") or falling ("down"), offset by `shift`.
    func labelledCSV(_ n: Int, seed: Int, shift: Double = 0) -> String {
        var rows = ["a,b,c,d,label"]
        for e in 0..<n {
            let up = (e * 7 + seed) % 3 != 0
            let v = (0..<4).map { t in shift + Double(up ? t : 3 - t) * 0.5 + 0.1 * sin(Double(e * 4 + t + seed)) }
            rows.append(v.map { String(format: "%.4f", $0) }.joined(separator: ",") + (up ? ",up" : ",down"))
        }
        return rows.joined(separator: "\n") + "\n"
    }

    func testLabelled_GivenTestFile_TrainEvalPredictSweep() throws {
        let dir = try temporaryDirectory()
        try labelledCSV(90, seed: 1).write(to: dir.appendingPathComponent("TRAIN.csv"), atomically: true, encoding: .utf8)
        // The test file's values sit elsewhere: its normalisation must still be the training file's.
        try labelledCSV(30, seed: 2, shift: 5).write(to: dir.appendingPathComponent("TEST.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: given}
        data: {kind: sequences, path: TRAIN.csv, test_path: TEST.csv, seq_len: 4, normalize: zscore, split: {train: 0.8, validation: 0.1}}
        model: {cell: gru, hidden_size: 8}
        training: {steps: 30, batch_size: 10, optimizer: {kind: adam, lr: 0.02}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let config = try ExperimentConfig.load(path: dir.appendingPathComponent("e.yaml").path)
        let data = try XCTUnwrap(try config.loadDataset(configPath: dir.appendingPathComponent("e.yaml").path) as? LabelledSequences)
        // data.path divided 8:1 between training and validation; the test split is TEST.csv, in order.
        XCTAssertEqual(data.range(.train), 0..<80)
        XCTAssertEqual(data.range(.validation), 80..<90)
        XCTAssertEqual(data.range(.test), 90..<120)
        let trainOnly = try LabelledSequences.load(path: dir.appendingPathComponent("TRAIN.csv").path, options: LabelledOptions(
            steps: 4, splits: SplitFractions(train: 0.8 / 0.9, validation: 0.1 / 0.9, test: 0), splitSeed: 1))
        XCTAssertEqual(data.normalization, trainOnly.normalization, "fitted on the training file's training split only")
        let test = try LabelledSequences.load(path: dir.appendingPathComponent("TEST.csv").path, options: LabelledOptions(
            steps: 4, normalization: .none, splits: SplitFractions(train: 1, validation: 0, test: 0)))
        XCTAssertEqual(Array(data.labels[90...]), test.labels, "the test file's examples in file order")
        XCTAssertEqual(data.values[90 * 4], Float(trainOnly.normalization.normalize(Double(Float(test.values[0])), column: 0)), accuracy: 1e-5)
        XCTAssertEqual(data.classNames, ["down", "up"])

        let train = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let stored = try String(contentsOf: dir.appendingPathComponent("runs/given/config.yaml"), encoding: .utf8)
        XCTAssert(stored.contains("test_path: ../../TEST.csv"), "stored relative to the run (Note [Portable runs]): \(stored)")
        XCTAssertFalse(stored.contains("    test:"), "no fraction for the split with a file: \(stored)")
        let eval = try runRecur(["eval", "runs/given", "--split", "test", "--json"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["windows"] as? Int, 30, eval.stdout)
        let predict = try runRecur(["predict", "runs/given", "--input", "TEST.csv"], in: dir)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertEqual(predict.stdout.split(separator: "\n").count, 31)
        // A resume reads the same three parts.
        let resumed = try runRecur(["train", "--resume", "runs/given", "--set", "training.steps=35", "--quiet", "--threads", "1"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        // A sweep's runs read the given file too: each run's eval on the test split has its 30 examples.
        let sweep = try runRecur(["sweep", "e.yaml", "--dir", "sw", "--grid", "model.hidden_size=[4,6]", "--set", "training.steps=4"], in: dir, timeout: 300)
        XCTAssertEqual(sweep.status, 0, sweep.stderr)
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sw").path).filter { $0.contains("hidden_size") }
        XCTAssertEqual(runs.count, 2, "\(runs)")
        for run in runs {
            let e = try runRecur(["eval", "sw/\(run)", "--split", "test", "--json"], in: dir)
            XCTAssertEqual(e.status, 0, e.stderr)
            XCTAssert(e.stdout.contains("\"windows\" : 30") || e.stdout.contains("\"windows\":30"), e.stdout)
        }
    }

    func testLabelled_AClassUnknownToTheTrainingFile_IsRefusedInTheTestFile() throws {
        let dir = try temporaryDirectory()
        try labelledCSV(40, seed: 1).write(to: dir.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        try "a,b,c,d,label\n1,2,3,4,up\n1,2,3,4,sideways\n".write(to: dir.appendingPathComponent("test.csv"), atomically: true, encoding: .utf8)
        let config = try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: [
            "data.kind=sequences", "data.path=\(dir.path)/train.csv", "data.test_path=\(dir.path)/test.csv", "data.seq_len=4",
            "model.cell=gru", "model.hidden_size=4", "training.steps=1"])
        XCTAssertThrowsError(try config.loadDataset(configPath: nil)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.file, "\(dir.path)/test.csv")
            XCTAssertEqual(e?.line, 3)
            XCTAssert("\(error)".contains("the label 'sideways' is not one of the classes (down, up)"), "\(error)")
        }
        // A test file with only some of the classes is fine.
        try "a,b,c,d,label\n1,2,3,4,up\n".write(to: dir.appendingPathComponent("test.csv"), atomically: true, encoding: .utf8)
        let data = try config.loadDataset(configPath: nil)
        XCTAssertEqual(data.windowCount(.test), 1)
    }

    func testSeries_GivenValidationFile_ColumnsByName_WindowsStayInTheirFile() throws {
        let dir = try temporaryDirectory()
        var train = "t,y\n", validation = "y,t\n"
        for i in 0..<100 { train += "\(i),\(Double(i) * 0.5)\n" }
        for i in 100..<120 { validation += "\(Double(i) * 0.5),\(i)\n" }
        try train.write(to: dir.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        try validation.write(to: dir.appendingPathComponent("validation.csv"), atomically: true, encoding: .utf8)
        let config = try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: [
            "data.kind=series", "data.path=\(dir.path)/train.csv", "data.validation_path=\(dir.path)/validation.csv",
            "data.columns=[y]", "data.seq_len=5", "data.split.train=0.9", "data.split.test=0.1", "data.normalize=none",
            "model.cell=lstm", "model.hidden_size=4", "training.steps=1"])
        let data = try XCTUnwrap(try config.loadDataset(configPath: nil) as? SeriesDataset)
        XCTAssertEqual(data.series.range(.train), 0..<90)
        XCTAssertEqual(data.series.range(.test), 90..<100)
        XCTAssertEqual(data.series.range(.validation), 100..<120)
        // 20 rows of the validation file: 15 windows of 5 steps and a target, none reaching back into training rows.
        XCTAssertEqual(data.windowCount(.validation), 15)
        let batch = BatchBuffers(for: data, capacity: 1)
        data.fill(.validation, windows: [0], into: batch)
        XCTAssertEqual(batch.inputFeatures!.base[0], 50, "the first validation window starts at the file's first row, its y column")
        XCTAssertEqual(batch.targetValues!.base[0], 52.5)
    }

    func testText_GivenTestFile_UsesTheTrainingVocabulary() throws {
        let dir = try temporaryDirectory()
        try String(repeating: "abcab ", count: 40).write(to: dir.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        try String(repeating: "cab z", count: 10).write(to: dir.appendingPathComponent("test.txt"), atomically: true, encoding: .utf8)
        var overrides = ["data.kind=chars", "data.path=\(dir.path)/train.txt", "data.test_path=\(dir.path)/test.txt", "data.seq_len=8",
                         "model.cell=lstm", "model.hidden_size=4", "training.steps=1"]
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: overrides).loadDataset(configPath: nil)) { error in
            XCTAssertEqual((error as? DataError)?.file, "\(dir.path)/test.txt", "\(error)")
            XCTAssert("\(error)".contains("'z'"), "\(error)")
        }
        overrides.append("data.vocabulary.unknown=true")
        let data = try XCTUnwrap(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: overrides).loadDataset(configPath: nil) as? TokenDataset)
        XCTAssertEqual(data.corpus.vocabulary.tokens, ["a", "b", "c", " ", "<unk>"].sorted { $0 == "<unk>" ? false : $1 == "<unk>" ? true : $0 < $1 })
        XCTAssertEqual(data.corpus.range(.test).count, 50)
    }

    func testFractionsForASplitWithAFile_AreRefused() {
        let base = ["data.kind=series", "data.path=s.csv", "data.seq_len=8", "model.cell=lstm", "model.hidden_size=8", "training.steps=2"]
        func refusal(_ extra: [String]) -> String {
            do { _ = try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: base + extra); return "accepted" } catch { return "\(error)" }
        }
        XCTAssert(refusal(["data.test_path=t.csv", "data.split.test=0.2"]).contains("data.split.test: applies to data without data.test_path only, and data.test_path is set"), refusal(["data.test_path=t.csv", "data.split.test=0.2"]))
        XCTAssert(refusal(["data.validation_path=v.csv", "data.test_path=t.csv", "data.split.train=0.9"]).contains("data.split.train: applies to data without data.validation_path and data.test_path only"))
        XCTAssert(refusal(["data.test_path="]).contains("data.test_path: must not be empty"))
        // The other splits' fractions only need to fit what is left: 0.95 + 0.1 would not fit with a test fraction.
        XCTAssertEqual(refusal(["data.test_path=t.csv", "data.split.train=0.9", "data.split.validation=0.1"]), "accepted")
    }

    func testAGivenFileThatIsNotThere_IsNamedByItsKey() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 50).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: missing}
        data: {kind: series, path: s.csv, test_path: nowhere.csv, columns: [value], seq_len: 5}
        model: {cell: lstm, hidden_size: 4}
        training: {steps: 1}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let r = try runRecur(["train", "e.yaml", "--quiet"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssert(r.stderr.contains("e.yaml:2: data.test_path: 'nowhere.csv' does not exist"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs").path), "nothing written")
        // Too short for one window: the file and the split are named.
        try "value\n1\n2\n".write(to: dir.appendingPathComponent("nowhere.csv"), atomically: true, encoding: .utf8)
        let short = try runRecur(["train", "e.yaml", "--quiet"], in: dir)
        XCTAssertEqual(short.status, 2)
        XCTAssert(short.stderr.contains("nowhere.csv: error: holds no complete window of 5 steps and the 1 after them for the test split"), short.stderr)
    }

    func testTSFiles_TrainAndTest_WithNamedClasses_ThroughTrainEvalPredict() throws {
        let dir = try temporaryDirectory()
        func ts(_ n: Int, seed: Int) -> String {
            var text = "@problemName bumps\n@dimensions 2\n@equalLength true\n@classLabel true rise fall\n@data\n"
            for e in 0..<n {
                let rise = (e + seed) % 2 == 0
                let a = (0..<5).map { t in String(format: "%.3f", Double(rise ? t : 4 - t) + 0.1 * sin(Double(e + t))) }
                let b = (0..<5).map { t in String(format: "%.3f", 0.5 * Double(t % 2)) }
                text += a.joined(separator: ",") + ":" + b.joined(separator: ",") + ":" + (rise ? "rise" : "fall") + "\n"
            }
            return text
        }
        try ts(40, seed: 0).write(to: dir.appendingPathComponent("B_TRAIN.ts"), atomically: true, encoding: .utf8)
        try ts(12, seed: 1).write(to: dir.appendingPathComponent("B_TEST.ts"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: bumps}
        data: {kind: sequences, path: B_TRAIN.ts, test_path: B_TEST.ts, seq_len: 5, split: {train: 0.9, validation: 0.1}}
        model: {cell: gru, hidden_size: 8}
        training: {steps: 20, batch_size: 8, optimizer: {kind: adam, lr: 0.02}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let train = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let eval = try runRecur(["eval", "runs/bumps", "--split", "test", "--json"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["windows"] as? Int, 12)
        XCTAssertEqual(report["class_names"] as? [String], ["rise", "fall"], "the header's order")
        let predict = try runRecur(["predict", "runs/bumps", "--input", "B_TEST.ts"], in: dir)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertEqual(predict.stdout.split(separator: "\n").first, "example,predicted,p_rise,p_fall,label")
    }
}
