// What a resume may change: the schema marks each key (`SchemaEntry.mayChangeOnResume`); these
// checks compare a run's stored experiment with the one a resume would run, by the resolved
// "section.key: value" lines (`settingLines`), which the start-up agreement also names keys by.

import Yams

extension ExperimentConfig {
    /// Every resolved setting as "section.key: value" lines, in file order (the start-up
    /// agreement names the keys that differ with them).
    public func settingLines() -> [String] {
        var lines: [String] = []
        func walk(_ node: Node, _ path: String) {
            switch node {
            case .mapping(let m):
                for (k, v) in m { walk(v, path.isEmpty ? (k.string ?? "?") : "\(path).\(k.string ?? "?")") }
            case .sequence(let s):
                lines.append("\(path): [\(s.map { $0.string ?? "…" }.joined(separator: ", "))]")
            case .scalar(let s):
                lines.append("\(path): \(s.string)")
            default:
                lines.append("\(path): ?")
            }
        }
        walk(fileNode(), "")
        return lines
    }
}

extension ExperimentConfig {
    /// Whether a resume may change `path` (a key, or a section holding a key that may change).
    static func mayChangeOnResume(_ path: String) -> Bool {
        ExperimentSchema.resumablePaths.contains { path == $0 || path.hasPrefix($0 + ".") || $0.hasPrefix(path + ".") }
    }

    /// The resolved settings by key.
    func settingValues() -> [String: String] {
        Dictionary(settingLines().map { line -> (String, String) in
            let r = line.range(of: ": ")!
            return (String(line[..<r.lowerBound]), String(line[r.upperBound...]))
        }, uniquingKeysWith: { a, _ in a })
    }

    /// Refuses `--set KEY=…` for a key a resume cannot change, before the override is applied
    /// (applied first, it would fail on keys it makes inapplicable, naming the stored file).
    /// `self` is the run's stored experiment.
    /// - Throws: `ConfigError` naming the key, the stored value and the refused one.
    public func checkResumeOverrideKeys(_ overrides: [String], run: String) throws {
        let stored = settingValues()
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { continue }
            let key = String(o[..<eq])
            guard ExperimentSchema.knownPaths.contains(key), !Self.mayChangeOnResume(key) else { continue }
            throw ConfigError(file: "--set", line: nil, key: key,
                              message: "cannot change when resuming \(run): the run was trained with \(stored[key] ?? "the stored setting"), and the checkpoint's parameters, data order and optimizer state depend on it; start a new run to use \(o[o.index(after: eq)...])")
        }
    }

    /// Refuses a resumed experiment that differs from `self` (what the run was trained with) in
    /// a key a resume may not change.
    /// - Parameter source: what made the difference, for the message ("--set", a file's path).
    /// - Throws: `ConfigError` naming the first such key with both values.
    public func checkResumeChanges(to resumed: ExperimentConfig, run: String, source: String) throws {
        let before = settingValues(), after = resumed.settingValues()
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            guard !ExperimentSchema.resumablePaths.contains(where: { key == $0 || key.hasPrefix($0 + ".") }) else { continue }
            throw ConfigError(file: source, line: nil, key: key,
                              message: "cannot change when resuming \(run): the run was trained with \(before[key] ?? "(none)"), and the checkpoint's parameters, data order and optimizer state depend on it; start a new run to use \(after[key] ?? "(none)")")
        }
    }
}
