// Strict reading of an experiment file: the YAML tree flattened to dotted key paths with their
// lines, typed accessors, command-line overrides (--set), and a final pass that rejects every
// key outside the schema, with a did-you-mean. It knows no keys itself: ExperimentSchema
// declares them and ExperimentConfig+Reading asks for them.

import RecurKernels
import Foundation
import Yams

/// A problem in an experiment file or override: `file:line: key.path: what is wrong`.
public struct ConfigError: UserInputError, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String
    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file; self.line = line; self.key = key; self.message = message
    }
    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        let message = quotedForMessage(self.message, limit: 800)   // it may quote the user's text
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// A YAML tree as dotted key paths, read with typed accessors that record which keys exist.
final class ConfigSource {
    struct Entry { var node: Node; var line: Int?; var origin: String }

    let file: String
    private(set) var entries: [String: Entry] = [:]
    /// Every key path some accessor asked for (present or not): the schema, for did-you-mean.
    private(set) var asked: Set<String> = []

    /// The largest experiment text read (a file or one `--set` value), and the deepest nesting:
    /// an experiment is a few kilobytes, its keys at most four deep (sweep grids in lists), while
    /// the YAML parser recurses per level (thousands of levels overflow its stack).
    public static let maxBytes = 1 << 20
    public static let maxDepth = 32

    /// Refuses text too large or too deeply nested to be an experiment, before it is parsed.
    /// - Throws: `ConfigError` naming the file (or `--set`), the line and the limit.
    static func checkSize(_ text: String, file: String, key: String = "") throws {
        if text.utf8.count > maxBytes {
            throw ConfigError(file: file, line: nil, key: key,
                              message: "holds \(text.utf8.count) bytes, more than the \(maxBytes) an experiment may have; an experiment is a few keys per section (see configs/)")
        }
        var flow = 0, line = 1, deepest = 0, deepestLine = 1
        var quote: Character? = nil, lineStart = true, indent = 0
        for ch in text {
            if ch == "\n" { line += 1; lineStart = true; indent = 0; if quote == "\n" { quote = nil }; continue }
            if lineStart {
                if ch == " " || ch == "-" { indent += 1; continue }
                lineStart = false
            }
            if let q = quote { if ch == q { quote = nil }; continue }
            switch ch {
            case "\"", "'": quote = ch
            case "[", "{": flow += 1
            case "]", "}": flow = max(0, flow - 1)
            case "#": quote = "\n"   // a comment: skip to the line's end
            default: break
            }
            let depth = flow + indent / 2
            if depth > deepest { deepest = depth; deepestLine = line }
        }
        if deepest > maxDepth {
            throw ConfigError(file: file, line: key.isEmpty ? deepestLine : nil, key: key,
                              message: "nests \(deepest) levels deep, more than the \(maxDepth) an experiment may; its keys are at most four deep (section.key.subkey)")
        }
    }

    init(yaml: String, file: String) throws {
        self.file = file
        try Self.checkSize(yaml, file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            let line = Self.line(of: error)
            throw ConfigError(file: file, line: line, key: "", message: Self.explain(error, text: yaml, line: line))
        }
        guard let root, !yaml.allSatisfy({ $0.isWhitespace }) else {
            throw ConfigError(file: file, line: nil, key: "",
                              message: "the file is empty; an experiment needs at least data: (kind, path, seq_len) and model: (cell, hidden_size) — see configs/ for examples")
        }
        guard case .mapping = root else {
            throw ConfigError(file: file, line: root.mark.map { $0.line }, key: "",
                              message: "an experiment file must be a mapping of sections (experiment:, data:, model:, training:, …)")
        }
        try flatten(root, prefix: "")
    }

    /// The parser's complaint in words that say what to change.
    private static func explain(_ error: YamlError, text: String, line: Int?) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if let line, line >= 1, line <= lines.count, lines[line - 1].contains("\t") {
            return "line \(line) holds a tab; YAML indents with spaces only: replace the tab with spaces"
        }
        if text.contains("\t"), let n = lines.firstIndex(where: { $0.hasPrefix("\t") || $0.contains(":\t") }) {
            return "line \(n + 1) holds a tab; YAML indents with spaces only: replace the tab with spaces"
        }
        let problem = describe(error)
        if problem.contains("flow sequence") || problem.contains("expected ',' or ']'") {
            return "a '[' list is not closed with ']' (or its items are not separated by commas)"
        }
        if problem.contains("flow mapping") || problem.contains("expected ',' or '}'") {
            return "a '{' mapping is not closed with '}' (or its entries are not separated by commas)"
        }
        if problem.contains("mapping values are not allowed") {
            return "a ':' where YAML expects none: put one key per line, and quote a value that contains ': '"
        }
        if problem.contains("quoted scalar") {
            return "a quoted value is not closed: end it with the same quote it starts with"
        }
        return "not valid YAML: \(problem) (check the indentation: each key of a section is indented by the same number of spaces)"
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }

    /// Records every key path; a key given twice in one mapping (a section written twice, or a
    /// key repeated in it) is refused naming both lines, since YAML would silently keep the last.
    private func flatten(_ node: Node, prefix: String) throws {
        if case .mapping(let m) = node {
            if !prefix.isEmpty { entries[prefix] = Entry(node: node, line: node.mark?.line, origin: file) }
            var seen: [String: Int?] = [:]
            for (k, v) in m {
                let key = k.string ?? "\(k)"
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                if let first = seen[key] {
                    let lines = [first, k.mark?.line].compactMap { $0 }.map(String.init).joined(separator: " and ")
                    throw ConfigError(file: file, line: k.mark?.line, key: path,
                                      message: "appears twice in the same section\(lines.isEmpty ? "" : " (lines \(lines))"); keep one, merging what each sets")
                }
                seen[key] = k.mark?.line
                try flatten(v, prefix: path)
            }
        } else {
            entries[prefix] = Entry(node: node, line: node.mark?.line, origin: file)
        }
    }

    /// Applies `key.path=value` overrides; the value is read as YAML, so it is typed like the file.
    /// `alternatives`: groups of keys of which a file gives one (training.epochs or
    /// training.steps); an override of one replaces the file's other.
    func applyOverrides(_ overrides: [String], alternatives: [[String]] = []) throws {
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw ConfigError(file: "--set", line: nil, key: "", message: "'\(o)' is not key.path=value (example: --set training.optimizer.lr=0.003)")
            }
            let key = String(o[..<eq]), text = String(o[o.index(after: eq)...])
            try Self.checkSize(text, file: "--set", key: key)
            let node: Node
            do { node = try Yams.compose(yaml: text) ?? Node("", .init(.null)) } catch {
                throw ConfigError(file: "--set", line: nil, key: key, message: "value '\(text)' is not valid YAML")
            }
            // Drop what the override replaces (a whole section, when it sets one), and the file's
            // alternative to the key it sets.
            for k in entries.keys where k == key || k.hasPrefix(key + ".") { entries[k] = nil }
            for group in alternatives where group.contains(key) {
                for other in group where other != key && entries[other]?.origin != "--set" { entries[other] = nil }
            }
            if case .mapping = node { flattenOverride(node, prefix: key) } else {
                entries[key] = Entry(node: node, line: nil, origin: "--set")
            }
        }
    }

    private func flattenOverride(_ node: Node, prefix: String) {
        if case .mapping(let m) = node {
            entries[prefix] = Entry(node: node, line: nil, origin: "--set")
            for (k, v) in m { flattenOverride(v, prefix: "\(prefix).\(k.string ?? "")") }
        } else {
            entries[prefix] = Entry(node: node, line: nil, origin: "--set")
        }
    }

    /// Forgets `key` and everything under it (config validate sets faulty keys aside).
    func remove(_ key: String) {
        for k in entries.keys where k == key || k.hasPrefix(key + ".") { entries[k] = nil }
    }

    func error(_ key: String, _ message: String) -> ConfigError {
        let e = entries[key]
        return ConfigError(file: e?.origin ?? file, line: e?.line, key: key, message: message)
    }

    func has(_ key: String) -> Bool { asked.insert(key); return entries[key] != nil && !isNull(key) }

    /// Where each key came from.
    var origins: KeyOrigins {
        var o = KeyOrigins()
        for (k, e) in entries { o.places[k] = (e.origin, e.line) }
        return o
    }

    private func isNull(_ key: String) -> Bool {
        guard let n = entries[key]?.node, case .scalar(let s) = n else { return false }
        return (s.string == "" && s.style == .plain) || s.string == "~" || s.string == "null"
    }

    private func scalar(_ key: String, _ expected: String) throws -> String? {
        asked.insert(key)
        guard let e = entries[key], !isNull(key) else { return nil }
        guard case .scalar(let s) = e.node else { throw error(key, "expected \(expected), found a \(kindName(e.node))") }
        return s.string
    }

    private func kindName(_ n: Node) -> String {
        switch n { case .mapping: "mapping"; case .sequence: "list"; default: "value" }
    }

    func optInt(_ key: String, default d: Int? = nil, min: Int? = nil, max: Int? = nil) throws -> Int? {
        guard let s = try scalar(key, "an integer") else { return d }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else {
            throw error(key, "expected an integer, found '\(s)'")
        }
        if let min, v < min { throw error(key, "must be at least \(min), got \(v)") }
        if let max, v > max { throw error(key, "must be at most \(max), got \(v)") }
        return v
    }

    func int(_ key: String, default d: Int, min: Int? = nil, max: Int? = nil) throws -> Int {
        try optInt(key, default: Optional(d), min: min, max: max)!
    }

    func optDouble(_ key: String, default d: Double?, above: Double? = nil, atLeast: Double? = nil, below: Double? = nil,
                atMost: Double? = nil) throws -> Double? {
        guard let s = try scalar(key, "a number") else { return d }
        guard let v = Double(s), v.isFinite else { throw error(key, "expected a number, found '\(s)'") }
        if let above, !(v > above) { throw error(key, "must be greater than \(above), got \(v)") }
        if let atLeast, !(v >= atLeast) { throw error(key, "must be at least \(atLeast), got \(v)") }
        if let below, !(v < below) { throw error(key, "must be less than \(below), got \(v)") }
        if let atMost, !(v <= atMost) { throw error(key, "must be at most \(atMost), got \(v)") }
        return v
    }

    func double(_ key: String, default d: Double, above: Double? = nil, atLeast: Double? = nil, below: Double? = nil,
                atMost: Double? = nil) throws -> Double {
        try optDouble(key, default: Optional(d), above: above, atLeast: atLeast, below: below, atMost: atMost)!
    }

    func bool(_ key: String, default d: Bool) throws -> Bool { try optBool(key) ?? d }

    func optBool(_ key: String) throws -> Bool? {
        guard let s = try scalar(key, "true or false") else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "expected true or false, found '\(s)'")
        }
    }

    func string(_ key: String, default d: String?) throws -> String? {
        try scalar(key, "a string") ?? d
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, default d: T?) throws -> T? where T.RawValue == String {
        guard let s = try scalar(key, "one of \(T.allCases.map(\.rawValue).joined(separator: ", "))") else { return d }
        if let v = T(rawValue: s) { return v }
        let options = T.allCases.map(\.rawValue)
        let hint = didYouMean(s, among: options).map { " (did you mean '\($0)'?)" } ?? ""
        throw error(key, "'\(s)' is not one of \(options.joined(separator: ", "))\(hint)")
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, default d: T) throws -> T where T.RawValue == String {
        try choice(key, default: Optional(d))!
    }

    func stringList(_ key: String) throws -> [String]? {
        asked.insert(key)
        guard let e = entries[key], !isNull(key) else { return nil }
        switch e.node {
        case .scalar(let s): return [s.string]
        case .sequence(let seq):
            return try seq.map { n in
                guard case .scalar(let s) = n else { throw error(key, "expected a list of names") }
                return s.string
            }
        default: throw error(key, "expected a list of names, found a mapping")
        }
    }

    /// Marks a section as known (so its own entry is not reported as unknown).
    func section(_ key: String) throws {
        asked.insert(key)
        if let e = entries[key], !isNull(key) {
            guard case .mapping = e.node else { throw error(key, "expected a mapping (indented keys under '\(key.split(separator: ".").last ?? "")')") }
        }
    }

    /// Rejects every key outside `known` (the schema's paths and sections), naming the closest
    /// known key at the first level where the path leaves the schema.
    func rejectUnknownKeys(known: Set<String>) throws {
        let order = entries.keys.sorted { (entries[$0]?.line ?? 0, $0) < (entries[$1]?.line ?? 0, $1) }
        for key in order where !known.contains(key) {
            let parts = key.split(separator: ".").map(String.init)
            var depth = 1
            while depth < parts.count && known.contains(parts[0..<depth].joined(separator: ".")) { depth += 1 }
            let parent = parts[0..<(depth - 1)].joined(separator: ".")
            let siblings = known.compactMap { k -> String? in
                let p = k.split(separator: ".").map(String.init)
                return p.count == depth && p[0..<(depth - 1)].joined(separator: ".") == parent ? p[depth - 1] : nil
            }
            var hint = didYouMean(parts[depth - 1], among: siblings)
                .map { " (did you mean '\(parent.isEmpty ? "" : parent + ".")\($0)'?)" } ?? ""
            if hint.isEmpty, let whole = known.filter({ $0.hasSuffix("." + key) }).min(by: { $0.count < $1.count }) {
                hint = " (did you mean '\(whole)'?)"       // a key written without its section
            }
            throw error(key, "unknown key\(hint)")
        }
    }
}

/// The option closest to `word` by edit distance, if it is close enough to be a typo.
func didYouMean(_ word: String, among options: some Collection<String>) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
    let w = Array(word.lowercased())
    let best = options.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= Swift.max(2, w.count / 3) else { return nil }
    return best.0
}
