// The start-up protocol across ranks (ARCHITECTURE.md §7), run before anything is broadcast:
// every rank digests what must be equal everywhere, one fixed-size exchange compares the
// digests, and on any difference every rank exchanges the readable form of the items that
// differ, so all ranks throw the same AgreementError naming the settings and the ranks. Only
// after it passes are parameters and optimizer state broadcast (Note [Agree, then broadcast]).

import RecurData
import RecurKernels
import RecurModel
import RecurParallel

// Note [Agree, then broadcast]
// A broadcast assumes that every rank holds a buffer of the same size. Ranks that disagree on
// the model (another hidden_size, vocabulary or cell on one node) would each pass their own
// count to MPI_Bcast, which reads or writes past the smaller buffer: memory corruption, then a
// signal. So nothing sized by the model crosses ranks before the agreement: the exchange is a
// fixed number of words whatever the model, the readable details that follow travel as
// length-prefixed strings, and `Trainer.broadcastInitialState` runs only after `check` passes.

/// Ranks that disagree on what they are about to run; the same value on every rank.
public struct AgreementError: UserInputError, CustomStringConvertible {
    /// One line per differing item, each naming the setting and the ranks.
    public var differences: [String]
    public var description: String {
        "ranks disagree on what to run, so nothing was started:\n"
            + differences.map { "  \($0)" }.joined(separator: "\n")
            + "\nevery process must run the same Recur build and experiment (same file, same --set overrides) on identical data"
    }
}

/// One thing every rank must agree on: a digest for the fixed-size exchange and, read only
/// when digests differ, "key: value" lines that name what differs.
public struct AgreementItem {
    public var name: String
    public var digest: UInt64
    public var lines: () -> [String]

    public init(name: String, lines: @escaping () -> [String]) {
        self.name = name
        self.lines = lines
        var h = StableHasher()
        for line in lines() { h.combine(line); h.combine("\n") }
        digest = h.finalize()
    }

    public init(name: String, digest: UInt64, lines: @escaping () -> [String]) {
        self.name = name
        self.digest = digest
        self.lines = lines
    }
}

public enum StartupAgreement {
    /// Words in the exchange, whatever the items: a protocol word, then item digests, zero-padded.
    public static let exchangeWords = 16
    /// Changes when the items or their meaning change, so another Recur build is named as such.
    static let protocolWord: UInt64 = 0x5245_4355_5202_0001   // "RECUR", protocol 2.1

    /// The items every command that runs under mpirun compares: the Recur build and kernels.
    public static func buildItems() -> [AgreementItem] { [versionItem(), kernelItem()] }

    static func versionItem() -> AgreementItem {
        AgreementItem(name: "Recur build", lines: { ["version: \(RecurVersion.string)"] })
    }

    /// The kernels' arithmetic: AVX-512 and AVX2 compute every value with the same fused
    /// multiply-adds in the same order, so they give the same bits and may mix (BenchTests
    /// checks it); the baseline multiplies, then adds, so its ranks would train on other numbers.
    static func kernelItem() -> AgreementItem {
        AgreementItem(name: "kernels", lines: {
            [KernelLevel.current == .baseline
                ? "kernel arithmetic: multiply, then add (baseline kernels: this CPU has no AVX2 and FMA, or RECUR_KERNELS=baseline; RECUR_KERNELS=baseline on every rank makes mixed CPUs agree)"
                : "kernel arithmetic: fused multiply-add (AVX-512 and AVX2 kernels give the same bits)"]
        })
    }

    public static func layoutItem(_ layout: ParameterLayout) -> AgreementItem {
        AgreementItem(name: "parameter layout", digest: layout.fingerprint, lines: {
            layout.entries.map { "\($0.name): [\($0.shape.map(String.init).joined(separator: ", "))]" }
        })
    }

    /// Compares `items` across ranks: one fixed-size exchange, and on a difference the
    /// readable lines of the differing items. Every rank makes the same calls and reaches the
    /// same verdict.
    /// - Throws: `AgreementError` naming every difference and the ranks that hold it.
    public static func check(_ items: [AgreementItem], comm: Communicator) throws {
        precondition(items.count < exchangeWords, "too many agreement items for the fixed exchange")
        var words = [UInt64](repeating: 0, count: exchangeWords)
        words[0] = protocolWord
        for (i, item) in items.enumerated() { words[i + 1] = item.digest }
        let all = comm.allgather(words)
        if all.allSatisfy({ $0 == all[0] }) { return }
        if all.contains(where: { $0[0] != all[0][0] }) {
            let others = all.indices.filter { all[$0][0] != all[0][0] }
            throw AgreementError(differences: ["Recur build: rank(s) \(list(others)) run a different Recur version than rank 0"])
        }
        var differences: [String] = []
        for (i, item) in items.enumerated() where all.contains(where: { $0[i + 1] != all[0][i + 1] }) {
            // Every rank learns every rank's lines (collective: the loop is the same everywhere).
            let mine = item.lines().joined(separator: "\n")
            let lines = (0..<comm.size).map { r in comm.broadcast(string: mine, root: r).split(separator: "\n").map(String.init) }
            differences += describe(item.name, lines)
        }
        throw AgreementError(differences: differences)
    }

    /// "key: value" lines per rank → one line per key whose value differs, naming the ranks.
    static func describe(_ item: String, _ perRank: [[String]], limit: Int = 6) -> [String] {
        func parse(_ lines: [String]) -> [(String, String)] {
            lines.map { l in
                guard let r = l.range(of: ": ") else { return (l, "") }
                return (String(l[..<r.lowerBound]), String(l[r.upperBound...]))
            }
        }
        let parsed = perRank.map { Dictionary(parse($0), uniquingKeysWith: { a, _ in a }) }
        var keys: [String] = []
        for lines in perRank { for (k, _) in parse(lines) where !keys.contains(k) { keys.append(k) } }
        var out: [String] = []
        for key in keys {
            let values = parsed.map { $0[key] ?? "(absent)" }
            guard values.contains(where: { $0 != values[0] }) else { continue }
            var groups: [(value: String, ranks: [Int])] = []
            for (r, v) in values.enumerated() {
                if let g = groups.firstIndex(where: { $0.value == v }) { groups[g].ranks.append(r) } else { groups.append((v, [r])) }
            }
            let said = groups.map { "\($0.value) on rank\($0.ranks.count > 1 ? "s" : "") \(list($0.ranks))" }.joined(separator: ", ")
            out.append("\(item): \(key) is \(said)")
        }
        if out.isEmpty { out.append("\(item): differs between ranks \(list(Array(perRank.indices)))") }
        if out.count > limit { out = Array(out.prefix(limit)) + ["\(item): … and \(out.count - limit) more"] }
        return out
    }

    private static func list(_ ranks: [Int]) -> String { ranks.map(String.init).joined(separator: ", ") }
}
