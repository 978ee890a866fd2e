// Start-up agreement across ranks (ARCHITECTURE.md §7): every rank hashes what must be equal
// everywhere — the parameter layout, the resolved experiment and the data it read — and the
// hashes are compared before any training, so a rank on a node with a different file or config
// stops the whole job with a message instead of training something else or hanging.

import Foundation
import RecurData
import RecurParallel

/// Ranks that disagree on an item, named for the message.
public struct AgreementError: Error, CustomStringConvertible {
    public var item: String
    public var ranks: [Int]
    public var description: String {
        "ranks disagree on the \(item): rank 0 differs from rank(s) \(ranks.map(String.init).joined(separator: ", ")); every process must run the same experiment file and read identical data"
    }
}

public enum StartupAgreement {
    /// The hashes compared at start-up, by item name.
    public static func items(config: ExperimentConfig, layoutFingerprint: UInt64, dataset: any WindowedDataset) -> [(String, UInt64)] {
        var c = config
        c.parallel.threads = nil            // threads may differ per node
        var h = StableHasher()
        h.combine((try? c.yaml()) ?? "")
        return [("parameter layout", layoutFingerprint), ("resolved experiment", h.finalize()),
                ("data (fingerprint of the loaded data and its settings)", dataset.fingerprint())]
    }

    /// Compares every item across ranks; all ranks make the same calls and reach the same verdict.
    /// - Throws: `AgreementError` for the first item some rank disagrees on.
    public static func check(_ items: [(String, UInt64)], comm: Communicator) throws {
        for (name, value) in items {
            let all = comm.allgather(value)
            let differing = all.enumerated().filter { $0.element != all[0] }.map(\.offset)
            if !differing.isEmpty { throw AgreementError(item: name, ranks: differing) }
        }
    }
}
