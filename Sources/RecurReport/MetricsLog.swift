// A run's metrics.jsonl: one flat JSON object per logged step or evaluation, written with one
// write(2) per line so a killed run loses at most the line it was writing. It neither chooses
// what to log nor aggregates; nested values and thread-safe appends are deliberately absent.

import Foundation
import RecurKernels
import RecurStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Values and records

/// One scalar value in a metrics record.
///
/// Non-finite doubles are written as JSON `null` (JSON has no NaN), so a record that logged a
/// NaN loss reads back with `.null` under that key.
public enum MetricValue: Equatable, Sendable {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null

    /// The value as a number, whether it was written as an integer or not.
    public var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The value as an integer; a double is accepted only when it is integral.
    public var int: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return d.rounded() == d && abs(d) < 9.0e18 ? Int(d) : nil
        default: return nil
        }
    }

    /// The value as a string, when it is one.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as JSON text.
    public var jsonText: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? jsonNumber(d) : "null"
        case .string(let s): return jsonQuoted(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

extension MetricValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
                       ExpressibleByBooleanLiteral, ExpressibleByNilLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}

/// One line of metrics.jsonl: keys in the order they were written.
public struct MetricsRecord: Equatable, Sendable {
    /// The fields, in file order.
    public var fields: [(key: String, value: MetricValue)]

    public init(_ fields: [(key: String, value: MetricValue)]) { self.fields = fields }

    /// The value under `key`, or nil when the record has no such key.
    public subscript(key: String) -> MetricValue? {
        fields.first(where: { $0.key == key })?.value
    }

    /// The record's `step`, when it has an integral one.
    public var step: Int? { self["step"]?.int }

    /// The record's `kind` ("train", "validation", …), when it has one.
    public var kind: String? { self["kind"]?.string }

    /// The record as one line of JSON, without the newline.
    public var jsonLine: String {
        "{" + fields.map { jsonQuoted($0.key) + ":" + $0.value.jsonText }.joined(separator: ",") + "}"
    }

    public static func == (a: MetricsRecord, b: MetricsRecord) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

// MARK: - The log

/// Appends records to a metrics.jsonl file, one flushed line each.
///
/// Not thread-safe: rank 0's training loop is its only writer.
public final class MetricsLog {
    /// The file being appended to.
    public let path: String
    private var fd: Int32

    /// Opens `path` for appending, creating it when absent.
    ///
    /// A partial last line (left by a killed run) is cut off first so new lines start clean.
    /// - Parameters:
    ///   - path: The metrics.jsonl file.
    ///   - afterStep: When resuming from a checkpoint taken at this step, records with a larger
    ///     step are removed first, so the resumed run does not duplicate them.
    /// - Throws: `RunOutputError` when the file cannot be read, `FileError` when it cannot be rewritten or opened.
    public init(path: String, truncatingAfterStep afterStep: Int? = nil) throws {
        self.path = path
        if let afterStep {
            if FileManager.default.fileExists(atPath: path) {
                try MetricsLog.truncate(path: path, afterStep: afterStep)
            }
        } else {
            try MetricsLog.dropPartialLastLine(path: path)
        }
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw FileError.system("cannot open for appending", path: path)
        }
    }

    deinit { close() }

    /// Appends one record from key/value pairs, in the order given.
    /// - Throws: `FileError` when the write fails (disk full, file closed).
    public func append(_ fields: KeyValuePairs<String, MetricValue>) throws {
        try append(MetricsRecord(fields.map { (key: $0.key, value: $0.value) }))
    }

    /// Appends one record from an ordered list of fields.
    /// - Throws: `FileError` when the write fails.
    public func append(_ fields: [(String, MetricValue)]) throws {
        try append(MetricsRecord(fields.map { (key: $0.0, value: $0.1) }))
    }

    /// Appends one record as a single line and hands it to the kernel before returning.
    /// - Throws: `FileError` when the write fails.
    public func append(_ record: MetricsRecord) throws {
        guard fd >= 0 else { throw FileError(path: path, "append after close", remedy: "This is a bug in Recur; please report it.") }
        try writeAll(fd, Array((record.jsonLine + "\n").utf8), path: path)
    }

    /// Closes the file; later appends throw.
    public func close() {
        if fd >= 0 { _ = Glibc_close(fd); fd = -1 }
    }

    // MARK: Reading and rewriting

    /// Reads every complete record of a metrics file.
    ///
    /// A last line without its newline, or one that does not parse, is skipped: it is what a
    /// killed run leaves behind. A bad line anywhere else is an error.
    /// - Parameter path: The metrics.jsonl file.
    /// - Returns: The records in file order; empty for an empty file.
    /// - Throws: `RunOutputError` when the file cannot be read or an inner line is malformed.
    public static func read(path: String) throws -> [MetricsRecord] {
        try parseLines(of: path)
    }

    /// Rewrites a metrics file keeping only records whose step is at most `afterStep` (records
    /// without a step are kept), and dropping a partial last line. The rewrite is atomic: a
    /// temporary file is written and renamed over the original.
    /// - Throws: `RunOutputError` when the file cannot be read, `FileError` when it cannot be replaced.
    public static func truncate(path: String, afterStep: Int) throws {
        var text = ""
        for line in try lines(of: path) where (line.record.step ?? Int.min) <= afterStep { text += line.text + "\n" }
        try writeAtomically(Array(text.utf8), to: URL(fileURLWithPath: path))
    }

    /// Cuts the file back to its last newline, so that appending starts on a fresh line.
    private static func dropPartialLastLine(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let last = data.last, last != UInt8(ascii: "\n") else { return }
        let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        if Glibc_truncate(path, off_t(keep)) != 0 {
            throw FileError.system("cannot cut off the partial last line", path: path)
        }
    }

    private static func parseLines(of path: String) throws -> [MetricsRecord] {
        try lines(of: path).map(\.record)
    }

    /// Every complete line with its record (a killed writer's partial or unparsable last line
    /// is left out; a bad line elsewhere is an error).
    private static func lines(of path: String) throws -> [(text: String, record: MetricsRecord)] {
        if let what = FileKind.irregular(path) {
            throw RunOutputError(path: path, line: nil, message: "is \(what), not the metrics file a run writes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunOutputError(path: path, line: nil, message: "cannot read the metrics file; check the run directory")
        }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last.map({ !$0.isEmpty }) ?? false { lines.removeLast() }   // no newline: a killed writer's last line
        func blank(_ l: String) -> Bool { l.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }
        let last = lines.lastIndex { !blank($0) }
        var out: [(text: String, record: MetricsRecord)] = []
        for (i, line) in lines.enumerated() where !blank(line) {
            if let record = MetricsRecord(jsonLine: line) {
                out.append((line, record))
            } else if i != last {
                throw RunOutputError(path: path, line: i + 1, message: "malformed record; the file was edited or two runs wrote to it")
            }
        }
        return out
    }
}

extension MetricsLog {
    /// Records as CSV: a header of every field in first-appearance order, a row per record,
    /// empty cells for absent values; text fields quoted when they need it (RFC 4180).
    public static func csv(_ records: [MetricsRecord]) -> String {
        var columns: [String] = []
        for r in records { for f in r.fields where !columns.contains(f.key) { columns.append(f.key) } }
        func cell(_ v: MetricValue?) -> String {
            switch v {
            case .int(let i)?: return String(i)
            case .double(let d)?: return d.isFinite ? "\(d)" : ""
            case .bool(let b)?: return b ? "true" : "false"
            case .string(let s)?:
                return csvField(s)
            case .null?, nil: return ""
            }
        }
        var out = columns.joined(separator: ",") + "\n"
        for r in records { out += columns.map { cell(r[$0]) }.joined(separator: ",") + "\n" }
        return out
    }
}

extension MetricsRecord {
    /// Parses one line of metrics.jsonl (Foundation's JSON), keeping the fields in the order the
    /// line has them and integers apart from doubles; nil for anything but a flat JSON object.
    init?(jsonLine line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        var fields: [(key: String, value: MetricValue)] = []
        for (key, any) in object {
            let value: MetricValue
            switch any {
            case is NSNull: value = .null
            case let s as String: value = .string(s)
            case let n as NSNumber:
                let type = String(cString: n.objCType)
                if type == "c" || String(describing: Swift.type(of: n)).contains("Boolean") { value = .bool(n.boolValue) }
                else if type == "d" || type == "f" { value = .double(n.doubleValue) }
                else { value = .int(n.intValue) }
            default: return nil
            }
            fields.append((key, value))
        }
        // A key's quoted name followed by ':' appears once per line (quotes inside strings are escaped).
        func position(_ key: String) -> String.Index { line.range(of: jsonQuoted(key) + ":")?.lowerBound ?? line.endIndex }
        self.init(fields.sorted { position($0.key) < position($1.key) })
    }
}

// MARK: - JSON text

/// Shortest text that reads back as the same double, in JSON number syntax.
func jsonNumber(_ d: Double) -> String {
    // Swift's description is the shortest round-trip form ("0.1", "1e-05", "5.0"), all valid JSON.
    "\(d)"
}

// Glibc's close and truncate are shadowed by the methods above inside the class.
@inline(__always) private func Glibc_close(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func Glibc_truncate(_ path: String, _ length: off_t) -> Int32 { truncate(path, length) }

/// `text` as one CSV field (RFC 4180): quoted, its quotes doubled, when it holds a comma, a quote
/// or a line break; as it is otherwise.
public func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
