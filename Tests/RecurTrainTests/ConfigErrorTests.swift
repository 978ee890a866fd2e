// Experiment files that are wrong: each stops with `file:line: key: problem` before anything
// runs, unknown keys get a did-you-mean, and --set overrides are typed like the file.

import XCTest
@testable import RecurTrain

final class ConfigErrorTests: XCTestCase {
    let minimal = """
    experiment: {name: t, seed: 3}
    data:
      kind: series
      path: x.csv
      seq_len: 8
    model:
      cell: gru
      hidden_size: 16
    """

    func parseError(_ yaml: String, overrides: [String] = []) -> ConfigError? {
        do { _ = try ExperimentConfig.parse(yaml: yaml, file: "exp.yaml", overrides: overrides); return nil }
        catch let e as ConfigError { return e } catch { XCTFail("unexpected \(error)"); return nil }
    }

    func testMinimalConfig_FillsDefaults() throws {
        let c = try ExperimentConfig.parse(yaml: minimal, file: "exp.yaml")
        XCTAssertEqual(c.model.cell, .gru)
        XCTAssertEqual(c.model.gruReset, .after)
        XCTAssertEqual(c.training.batchSize, 32)
        XCTAssertEqual(c.training.optimizer.kind, .adam)
        XCTAssertEqual(c.data.target, .last)
        XCTAssertEqual(c.output.dir, "runs/t")
    }

    func testUnknownKey_NamesLineAndSuggestsTheKnownKey() throws {
        let e = try XCTUnwrap(parseError(minimal + "\n  hiden_size: 3\n"))
        XCTAssertEqual(e.line, 9)
        XCTAssertEqual(e.key, "model.hiden_size")
        XCTAssertTrue(e.description.hasPrefix("exp.yaml:9: model.hiden_size: unknown key (did you mean 'model.hidden_size'?)"), e.description)
    }

    func testWrongType_NamesKeyAndValue() throws {
        let e = try XCTUnwrap(parseError(minimal.replacingOccurrences(of: "hidden_size: 16", with: "hidden_size: many")))
        XCTAssertEqual(e.description, "exp.yaml:8: model.hidden_size: expected an integer, found 'many'")
    }

    func testOutOfRange_HiddenSizeZero() throws {
        let e = try XCTUnwrap(parseError(minimal.replacingOccurrences(of: "hidden_size: 16", with: "hidden_size: 0")))
        XCTAssertEqual(e.description, "exp.yaml:8: model.hidden_size: must be at least 1, got 0")
    }

    func testUnknownCell_SuggestsClosest() throws {
        let e = try XCTUnwrap(parseError(minimal.replacingOccurrences(of: "cell: gru", with: "cell: lstn")))
        XCTAssertEqual(e.description, "exp.yaml:7: model.cell: 'lstn' is not one of rnn, gru, lstm (did you mean 'lstm'?)")
    }

    func testMalformedYAML_NamesLine() throws {
        let e = try XCTUnwrap(parseError("data:\n  kind: [series\n"))
        XCTAssertTrue(e.description.hasPrefix("exp.yaml:"), e.description)
        XCTAssertTrue(e.description.contains("not valid YAML"), e.description)
    }

    func testMissingRequiredKey_SaysWhatToAdd() throws {
        let e = try XCTUnwrap(parseError(minimal.replacingOccurrences(of: "  seq_len: 8\n", with: "")))
        XCTAssertTrue(e.description.contains("data.seq_len is required"), e.description)
    }

    func testOverride_TypedLikeTheFile() throws {
        let c = try ExperimentConfig.parse(yaml: minimal, file: "exp.yaml",
                                           overrides: ["training.optimizer.lr=0.003", "model.layers=2", "data.shuffle=false"])
        XCTAssertEqual(c.training.optimizer.lr, 0.003)
        XCTAssertEqual(c.model.layers, 2)
        XCTAssertFalse(c.data.shuffle)
        let e = try XCTUnwrap(parseError(minimal, overrides: ["model.layers=two"]))
        XCTAssertEqual(e.description, "--set: model.layers: expected an integer, found 'two'")
        let u = try XCTUnwrap(parseError(minimal, overrides: ["training.optimiser.lr=1"]))
        XCTAssertTrue(u.description.contains("unknown key (did you mean 'training.optimizer'?)"), u.description)
    }

    func testOptimizerKeyOfAnotherAlgorithm_IsUnknown() throws {
        let e = try XCTUnwrap(parseError(minimal + "\ntraining:\n  optimizer: {kind: adam, momentum: 0.9}\n"))
        XCTAssertEqual(e.key, "training.optimizer.momentum")
        XCTAssertTrue(e.description.contains("unknown key"), e.description)
    }
}

extension ConfigErrorTests {
    func testResolvedYAML_ReadsBackToTheSameExperiment_ForEveryShippedConfig() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("configs").path)
            .filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(configs.count, 8)
        for name in configs {
            let c = try ExperimentConfig.load(path: root.appendingPathComponent("configs/\(name)").path)
            let again = try ExperimentConfig.parse(yaml: try c.yaml(), file: "resolved-\(name)")
            XCTAssertEqual(again, c, name)
        }
        var c = try ExperimentConfig.parse(yaml: minimal, file: "exp.yaml", overrides: ["training.optimizer={kind: sgd, momentum: 0.9, nesterov: true}",
                                                                                         "training.schedule={kind: step, step_size: 10, gamma: 0.5}"])
        XCTAssertEqual(try ExperimentConfig.parse(yaml: try c.yaml(), file: "r"), c)
        c.name = "true"
        XCTAssertEqual(try ExperimentConfig.parse(yaml: try c.yaml(), file: "r").name, "true")
    }
}
