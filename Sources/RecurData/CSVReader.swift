// A small RFC 4180 CSV reader over a file's bytes: rows of fields (quoted or not, "" escapes,
// LF or CRLF endings), each with its 1-based line number, and numeric cells parsed in place.
// It does not guess delimiters or types; callers decide what a row must hold.

import RecurFiles

/// One field of a row: a byte range of the file without its surrounding quotes.
struct CSVField {
    var start: Int
    var end: Int
    /// The field was quoted and holds `""` pairs that stand for one quote each.
    var escaped: Bool
}

/// What a cell holds when read as a number.
enum CSVCell: Equatable {
    case number(Double)
    /// Empty, or one of NA, NaN, null, None, n/a (any case).
    case missing
    /// Anything else, with its text.
    case text(String)

    var isMissing: Bool { self == .missing }
}

struct CSVReader {
    let path: String
    let bytes: [UInt8]
    /// Where the first row starts (after a UTF-8 byte order mark).
    private let startOffset: Int

    /// Reads and checks the whole file.
    /// - Throws: `DataError` for a missing, empty or non-UTF-8 file.
    init(path: String) throws(DataError) {
        self.path = path
        bytes = try FileReader.readAll(path)
        let bad = bytes.withUnsafeBufferPointer { UTF8Scan.firstInvalidOffset($0) }
        if let bad { throw bytes.withUnsafeBufferPointer { UTF8Scan.notUTF8(path, offset: bad, bytes: $0) } }
        startOffset = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        // Lines ended by CR alone (classic Mac OS) would read as one long row.
        if bytes.contains(0x0D) && !bytes.contains(0x0A) {
            throw DataError(.malformedCSV, file: path, line: 1, problem: "its lines end with CR alone (classic Mac OS line endings), so the file reads as one row",
                            fix: "convert the line endings to LF or CR LF, e.g. tr '\\r' '\\n' < \(path) > fixed.csv")
        }
    }

    /// Calls `body(line, fields)` for every row that is not blank, in file order, until it
    /// returns false. `fields` is reused between rows.
    /// - Throws: `DataError` for an unterminated quote or text after a closing quote, or
    ///   whatever `body` throws.
    func forEachRow(_ body: (Int, [CSVField]) throws(DataError) -> Bool) throws(DataError) {
        var fields: [CSVField] = []
        fields.reserveCapacity(64)
        let n = bytes.count
        var i = startOffset
        var line = 1
        while i < n {
            fields.removeAll(keepingCapacity: true)
            let rowLine = line
            var blank = true
            // One row: fields until an unquoted newline or the end of the file.
            rowLoop: while true {
                if i < n && bytes[i] == UInt8(ascii: "\"") {
                    blank = false
                    let open = i
                    i += 1
                    let start = i
                    var escaped = false
                    while true {
                        if i >= n {
                            let place = bytes.withUnsafeBufferPointer { UTF8Scan.locate(open, in: $0) }
                            throw DataError(.malformedCSV, file: path, line: place.line, column: place.column,
                                            problem: "this quoted field is never closed",
                                            fix: "add the closing double quote, or write a quote inside a field as \"\"")
                        }
                        let b = bytes[i]
                        if b == UInt8(ascii: "\"") {
                            if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") { escaped = true; i += 2; continue }
                            break
                        }
                        if b == 0x0A { line += 1 }
                        i += 1
                    }
                    fields.append(CSVField(start: start, end: i, escaped: escaped))
                    i += 1 // closing quote
                    if i < n && bytes[i] == 0x0D { i += 1 }
                    if i >= n { break rowLoop }
                    switch bytes[i] {
                    case UInt8(ascii: ","): i += 1
                    case 0x0A: i += 1; line += 1; break rowLoop
                    default:
                        throw DataError(.malformedCSV, file: path, line: line, column: fields.count,
                                        problem: "field \(fields.count) has text after its closing quote",
                                        fix: "quote the whole field, and write a quote inside it as \"\"")
                    }
                } else {
                    let start = i
                    while i < n {
                        let b = bytes[i]
                        if b == UInt8(ascii: ",") || b == 0x0A { break }
                        i += 1
                    }
                    var end = i
                    if end > start && bytes[end - 1] == 0x0D && (i >= n || bytes[i] == 0x0A) { end -= 1 }
                    if blank {
                        for k in start..<end where bytes[k] != 0x20 && bytes[k] != 0x09 { blank = false; break }
                    }
                    fields.append(CSVField(start: start, end: end, escaped: false))
                    if i >= n { break rowLoop }
                    if bytes[i] == 0x0A { i += 1; line += 1; break rowLoop }
                    i += 1 // comma
                    blank = false
                    if i >= n { fields.append(CSVField(start: i, end: i, escaped: false)); break rowLoop }
                }
            }
            if blank { continue }
            if try !body(rowLine, fields) { return }
        }
    }

    /// The text of a field, with `""` pairs turned back into quotes.
    func text(_ field: CSVField) -> String {
        let s = String(decoding: bytes[field.start..<field.end], as: UTF8.self)
        return field.escaped ? s.replacingAll("\"\"", with: "\"") : s
    }

    /// The field read as a number (surrounding spaces ignored).
    func cell(_ field: CSVField) -> CSVCell { Self.cell(bytes, field.start, field.end) }

    /// A text (a NumPy string element, say) read as a CSV cell is.
    static func cell(text: String) -> CSVCell {
        let bytes = Array(text.utf8)
        return cell(bytes, 0, bytes.count)
    }

    /// Bytes `start ..< end` read as a number (surrounding spaces ignored).
    static func cell(_ bytes: [UInt8], _ start: Int, _ end: Int) -> CSVCell {
        var a = start, b = end
        while a < b && (bytes[a] == 0x20 || bytes[a] == 0x09) { a += 1 }
        while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09) { b -= 1 }
        if a == b { return .missing }
        // Short fields become small Strings, which do not allocate.
        let s = String(decoding: bytes[a..<b], as: UTF8.self)
        // Only what a CSV reader of record reads as a number is one: Double("0x1p3") is a hex
        // float, and Double("7\0.25") is 7 (the C parser stops at the NUL).
        if isDecimalNumber(bytes, a, b) || isSpecialNumber(s), let v = Double(s) {
            if v.isFinite { return .number(v) }
            if v.isNaN { return .missing }
            return .text(s)
        }
        switch s.lowercased() {
        case "na", "n/a", "null", "none": return .missing
        default: return .text(s)
        }
    }
}

extension CSVReader {
    /// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?` exactly, as pandas and
    /// Python's float() read decimals (no hex, no NUL, no thousands separators).
    static func isDecimalNumber(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Bool {
        var i = start
        func digits() -> Int {
            let from = i
            while i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            return i - from
        }
        if i < end && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
        var mantissa = digits()
        if i < end && bytes[i] == 0x2E { i += 1; mantissa += digits() }
        guard mantissa > 0 else { return false }
        if i < end && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            i += 1
            if i < end && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == end
    }

    /// nan and inf as pandas spells them (any case, signed).
    static func isSpecialNumber(_ s: String) -> Bool {
        ["nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"].contains(s.lowercased())
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation-free).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }
}
