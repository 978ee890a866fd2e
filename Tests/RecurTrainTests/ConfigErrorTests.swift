// Experiment files that are wrong: each stops with `file:line: key: problem` before anything
// runs, unknown keys get a did-you-mean, and --set overrides are typed like the file.

import RecurData
import RecurKernels
import RecurOptim
import XCTest
@testable import RecurTrain
@testable import RecurExperiment
@testable import RecurInference
@testable import RecurReport
@testable import RecurStore

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
        XCTAssertTrue(e.description.contains("a '[' list is not closed with ']'"), e.description)
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

    func testOptimizerKeyOfAnotherAlgorithm_IsRefused_NamingTheDecidingKey() throws {
        let e = try XCTUnwrap(parseError(minimal + "\ntraining:\n  optimizer: {kind: adam, momentum: 0.9}\n"))
        XCTAssertEqual(e.key, "training.optimizer.momentum")
        XCTAssertTrue(e.description.contains("applies to optimizer sgd, rmsprop only, and training.optimizer.kind is adam; remove it"),
                      e.description)
    }
}

/// The schema is declared once (ExperimentSchema): the docs, `config show`, the reader's
/// defaults and its refusal of keys that do not apply all come from it.
final class ExperimentSchemaTests: XCTestCase {
    var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func testDocsConfigMD_EqualsWhatTheSchemaDeclares() throws {
        let committed = try String(contentsOf: root.appendingPathComponent("docs/config.md"), encoding: .utf8)
        XCTAssertEqual(committed, ExperimentConfig.schemaMarkdown,
                       "docs/config.md differs from the schema: run `recur config docs > docs/config.md`")
    }

    /// Keys that would be ignored are refused, naming the setting that decides.
    func testKeysThatDoNotApply_AreRefused() throws {
        func error(_ yaml: String) -> String {
            do { _ = try ExperimentConfig.parse(yaml: yaml, file: "e.yaml"); return "" } catch { return "\(error)" }
        }
        let chars = "data: {kind: chars, path: t.txt, seq_len: 8, vocabulary: {lowercase: true}}\nmodel: {cell: lstm, hidden_size: 8}\n"
        XCTAssert(error(chars).contains("data.vocabulary.lowercase: applies to words data only, and data.kind is chars; remove it"), error(chars))
        let gru = "data: {kind: series, path: s.csv, seq_len: 8}\nmodel: {cell: lstm, hidden_size: 8, gru: {reset: before}}\n"
        XCTAssert(error(gru).contains("model.gru.reset: applies to cell gru only, and model.cell is lstm"), error(gru))
        let embed = "data: {kind: series, path: s.csv, seq_len: 8}\nmodel: {cell: lstm, hidden_size: 8, embedding_size: 16}\n"
        XCTAssert(error(embed).contains("model.embedding_size: applies to text (chars, words) only"), error(embed))
        let sched = "data: {kind: series, path: s.csv, seq_len: 8}\nmodel: {cell: lstm, hidden_size: 8}\ntraining: {schedule: {kind: step, total_steps: 5}}\n"
        XCTAssert(error(sched).contains("training.schedule.total_steps: applies to schedule cosine only"), error(sched))
    }

    /// model.bidirectional where the reverse direction would read the targets (a target at every
    /// step) or where state is carried forward (stateful) is refused saying why; sequence-to-one
    /// tasks take it.
    func testBidirectional_RefusedWhereItWouldSeeTheFuture_AcceptedSequenceToOne() throws {
        func error(_ yaml: String) -> String {
            do { _ = try ExperimentConfig.parse(yaml: yaml, file: "e.yaml"); return "" } catch { return "\(error)" }
        }
        let lm = "data: {kind: chars, path: t.txt, seq_len: 8}\nmodel: {cell: lstm, hidden_size: 8, bidirectional: true}\n"
        XCTAssert(error(lm).hasPrefix("e.yaml:2: model.bidirectional: the reverse direction reads each window from its end"), error(lm))
        XCTAssert(error(lm).contains("it would see the very values it predicts"), error(lm))
        let nextStep = "data: {kind: series, path: s.csv, seq_len: 8, target: next}\nmodel: {cell: gru, hidden_size: 8, bidirectional: true}\n"
        XCTAssert(error(nextStep).contains("model.bidirectional: the reverse direction"), error(nextStep))
        let stateful = "data: {kind: chars, path: t.txt, seq_len: 8, target: last, stateful: true}\nmodel: {cell: gru, hidden_size: 8, bidirectional: true}\n"
        XCTAssert(error(stateful).contains("model.bidirectional: stateful training carries each layer's state forward"), error(stateful))
        let classify = "data: {kind: sequences, path: d.csv, seq_len: 8, target: last}\nmodel: {cell: gru, hidden_size: 8, bidirectional: true}\n"
        XCTAssertEqual(error(classify), "")
        XCTAssertEqual(try ExperimentConfig.parse(yaml: classify, file: "e.yaml").model.bidirectional, true)
        let sequenceToOne = "data: {kind: series, path: s.csv, seq_len: 8, target: last}\nmodel: {cell: lstm, hidden_size: 8, bidirectional: true}\n"
        XCTAssertEqual(error(sequenceToOne), "")
    }

    /// Variable-length keys: only for labelled sequences, a length column only with variable
    /// lengths, and read into the data section.
    func testVariableLengthKeys_AppliesToSequences_LengthColumnNeedsVariableLength() throws {
        func error(_ yaml: String) -> String {
            do { _ = try ExperimentConfig.parse(yaml: yaml, file: "e.yaml"); return "" } catch { return "\(error)" }
        }
        let model = "model: {cell: gru, hidden_size: 8, bidirectional: true}\n"
        let ok = "data: {kind: sequences, path: d.csv, seq_len: 50, variable_length: true, length_column: n, features: 3}\n" + model
        let d = try ExperimentConfig.parse(yaml: ok, file: "e.yaml").data
        XCTAssertEqual(d.variableLength, true)
        XCTAssertEqual(d.lengthColumn, "n")
        XCTAssertEqual(d.features, 3)
        let column = "data: {kind: sequences, path: d.csv, seq_len: 50, length_column: n}\n" + model
        XCTAssert(error(column).hasPrefix("e.yaml:1: data.length_column: names the column of sequence lengths, but data.variable_length is not true"), error(column))
        let series = "data: {kind: series, path: s.csv, seq_len: 8, variable_length: true}\nmodel: {cell: gru, hidden_size: 8}\n"
        XCTAssert(error(series).contains("data.variable_length: applies to"), error(series))
        let features = "data: {kind: chars, path: t.txt, seq_len: 8, features: 2}\nmodel: {cell: gru, hidden_size: 8}\n"
        XCTAssert(error(features).contains("data.features: applies to"), error(features))
        let tags = "data: {kind: sequences, path: d.csv, seq_len: 50, sequence_column: id, label_column: tag}\n" + model
        XCTAssertEqual(try ExperimentConfig.parse(yaml: tags, file: "e.yaml").data.labelColumn, "tag")
        let idOnly = "data: {kind: sequences, path: d.csv, seq_len: 50, sequence_column: id}\n" + model
        XCTAssert(error(idOnly).contains("data.sequence_column: groups rows into sequences labelled step by step, but data.label_column is not set"), error(idOnly))
        let both = "data: {kind: sequences, path: d.csv, seq_len: 50, variable_length: true, length_column: n, label_column: tag}\n" + model
        XCTAssert(error(both).contains("data.length_column: a sequence labelled step by step"), error(both))
        let empty = "data: {kind: sequences, path: d.csv, seq_len: 50, label_column: ''}\n" + model
        XCTAssert(error(empty).contains("data.label_column: must not be empty"), error(empty))
        let stateful = "data: {kind: sequences, path: d.csv, seq_len: 8, stateful: true}\nmodel: {cell: gru, hidden_size: 8}\n"
        XCTAssert(error(stateful).contains("data.stateful: labelled sequences are independent examples"), error(stateful))
        XCTAssertEqual(error(stateful.replacingOccurrences(of: "stateful: true", with: "stateful: false")), "")
        let zero = "data: {kind: sequences, path: d.csv, seq_len: 8, variable_length: true, features: 0}\n" + model
        XCTAssert(error(zero).contains("data.features: must be at least 1, got 0"), error(zero))
    }

    /// `config show` prints every key that applies (absent optional ones as null), and only those.
    func testConfigShow_EveryApplicableKey_AndOnlyThose() throws {
        let series = try ExperimentConfig.parse(yaml: "data: {kind: series, path: s.csv, seq_len: 8}\nmodel: {cell: gru, hidden_size: 8}\n", file: "e")
        let text = try series.yaml()
        for key in ["horizon:", "missing:", "reset: after", "init_from: null", "steps: null", "beta1: 0.9", "threads: null"] {
            XCTAssert(text.contains(key), "\(key) missing from\n\(text)")
        }
        for key in ["vocabulary:", "embedding_size:", "nonlinearity:", "forget_bias:", "momentum:", "total_steps:"] {
            XCTAssertFalse(text.contains(key), "\(key) does not apply to a GRU series experiment:\n\(text)")
        }
        XCTAssertEqual(try ExperimentConfig.parse(yaml: text, file: "again"), series)
    }

    /// Defaults that differed between the reader and the removed Codable path now have one home.
    func testOptimizerAndScheduleDefaults_OneHome() throws {
        let base = "data: {kind: series, path: s.csv, seq_len: 8}\nmodel: {cell: lstm, hidden_size: 8}\n"
        let sgd = try ExperimentConfig.parse(yaml: base + "training: {optimizer: {kind: sgd}}\n", file: "e")
        XCTAssertEqual(sgd.training.optimizer.lr, 0.1)
        let adagrad = try ExperimentConfig.parse(yaml: base + "training: {optimizer: {kind: adagrad}}\n", file: "e")
        XCTAssertEqual(adagrad.training.optimizer, OptimizerConfig(algorithm: .adagrad(lrDecay: 0, eps: 1e-10, initialAccumulatorValue: 0), lr: 0.01, weightDecay: 0))
        let adamw = try ExperimentConfig.parse(yaml: base + "training: {optimizer: {kind: adamw}}\n", file: "e")
        XCTAssertEqual(adamw.training.optimizer.weightDecay, 0.01)
        let step = try ExperimentConfig.parse(yaml: base + "training: {schedule: {kind: step}}\n", file: "e")
        XCTAssertEqual(step.training.schedule, .step(stepSize: 1000, gamma: 0.1))
        let exp = try ExperimentConfig.parse(yaml: base + "training: {schedule: {kind: exponential}}\n", file: "e")
        XCTAssertEqual(exp.training.schedule, .exponential(gamma: 0.999))
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

/// Every experiment key a message names exists: the hints in every source file are checked
/// against the schema (a message once told users to enable `unknown_token`, a key that never was).
final class MessageKeyTests: XCTestCase {
    func testEveryKeyNamedInSourceStrings_IsInTheSchema() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        let known = ExperimentConfig.schemaPaths
        let leaves = Set(known.map { $0.split(separator: ".").last.map(String.init)! })
        // snake_case words in strings that are not experiment keys: file and metadata names, flags, JSON fields.
        let notKeys: Set<String> = ["model_config", "data_manifest", "format_version", "best_checkpoint", "best_loss",
                                    "validation_loss", "baseline_loss", "data_fingerprint", "step_seconds", "grad_norm",
                                    "seq_per_s", "tok_per_s", "elapsed_s", "total_steps_run", "skipped_steps", "bits_per_token",
                                    "data_offsets", "simple_value", "wall_time", "file_version", "session_log", "total_steps",
                                    "clear_refs", "odls_base_sigkill_timeout", "sigkill_timeout", "rank_wait_share",
                                    "allreduce_share", "thread_reduction_share", "final_loss", "peak_resident_mebibytes",
                                    "sequences_per_second", "tokens_per_second", "allocations_per_step",
                                    "step_seconds_min", "step_seconds_max", "weight_ih_l", "weight_hh_l", "bias_ih_l",
                                    "bias_hh_l", "one_hot", "every_step", "last_step", "forward_fill", "max_consecutive_skips",
                                    // target kinds, optimizer state tensors (torch.optim's names), JSON fields, C calls
                                    "next_tokens", "last_token", "next_values", "last_values", "class_label", "step_classes", "unknown_id",
                                    "eta_s", "momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg",
                                    "grad_avg", "pthread_create", "training_windows", "run_dir", "best_validation_loss", "best_step",
                                    "validation_accuracy", "plateau_state", "early_stopping_state", "best_evaluation", "stopped_early", "per_class", "state_dict",
                                    "run_progress", "torch_rnn_bench", "run_id", "class_names", "per_series",
                                    // NumPy's names in the fixes its reader suggests
                                    "fortran_order", "savez_compressed"]
        var problems: [String] = []
        let files = FileManager.default.enumerator(atPath: sources.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        let stringLiteral = try NSRegularExpression(pattern: #""([^"\\\n]|\\.)*""#)
        let dotted = try NSRegularExpression(pattern: #"\b(experiment|data|model|training|parallel|output)(\.[a-z_]+)+\b"#)
        let snake = try NSRegularExpression(pattern: #"\b[a-z]+(_[a-z]+)+\b"#)
        for file in files where !file.hasSuffix("ExperimentSchema.swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                let l = String(line)
                for m in stringLiteral.matches(in: l, range: NSRange(l.startIndex..., in: l)) {
                    // The literal's own text, without interpolated expressions.
                    let literal = String(l[Range(m.range, in: l)!])
                        .replacingOccurrences(of: #"\\\([^)]*\)"#, with: " ", options: .regularExpression)
                    for d in dotted.matches(in: literal, range: NSRange(literal.startIndex..., in: literal)) {
                        let key = String(literal[Range(d.range, in: literal)!])
                        if !known.contains(key) && !key.hasSuffix(".swift") && !key.hasSuffix(".yaml") && !key.hasSuffix(".safetensors") && !key.hasSuffix(".npz")
                            && !key.hasSuffix(".jsonl") && !key.hasSuffix(".csv") && !key.hasSuffix(".svg") {
                            problems.append("\(file):\(n + 1): '\(key)' is not an experiment key")
                        }
                    }
                    for w in snake.matches(in: literal, range: NSRange(literal.startIndex..., in: literal)) {
                        let word = String(literal[Range(w.range, in: literal)!])
                        if !leaves.contains(word) && !notKeys.contains(word) {
                            problems.append("\(file):\(n + 1): '\(word)' looks like a key but is none")
                        }
                    }
                }
            }
        }
        XCTAssert(problems.isEmpty, "messages name keys that do not exist:\n" + problems.joined(separator: "\n"))
    }
}

/// `recur config validate` reports every problem in one pass, the data file's included.
final class ConfigValidateTests: XCTestCase {
    func testValidate_EveryProblemInOnePass_AndTheDataFile() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 50).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: m}
        data: {kind: series, path: s.csv, columns: [value, nope], seq_len: 8}
        model: {cell: lstn, hiden_size: 8, dropout: 2}
        training: {steps: 4, batch_size: 0, optimizer: {kind: adam, lr: -1}}
        """.write(to: dir.appendingPathComponent("m.yaml"), atomically: true, encoding: .utf8)
        let r = try runRecur(["config", "validate", "m.yaml"], in: dir)
        XCTAssertEqual(r.status, 2)
        for fragment in ["did you mean 'model.hidden_size'", "'lstn' is not one of", "model.dropout: must be less than 1",
                         "training.optimizer.lr: must be greater than 0", "training.batch_size: must be at least 1",
                         "feature column 'nope' is not in the header", "7 problems in m.yaml"] {
            XCTAssert(r.stderr.contains(fragment), "«\(fragment)» missing from\n\(r.stderr)")
        }
        try "experiment: {name: m}\ndata: {kind: series, path: gone.csv, seq_len: 8}\nmodel: {cell: gru, hidden_size: 4}\n"
            .write(to: dir.appendingPathComponent("g.yaml"), atomically: true, encoding: .utf8)
        let missing = try runRecur(["config", "validate", "g.yaml"], in: dir)
        XCTAssertEqual(missing.status, 2)
        XCTAssert(missing.stderr.contains("gone.csv") && missing.stderr.contains("does not exist"), missing.stderr)
    }
}

/// Labelled sequences are shuffled before the split by `data.split.seed`, not by the run's seed,
/// so runs with different `experiment.seed` are evaluated on the same test examples.
final class SplitSeedTests: XCTestCase {
    func testSplitSeed_KeepsTheTestSet_AcrossExperimentSeeds() throws {
        let dir = try temporaryDirectory()
        var csv = ""
        for e in 0..<60 { csv += (0..<8).map { String(100 * e + $0) }.joined(separator: ",") + ",\(e % 3)\n" }
        try csv.write(to: dir.appendingPathComponent("d.csv"), atomically: true, encoding: .utf8)
        func testSet(_ extra: String) throws -> [Float] {
            let config = try ExperimentConfig.parse(yaml: """
            experiment: {name: s\(extra)}
            data: {kind: sequences, path: d.csv, seq_len: 4, normalize: none, split: {train: 0.6, validation: 0.2, test: 0.2\(extra)}}
            model: {cell: gru, hidden_size: 4}
            """, file: dir.appendingPathComponent("e.yaml").path)
            let data = try config.loadDataset(configPath: dir.appendingPathComponent("e.yaml").path)
            let n = data.windowCount(.test)
            let batch = BatchBuffers(for: data, capacity: n)
            data.fill(.test, windows: 0..<n, into: batch)
            return batch.inputFeatures!.array
        }
        let base = try testSet("")
        XCTAssertFalse(base.isEmpty)
        // experiment.seed is not in data; change it through an override and compare.
        let other = try ExperimentConfig.parse(yaml: """
            experiment: {name: s, seed: 99}
            data: {kind: sequences, path: d.csv, seq_len: 4, normalize: none, split: {train: 0.6, validation: 0.2, test: 0.2}}
            model: {cell: gru, hidden_size: 4}
            """, file: dir.appendingPathComponent("e.yaml").path)
        let otherData = try other.loadDataset(configPath: dir.appendingPathComponent("e.yaml").path)
        let batch = BatchBuffers(for: otherData, capacity: otherData.windowCount(.test))
        otherData.fill(.test, windows: 0..<otherData.windowCount(.test), into: batch)
        XCTAssertEqual(batch.inputFeatures!.array, base, "experiment.seed changed the test set")
        XCTAssertNotEqual(try testSet(", seed: 5"), base, "data.split.seed did not change the test set")
    }
}

/// Every "applies to … only" rule of the schema refuses its key where it does not apply: one
/// refusal per rule, derived from the schema itself (Applicability.outside names a setting
/// outside it), so a key added with a rule is tested with it.
final class ApplicabilityRuleTests: XCTestCase {
    func testEveryRule_RefusesItsKey_WhereItDoesNotApply() throws {
        let base = ["data.kind=series", "data.path=s.csv", "data.seq_len=8", "model.cell=lstm", "model.hidden_size=8", "training.steps=2"]
        // Keys without a plain default get an example value here.
        let examples = ["data.columns": "[value]", "data.targets": "[value]", "data.features": "2", "data.length_column": "n",
                        "data.label_column": "tag", "data.sequence_column": "id", "data.vocabulary.max_size": "100",
                        "data.normalize": "zscore", "data.stride": "2", "data.shuffle": "true", "data.vocabulary.unknown": "true",
                        "model.input": "features", "training.optimizer.lr": "0.01", "training.optimizer.eps": "1e-8",
                        "training.optimizer.momentum": "0.9", "training.schedule.gamma": "0.5", "training.schedule.total_steps": "10",
                        "training.schedule.step_size": "5", "data.classes": "[a, b]",
                        "data.series_column": "id", "data.time_column": "date"]
        var checked: [String] = []
        for e in ExperimentSchema.entries where e.applies.text != nil {
            guard let outside = e.applies.outside else { XCTFail("\(e.path): its rule names no setting outside it"); continue }
            guard let value = examples[e.path] ?? e.exampleValue else { XCTFail("\(e.path): give it an example value here"); continue }
            let overrides = base + outside.split(separator: "; ").map(String.init) + ["\(e.path)=\(value)"]
            XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: overrides), e.path) { error in
                // "applies to … only", or a rule between keys that fires first, naming the key either way.
                XCTAssert("\(error)".contains("\(e.path): "), "\(e.path) with \(outside): \(error)")
            }
            checked.append(e.path)
        }
        XCTAssertGreaterThan(checked.count, 20, "\(checked)")
        XCTAssert(checked.contains("model.dropout"), "dropout with one layer does nothing, as in PyTorch: refused")
    }

    func testEarlyStoppingOnAccuracy_ForAForecaster_IsRefused() {
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: [
            "data.kind=series", "data.path=s.csv", "data.seq_len=8", "model.cell=lstm", "model.hidden_size=8",
            "training.early_stopping={patience: 2, metric: validation_accuracy}"])) { error in
            XCTAssert("\(error)".contains("training.early_stopping.metric: a forecaster has no accuracy"), "\(error)")
        }
    }
}

/// Note [One declaration per key]: a key declared in the schema alone (data.seasonality) is read,
/// range-checked, refused where it does not apply, written back and documented from that
/// declaration, and read where it is used as experiment[key].
final class OneDeclarationTests: XCTestCase {
    let base = ["data.kind=series", "data.path=s.csv", "data.seq_len=8", "model.cell=lstm", "model.hidden_size=8"]

    func testSettingsKey_ReadWrittenCheckedAndDocumented_FromItsDeclaration() throws {
        let K = ExperimentSchema.keys
        let c = try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: base + ["data.seasonality=12"])
        XCTAssertEqual(c[K.seasonality], 12)
        XCTAssertEqual(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: base)[K.seasonality], 1, "its default")
        let yaml = try c.yaml()
        XCTAssert(yaml.contains("seasonality: 12"), yaml)
        XCTAssertEqual(try ExperimentConfig.parse(yaml: yaml, file: "back.yaml"), c, "written back and read again")
        XCTAssertNotEqual(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: base + ["data.seasonality=4"]), c)
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: base + ["data.seasonality=0"])) { error in
            XCTAssert("\(error)".contains("data.seasonality: must be at least 1"), "\(error)")
        }
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "{}", file: "t.yaml", overrides: base + ["data.kind=chars", "data.seasonality=3"])) { error in
            XCTAssert("\(error)".contains("data.seasonality: applies to series data only"), "\(error)")
        }
        XCTAssert(ExperimentConfig.schemaMarkdown.contains("| `seasonality` |"))
        XCTAssert(ExperimentSchema.resumablePaths.contains("data.seasonality"))
        XCTAssertEqual(ExperimentSchema.entries.count, Mirror(reflecting: K).children.count, "every declaration is an entry")
    }
}
