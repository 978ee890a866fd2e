// The start-up protocol (Note [Agree, then broadcast]): ranks that disagree on the model, the
// data or the experiment stop with exit status 2 and one message naming the setting and the
// ranks, before any broadcast — under mpirun for every field a user can get out of step, and
// in-process at 1…8 ranks for the protocol itself.

import Foundation
import RecurParallel
import XCTest
@testable import RecurTrain

final class StartupAgreementTests: XCTestCase {
    // MARK: The protocol, in-process

    func item(_ name: String, _ lines: [String]) -> AgreementItem { AgreementItem(name: name, lines: { lines }) }

    func testCheck_AllRanksAgree_Passes_At1To8Ranks() throws {
        for size in 1...8 {
            let results = try InProcessWorld.run(size: size) { comm -> Bool in
                try StartupAgreement.check([self.item("experiment", ["model.hidden_size: 64"])], comm: comm)
                return true
            }
            XCTAssertEqual(results, Array(repeating: true, count: size))
        }
    }

    func testCheck_SomeRanksDiffer_EveryRankThrowsTheSameMessage_NamingKeyValuesAndRanks() throws {
        for size in 2...8 {
            let odd = size - 1   // the last rank differs, and rank 1 too when there are 4 or more
            let messages = try InProcessWorld.run(size: size) { comm -> String in
                let differs = comm.rank == odd || (size >= 4 && comm.rank == 1)
                let items = [self.item("experiment", ["model.cell: lstm", "model.hidden_size: \(differs ? 32 : 64)"]),
                             self.item("data", ["vocabulary size: 65"])]
                do { try StartupAgreement.check(items, comm: comm); return "passed" } catch let e as AgreementError { return "\(e)" }
            }
            for m in messages { XCTAssertEqual(m, messages[0], "size \(size): ranks reached different verdicts") }
            let ranks = size >= 4 ? "1, \(odd)" : "\(odd)"
            let others = (0..<size).filter { $0 != odd && !(size >= 4 && $0 == 1) }.map(String.init).joined(separator: ", ")
            XCTAssert(messages[0].contains("experiment: model.hidden_size is 64 on rank\(others.contains(",") ? "s" : "") \(others), 32 on rank\(ranks.contains(",") ? "s" : "") \(ranks)"),
                      "size \(size): \(messages[0])")
            XCTAssertFalse(messages[0].contains("model.cell"), messages[0])
            XCTAssertFalse(messages[0].contains("data:"), messages[0])
        }
    }

    func testCheck_DifferentModels_NoBroadcastNeeded_LongListsAreCut() throws {
        let messages = try InProcessWorld.run(size: 2) { comm -> String in
            let lines = (0..<20).map { "rnn.weight_\($0): [\(comm.rank == 0 ? 64 : 32)]" }
            do { try StartupAgreement.check([self.item("parameter layout", lines)], comm: comm); return "passed" } catch { return "\(error)" }
        }
        XCTAssert(messages[0].contains("parameter layout: … and 14 more"), messages[0])
    }

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
