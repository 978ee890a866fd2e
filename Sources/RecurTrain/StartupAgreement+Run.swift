// What a training run's ranks must agree on at start-up beyond the engine's own items
// (StartupAgreement in RecurEngine): the resolved experiment and the data each rank loaded,
// as readable "key: value" lines so a difference is named by its key.

import RecurData
import RecurEngine

extension StartupAgreement {
    /// What a training run agrees on besides the engine's items (`Engine.agree(on:)`).
    public static func runItems(config: ExperimentConfig, dataset: any WindowedDataset) -> [AgreementItem] {
        var c = config
        c.parallel.threads = nil            // threads may differ per node
        let settings = c.settingLines()
        return [AgreementItem(name: "experiment", lines: { settings }),
                AgreementItem(name: "data", digest: dataset.fingerprint(), lines: { dataset.agreementLines() })]
    }
}

extension WindowedDataset {
    /// What a rank loaded, as "key: value" lines for the start-up agreement's message.
    func agreementLines() -> [String] {
        let m = manifest
        var lines = ["data kind: \(m.kind.rawValue)",
                     "training windows: \(windowCount(.train))",
                     "validation windows: \(windowCount(.validation))",
                     "test windows: \(windowCount(.test))"]
        if let v = m.vocabulary { lines.append("vocabulary size: \(v.count)") }
        if !m.featureColumns.isEmpty { lines.append("input columns: \(m.featureColumns.joined(separator: ", "))") }
        if let k = m.classCount { lines.append("classes: \(k)") }
        lines.append("content fingerprint: \(String(fingerprint(), radix: 16))")
        return lines
    }
}
