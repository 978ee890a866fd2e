// The start-up protocol in-process at 1…8 ranks (Note [Agree, then broadcast]): agreeing
// ranks pass; when some differ, every rank throws the same message naming the key, the values
// and the ranks. RecurTrainTests runs it under mpirun for every user-facing field.

import RecurEngine
import RecurParallel
import XCTest

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

}
