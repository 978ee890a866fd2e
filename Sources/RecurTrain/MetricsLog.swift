// A run's metrics.jsonl: one flat JSON object per logged step or evaluation, written with one
// write(2) per line so a killed run loses at most the line it was writing. It neither chooses
// what to log nor aggregates; nested values and thread-safe appends are deliberately absent.

import Foundation
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

/// What went wrong reading or writing a run's output files (metrics.jsonl, event files).
public struct RunOutputError: Error, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
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
    /// - Throws: `RunOutputError` when the file cannot be read, rewritten or opened.
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
            throw RunOutputError(path: path, line: nil, message: "cannot open for appending: \(String(cString: strerror(errno))); check that the run directory exists and is writable")
        }
    }

    deinit { close() }

    /// Appends one record from key/value pairs, in the order given.
    /// - Throws: `RunOutputError` when the write fails (disk full, file closed).
    public func append(_ fields: KeyValuePairs<String, MetricValue>) throws {
        try append(MetricsRecord(fields.map { (key: $0.key, value: $0.value) }))
    }

    /// Appends one record from an ordered list of fields.
    /// - Throws: `RunOutputError` when the write fails.
    public func append(_ fields: [(String, MetricValue)]) throws {
        try append(MetricsRecord(fields.map { (key: $0.0, value: $0.1) }))
    }

    /// Appends one record as a single line and hands it to the kernel before returning.
    /// - Throws: `RunOutputError` when the write fails.
    public func append(_ record: MetricsRecord) throws {
        guard fd >= 0 else { throw RunOutputError(path: path, line: nil, message: "append after close") }
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
    /// - Throws: `RunOutputError` when the file cannot be read or replaced.
    public static func truncate(path: String, afterStep: Int) throws {
        let records = try read(path: path).filter { ($0.step ?? Int.min) <= afterStep }
        var text = ""
        for r in records { text += r.jsonLine + "\n" }
        let temporary = path + ".tmp-\(getpid())"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, path) != 0 {
                throw RunOutputError(path: path, line: nil, message: "cannot replace with the truncated copy: \(String(cString: strerror(errno)))")
            }
        } catch let error as RunOutputError {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw RunOutputError(path: path, line: nil, message: "cannot rewrite for resume: \(error.localizedDescription)")
        }
    }

    /// Cuts the file back to its last newline, so that appending starts on a fresh line.
    private static func dropPartialLastLine(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let last = data.last, last != UInt8(ascii: "\n") else { return }
        let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        if Glibc_truncate(path, off_t(keep)) != 0 {
            throw RunOutputError(path: path, line: nil, message: "cannot cut off the partial last line: \(String(cString: strerror(errno)))")
        }
    }

    private static func parseLines(of path: String) throws -> [MetricsRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunOutputError(path: path, line: nil, message: "cannot read the metrics file; check the run directory")
        }
        let bytes = [UInt8](data)
        var records: [MetricsRecord] = []
        var start = 0
        var lineNumber = 0
        while start < bytes.count {
            lineNumber += 1
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let line = bytes[start..<(end ?? bytes.count)]
            let isLast = end == nil || end! + 1 >= bytes.count
            if end == nil { return records }  // no newline: a killed writer's last line
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                do {
                    var parser = FlatJSONParser(bytes: Array(line))
                    records.append(try parser.parseObject())
                } catch let e as FlatJSONParser.Failure {
                    if isLast { return records }
                    throw RunOutputError(path: path, line: lineNumber, message: "malformed record (\(e.message)); the file was edited or two runs wrote to it")
                }
            }
            start = end! + 1
        }
        return records
    }
}

// MARK: - JSON text

/// Shortest text that reads back as the same double, in JSON number syntax.
func jsonNumber(_ d: Double) -> String {
    // Swift's description is the shortest round-trip form ("0.1", "1e-05", "5.0"), all valid JSON.
    "\(d)"
}

/// `s` as a JSON string literal.
func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Parses one JSON object whose values are scalars, keeping key order and telling integers
/// (no fraction or exponent) from doubles — which JSONSerialization does not do portably.
struct FlatJSONParser {
    struct Failure: Error { var message: String }
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseObject() throws -> MetricsRecord {
        skipSpace()
        try expect(UInt8(ascii: "{"))
        var fields: [(key: String, value: MetricValue)] = []
        skipSpace()
        if peek() == UInt8(ascii: "}") { i += 1 } else {
            while true {
                skipSpace()
                let key = try parseString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                fields.append((key: key, value: try parseValue()))
                skipSpace()
                if peek() == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipSpace()
        if i != bytes.count { throw Failure(message: "text after the closing brace") }
        return MetricsRecord(fields)
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        guard peek() == c else { throw Failure(message: "expected '\(Character(Unicode.Scalar(c)))' at column \(i + 1)") }
        i += 1
    }

    private mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
        i += w.count
        return true
    }

    private mutating func parseValue() throws -> MetricValue {
        guard let c = peek() else { throw Failure(message: "value missing at end of line") }
        if c == UInt8(ascii: "\"") { return .string(try parseString()) }
        if literal("true") { return .bool(true) }
        if literal("false") { return .bool(false) }
        if literal("null") { return .null }
        if c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) { return try parseNumber() }
        throw Failure(message: "unsupported value at column \(i + 1) (only numbers, strings, booleans and null)")
    }

    private mutating func parseNumber() throws -> MetricValue {
        let start = i
        var integral = true
        while let c = peek() {
            if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { i += 1 }
            else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { integral = false; i += 1 }
            else { break }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral, let v = Int(text) { return .int(v) }
        guard let d = Double(text) else { throw Failure(message: "bad number '\(text)' at column \(start + 1)") }
        return .double(d)
    }

    private mutating func parseString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() { scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars); run.removeAll() }
        while true {
            guard let c = peek() else { throw Failure(message: "unterminated string") }
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { run.append(c); continue }
            flush()
            guard let e = peek() else { throw Failure(message: "unterminated escape") }
            i += 1
            switch e {
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), literal("\\u") {
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: scalars.append(Unicode.Scalar(e))
            }
        }
        flush()
        return String(scalars)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw Failure(message: "bad \\u escape at column \(i + 1)")
        }
        i += 4
        return v
    }
}

// Glibc's close and truncate are shadowed by the methods above inside the class.
@inline(__always) private func Glibc_close(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func Glibc_truncate(_ path: String, _ length: off_t) -> Int32 { truncate(path, length) }

/// Writes every byte to `fd`, retrying short writes and EINTR (metrics and event files).
/// - Throws: `RunOutputError` naming `path` when the write fails.
func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 {
            throw RunOutputError(path: path, line: nil, message: "write failed: \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}
