// The same bits at any layout (Note [Layout-invariant steps]): with parallel.deterministic, 20
// steps at 1×1, 1×2, 1×3, 2×1, 2×2, 3×1, 3×2 and 4×1 (processes × threads, mpirun over TCP)
// leave every tensor of model.safetensors and training-state.safetensors byte for byte equal,
// for a 2-layer LSTM character model with dropout, a GRU forecaster, a bidirectional GRU, a
// bidirectional LSTM classifier of sequences of different lengths, a bidirectional GRU tagging
// every step of such sequences and a stateful character model; and a run checkpointed at one layout and resumed at another (elastic resume) ends with
// the bits of the uninterrupted run.

import Foundation
import RecurTrain
import XCTest

final class LayoutInvarianceTests: XCTestCase {
    static let layouts: [(processes: Int, threads: Int)] = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1), (3, 2), (4, 1)]

    // 57 training windows of 12: the last batch of each epoch is partial.
    static let lstmChar = """
    experiment: {name: li-lstm, seed: 11}
    data: {kind: chars, path: text.txt, seq_len: 16, split: {train: 0.9, validation: 0.1, test: 0}}
    model: {cell: lstm, hidden_size: 24, layers: 2, embedding_size: 8, dropout: 0.2}
    training: {steps: 20, batch_size: 12, optimizer: {kind: adam, lr: 0.01}, clip: {norm: 0.5}, log_every: 100, eval_every: 10}
    parallel: {deterministic: true}
    """
    static let gruSeries = """
    experiment: {name: li-gru, seed: 12}
    data: {kind: series, path: series.csv, columns: [value], seq_len: 10, target: next}
    model: {cell: gru, hidden_size: 20}
    training: {steps: 20, batch_size: 10, optimizer: {kind: sgd, lr: 0.05, momentum: 0.9, nesterov: true}, clip: {norm: 0, value: 0.1}, log_every: 100, eval_every: 10}
    parallel: {deterministic: true}
    """
    static let statefulChar = """
    experiment: {name: li-stateful, seed: 13}
    data: {kind: chars, path: text.txt, seq_len: 8, stateful: true, split: {train: 0.8, validation: 0.2, test: 0}}
    model: {cell: rnn, hidden_size: 16, input: one_hot, rnn: {nonlinearity: relu}}
    training: {steps: 20, batch_size: 8, optimizer: {kind: rmsprop, lr: 0.01, centered: true}, log_every: 100, eval_every: 10}
    parallel: {deterministic: true}
    """

    /// Bidirectional (Note [Bidirectional layers]): the next character after each window, read
    /// both ways by a 2-layer GRU with dropout.
    static let bidirectionalChar = """
    experiment: {name: li-bi, seed: 14}
    data: {kind: chars, path: text.txt, seq_len: 12, target: last, split: {train: 0.9, validation: 0.1, test: 0}}
    model: {cell: gru, hidden_size: 12, layers: 2, embedding_size: 6, dropout: 0.2, bidirectional: true}
    training: {steps: 20, batch_size: 12, optimizer: {kind: adam, lr: 0.01}, clip: {norm: 0.5}, log_every: 100, eval_every: 10}
    parallel: {deterministic: true}
    """

    /// Variable lengths (Note [Variable-length sequences], Note [Work-balanced parts]): ragged
    /// rows of 2…24 steps, read both ways by a 2-layer LSTM with dropout.
    static let variableLengthLSTM = """
    experiment: {name: li-var, seed: 15}
    data: {kind: sequences, path: seqs.csv, seq_len: 24, variable_length: true, features: 2, split: {train: 0.8, validation: 0.2, test: 0}}
    model: {cell: lstm, hidden_size: 10, layers: 2, dropout: 0.2, bidirectional: true}
    training: {steps: 20, batch_size: 12, optimizer: {kind: adam, lr: 0.01}, log_every: 100, eval_every: 10}
    parallel: {deterministic: true}
    """

    /// A class at every step of sequences of 2…18 steps (long form), read both ways by a GRU.
    static let stepTaggingGRU = """
    experiment: {name: li-tags, seed: 16}
    data: {kind: sequences, path: tags.csv, seq_len: 18, variable_length: true, sequence_column: seq, label_column: tag, split: {train: 0.8, validation: 0.2, test: 0}}
    model: {cell: gru, hidden_size: 10, layers: 2, dropout: 0.1, bidirectional: true}
    training: {steps: 20, batch_size: 10, optimizer: {kind: adam, lr: 0.01}, log_every: 100, eval_every: 10}
    parallel: {deterministic: true}
    """

    func setUpDir(_ name: String, yaml: String) throws -> URL {
        let dir = try temporaryDirectory(name)
        let text = (0..<60).map { "line \($0): the quick brown fox jumps over the lazy dog; " }.joined(separator: "\n")
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try sineCSV(rows: 300).write(to: dir.appendingPathComponent("series.csv"), atomically: true, encoding: .utf8)
        try raggedSequencesCSV(examples: 70).write(to: dir.appendingPathComponent("seqs.csv"), atomically: true, encoding: .utf8)
        try stepTaggedCSV(sequences: 60).write(to: dir.appendingPathComponent("tags.csv"), atomically: true, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func run(_ args: [String], in dir: URL, processes: Int, threads: Int) throws -> CommandResult {
        let recur = try recurExecutable().path
        let all = args + ["--threads", "\(threads)", "--quiet"]
        if processes == 1 { return try runProcess(recur, all, in: dir, environment: [:], timeout: 120) }
        var mpi = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "\(processes)"]
        if getuid() == 0 { mpi.insert("--allow-run-as-root", at: 0) }
        return try runProcess(try mpirun(), mpi + [recur] + all, in: dir, environment: [:], timeout: 120)
    }

    /// Every tensor's bytes in the run's last checkpoint, by file and tensor name.
    func tensors(_ run: URL) throws -> [String: [UInt8]] {
        let checkpoints = run.appendingPathComponent("checkpoints")
        let last = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).filter { $0.hasPrefix("step-") }.max())
        var out: [String: [UInt8]] = [:]
        for file in ["model.safetensors", "training-state.safetensors"] {
            let f = try SafeTensorsFile.read(from: checkpoints.appendingPathComponent("\(last)/\(file)"))
            for t in f.tensors { out["\(last)/\(file):\(t.name)"] = t.bytes }
        }
        return out
    }

    func assertSameBitsAtEveryLayout(_ yaml: String, name: String) throws {
        _ = try mpirun()
        let dir = try setUpDir(name, yaml: yaml)
        var reference: [String: [UInt8]]?
        var validation: [String] = []
        for (p, k) in Self.layouts {
            let out = "run-\(p)x\(k)"
            let r = try run(["train", "e.yaml", "--set", "output.dir=\(out)"], in: dir, processes: p, threads: k)
            XCTAssertEqual(r.status, 0, "\(name) \(p)×\(k): \(r.stderr)")
            let t = try tensors(dir.appendingPathComponent(out))
            XCTAssertGreaterThan(t.count, 4)
            if let reference {
                for (key, bytes) in reference where t[key] != bytes {
                    XCTFail("\(name) \(p)×\(k): \(key) differs from 1×1")
                }
                XCTAssertEqual(Set(t.keys), Set(reference.keys))
            } else {
                reference = t
            }
            // The validation losses logged are the same numbers too.
            let metrics = try String(contentsOf: dir.appendingPathComponent("\(out)/metrics.jsonl"), encoding: .utf8)
            validation.append(metrics.split(separator: "\n").filter { $0.contains("\"validation\"") }
                .map { $0.split(separator: ",").first { $0.hasPrefix("\"loss\"") }.map(String.init) ?? "" }.joined(separator: " "))
        }
        XCTAssertEqual(Set(validation).count, 1, "\(name): validation losses differ between layouts: \(validation)")
    }

    func testLSTMCharModelWithDropout_SameBitsAtEveryLayout() throws {
        try assertSameBitsAtEveryLayout(Self.lstmChar, name: "lstm")
    }

    func testGRUForecaster_SameBitsAtEveryLayout() throws {
        try assertSameBitsAtEveryLayout(Self.gruSeries, name: "gru")
    }

    func testBidirectionalGRU_SameBitsAtEveryLayout() throws {
        try assertSameBitsAtEveryLayout(Self.bidirectionalChar, name: "bidirectional")
    }

    func testVariableLengthBidirectionalLSTM_SameBitsAtEveryLayout() throws {
        try assertSameBitsAtEveryLayout(Self.variableLengthLSTM, name: "variable-length")
    }

    func testStepTaggingBidirectionalGRU_SameBitsAtEveryLayout() throws {
        try assertSameBitsAtEveryLayout(Self.stepTaggingGRU, name: "step tagging")
    }

    func testStatefulCharModel_SameBitsAtEveryLayout() throws {
        try assertSameBitsAtEveryLayout(Self.statefulChar, name: "stateful")
    }

    /// 2×1 for 10 steps, then resumed as 1×2 and as 3×1 for 10 more: both equal 1×1 for 20.
    func assertElasticResume(_ yaml: String, name: String) throws {
        _ = try mpirun()
        let dir = try setUpDir(name, yaml: yaml)
        XCTAssertEqual(try run(["train", "e.yaml", "--set", "output.dir=full"], in: dir, processes: 1, threads: 1).status, 0)
        let full = try tensors(dir.appendingPathComponent("full"))
        for (p, k) in [(1, 2), (3, 1)] {
            let part = "part-\(p)x\(k)"
            let first = try run(["train", "e.yaml", "--set", "output.dir=\(part)", "--set", "training.steps=10"], in: dir, processes: 2, threads: 1)
            XCTAssertEqual(first.status, 0, first.stderr)
            let resumed = try run(["train", "--resume", part, "--set", "training.steps=20"], in: dir, processes: p, threads: k)
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            let t = try tensors(dir.appendingPathComponent(part))
            for (key, bytes) in full where t[key] != bytes { XCTFail("\(name): 2×1 → \(p)×\(k): \(key) differs from 1×1") }
        }
    }

    func testElasticResume_LSTMCharModel_2x1Then1x2And3x1_EqualsOneProcess() throws {
        try assertElasticResume(Self.lstmChar, name: "lstm")
    }

    func testElasticResume_StatefulStreams_2x1Then1x2And3x1_EqualsOneProcess() throws {
        try assertElasticResume(Self.statefulChar, name: "stateful")
    }
}
