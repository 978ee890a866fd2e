// The start-up protocol under mpirun (Note [Agree, then broadcast]): ranks that disagree on the
// model, the data or the experiment stop with exit status 2 and one message naming the setting
// and the ranks, before any broadcast, for every field a user can get out of step. The
// protocol itself is tested in-process in RecurEngineTests.

import Foundation
import XCTest

final class StartupAgreementMPITests: XCTestCase {
    // MARK: Under mpirun

    /// Runs rank 0 with `args0` and rank 1 with `args1` (both `recur train …`) in `dir`.
    func runTwoRanks(_ args0: [String], _ args1: [String], in dir: URL) throws -> (CommandResult, TimeInterval) {
        let mpi = try mpirun()
        let recur = try recurExecutable().path
        var args = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self",
                    "-np", "1", recur] + args0 + [":", "-np", "1", recur] + args1
        if getuid() == 0 { args.insert("--allow-run-as-root", at: 0) }
        let started = Date()
        let r = try runProcess(mpi, args, in: dir, environment: [:], timeout: 60)
        return (r, Date().timeIntervalSince(started))
    }

    /// Every field that changes the model, the data or the windows, set differently on rank 1:
    /// exit 2 within 10 s, the field named, no rank trains and no run directory appears.
    func testRanksDisagree_OnEachField_Exit2Within10s_NamingIt() throws {
        _ = try mpirun()
        let dir = try temporaryDirectory()
        let letters = Array("abcdefghij klmnop\n")
        let text = String((0..<6000).map { letters[($0 * 5 + $0 / 18) % letters.count] })   // all 18 characters
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        // Same characters, other content; and a smaller alphabet (another vocabulary).
        try String(text.reversed()).write(to: dir.appendingPathComponent("other.txt"), atomically: true, encoding: .utf8)
        try String(text.map { $0 == "p" ? "a" : $0 }).write(to: dir.appendingPathComponent("fewer.txt"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: agree, seed: 3}
        data: {kind: chars, path: text.txt, seq_len: 16}
        model: {cell: lstm, hidden_size: 64, layers: 1, embedding_size: 8}
        training: {steps: 5, batch_size: 8}
        output: {dir: out}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let cases: [(set: String, expect: [String])] = [
            ("model.hidden_size=32", ["experiment: model.hidden_size is 64 on rank 0, 32 on rank 1",
                                      "parameter layout: rnn.weight_hh_l0 is [256, 64] on rank 0, [128, 32] on rank 1"]),
            ("model.layers=2", ["experiment: model.layers is 1 on rank 0, 2 on rank 1", "rnn.weight_ih_l1 is (absent) on rank 0"]),
            ("model.cell=gru", ["experiment: model.cell is lstm on rank 0, gru on rank 1"]),
            ("model.embedding_size=16", ["experiment: model.embedding_size is 8 on rank 0, 16 on rank 1",
                                         "embedding.weight is [18, 8] on rank 0, [18, 16] on rank 1"]),
            ("data.path=fewer.txt", ["data: vocabulary size is 18 on rank 0, 17 on rank 1",
                                     "embedding.weight is [18, 8] on rank 0, [17, 8] on rank 1"]),
            ("data.seq_len=20", ["experiment: data.seq_len is 16 on rank 0, 20 on rank 1", "data: training windows is"]),
            ("data.path=other.txt", ["data: content fingerprint is"]),
        ]
        for c in cases {
            let base = ["train", "e.yaml", "--threads", "1", "--quiet"]
            let (r, elapsed) = try runTwoRanks(base, base + ["--set", c.set], in: dir)
            XCTAssertEqual(r.status, 2, "\(c.set): \(r.stderr)")
            XCTAssertLessThan(elapsed, 10, "\(c.set): took \(elapsed) s")
            XCTAssert(r.stderr.contains("ranks disagree on what to run, so nothing was started"), "\(c.set): \(r.stderr)")
            for e in c.expect { XCTAssert(r.stderr.contains(e), "\(c.set): expected «\(e)» in\n\(r.stderr)") }
            XCTAssertFalse(r.stderr.contains("Signal") || r.stderr.contains("signal"), "\(c.set): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path), "\(c.set): a run directory was made")
        }
    }

    /// Ranks running different benchmarks (another --batch) stop before the first step.
    func testBench_RanksDisagree_Exit2() throws {
        let (r, elapsed) = try runTwoRanks(["bench", "tiny", "--steps", "2"], ["bench", "tiny", "--steps", "2", "--batch", "16"],
                                           in: try temporaryDirectory())
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertLessThan(elapsed, 10)
        XCTAssert(r.stderr.contains("bench: --batch is each workload's own on rank 0, 16 on rank 1"), r.stderr)
    }
}
