// Reads the UEA/UCR `.ts` format into labelled examples (ExampleReader.addExample).
//
// Note [The .ts format]
// As aeon and sktime write it: `#` comment lines, header lines `@key value…` (keys in any case)
// up to `@data`, then one series per line: its dimensions separated by `:`, the values of a
// dimension by `,`, and (with `@classLabel true`) the class as the last `:` field. `?` or an
// empty value is missing (NaN, handled by data.missing). A series' dimensions are its features
// (F), their common length its steps; lengths may differ between series only with
// data.variable_length (and @equalLength true is held to). `@classLabel true a b c` lists the
// classes: they are the classes in that order, as data.classes would make them, unless
// data.classes is given (it wins). Read but not needed: @problemName, @missing. Refused: time
// stamps (@timeStamps true, or `(t, v)` tuples in a dimension), `@targetLabel true`
// (regression), and `@classLabel false` unless labels are optional (prediction on new data).
// Unknown `@` keys are ignored. Values follow the CSV rule (CSVReader.isDecimalNumber, nan and
// inf as pandas spells them; finite values only).

import RecurFiles

extension ExampleReader {
    /// Reads a `.ts` file: header lines, then `@data` and one example per line.
    /// - Throws: `DataError` for a file that is not UTF-8, a header value that is not one, time
    ///   stamps, regression targets, no labels, no `@data` line, a line with other dimensions or
    ///   dimensions of different lengths, a value that is not a number, or an example or label as
    ///   `addExample` refuses them.
    mutating func readTS(_ path: String) throws(DataError) {
        let bytes = try FileReader.readAll(path)
        if let bad = bytes.withUnsafeBufferPointer({ UTF8Scan.firstInvalidOffset($0) }) {
            throw bytes.withUnsafeBufferPointer { UTF8Scan.notUTF8(path, offset: bad, bytes: $0) }
        }
        let n = bytes.count
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lineNumber = 0
        // The header.
        var dimensions: (count: Int, line: Int)? = nil
        var univariate = false
        var equalLength = false
        var seriesLength: (count: Int, line: Int)? = nil
        var labelled: Bool? = nil
        var inData = false
        // The series read so far.
        var firstDimensions: Int? = nil
        var firstLength: (count: Int, line: Int)? = nil
        var flat: [Double] = []      // one series' values, dimension after dimension
        var values: [Double] = []    // the same, step after step
        while i < n {
            lineNumber += 1
            let lineStart = i
            var end = i
            while end < n && bytes[end] != 0x0A { end += 1 }
            i = end + 1
            let (a, b) = Self.trimmed(bytes, lineStart, end)
            if a == b || bytes[a] == UInt8(ascii: "#") { continue }
            let line = lineNumber
            /// The 1-based character column of byte `k` of this line.
            func column(_ k: Int) -> Int {
                var c = 1
                for q in lineStart..<k where bytes[q] & 0xC0 != 0x80 { c += 1 }
                return c
            }
            if bytes[a] == UInt8(ascii: "@") {
                if inData {
                    throw DataError(.unreadable, file: path, line: line, column: column(a),
                                    problem: "a header line comes after @data, where each line is a series",
                                    fix: "move the header lines above @data")
                }
                // Tokens separated by spaces or tabs: the key, then its values.
                var tokens: [(text: String, at: Int)] = []
                var k = a + 1
                while k < b {
                    while k < b && (bytes[k] == 0x20 || bytes[k] == 0x09) { k += 1 }
                    let from = k
                    while k < b && bytes[k] != 0x20 && bytes[k] != 0x09 { k += 1 }
                    if k > from { tokens.append((String(decoding: bytes[from..<k], as: UTF8.self), from)) }
                }
                guard let key = tokens.first?.text.lowercased() else { continue }
                /// Value `v` of the key as true or false.
                func flag() throws(DataError) -> Bool {
                    guard tokens.count > 1, ["true", "false"].contains(tokens[1].text.lowercased()) else {
                        throw DataError(.badCell, file: path, line: line, column: column(tokens.count > 1 ? tokens[1].at : b),
                                        problem: "@\(tokens[0].text) is followed by \(tokens.count > 1 ? "'\(tokens[1].text)'" : "nothing"), not true or false",
                                        fix: "write @\(tokens[0].text) true or @\(tokens[0].text) false")
                    }
                    return tokens[1].text.lowercased() == "true"
                }
                /// The key's value as a count of 1 or more.
                func count() throws(DataError) -> Int {
                    guard tokens.count > 1, let v = Int(tokens[1].text), v >= 1 else {
                        throw DataError(.badCell, file: path, line: line, column: column(tokens.count > 1 ? tokens[1].at : b),
                                        problem: "@\(tokens[0].text) is followed by \(tokens.count > 1 ? "'\(tokens[1].text)'" : "nothing"), not a whole number of 1 or more",
                                        fix: "write the count after @\(tokens[0].text), e.g. @\(tokens[0].text) 3")
                    }
                    return v
                }
                switch key {
                case "timestamps":
                    if try flag() {
                        throw DataError(.unreadable, file: path, line: line,
                                        problem: "the series have time stamps (@timeStamps true), which this reader does not read",
                                        fix: "save the series without time stamps, as plain lists of values at equal intervals")
                    }
                case "univariate": univariate = try flag()
                case "dimension", "dimensions": dimensions = (try count(), line)
                case "equallength": equalLength = try flag()
                case "serieslength": seriesLength = (try count(), line)
                case "targetlabel":
                    if try flag() {
                        throw DataError(.invalidSetting, file: path, line: line,
                                        problem: "the series have regression targets (@targetLabel true), but labelled sequences are classified",
                                        fix: "give each series a class instead (@classLabel true and the class names), or train on the targets as a time series")
                    }
                case "classlabel":
                    labelled = try flag()
                    if labelled == false && !options.labelsOptional {
                        throw DataError(.invalidSetting, file: path, line: line,
                                        problem: "the series have no class labels (@classLabel false), which training and evaluation need",
                                        fix: "end each series with ':' and its class, and list the classes: @classLabel true name1 name2 …")
                    }
                    let names = labelled == true ? tokens.dropFirst(2).map(\.text) : []
                    var seen = Set<String>()
                    for (name, at) in tokens.dropFirst(2).map({ ($0.text, $0.at) }) where !seen.insert(name).inserted {
                        throw DataError(.badCell, file: path, line: line, column: column(at),
                                        problem: "the class '\(name)' is listed twice on the @classLabel line",
                                        fix: "list each class once")
                    }
                    // The header's classes, in its order, unless data.classes names them.
                    if !names.isEmpty && options.classNames == nil {
                        try fixClasses(names, listedIn: "the @classLabel line (line \(line))", file: path, line: line)
                    }
                case "data":
                    guard labelled != nil else {
                        throw DataError(.unreadable, file: path, line: line,
                                        problem: "the header has no @classLabel line before @data, so it is not known whether each series ends with a class",
                                        fix: "add @classLabel true followed by the class names (or @classLabel false for series without classes) above @data")
                    }
                    inData = true
                default:
                    break   // @problemName, @missing and keys of other writers
                }
                continue
            }
            guard inData else {
                throw DataError(.unreadable, file: path, line: line, column: column(a),
                                problem: "this line is neither a header line (@…) nor a comment (#), and no @data line came before it",
                                fix: "put the series after an @data line, and start comments with #")
            }
            // One series: dimensions separated by ':', then the label.
            var fields: [Range<Int>] = []
            var from = a
            for k in a..<b where bytes[k] == UInt8(ascii: ":") { fields.append(from..<k); from = k + 1 }
            fields.append(from..<b)
            let hasLabel = labelled == true
            if hasLabel && fields.count < 2 {
                throw DataError(.wrongFieldCount, file: path, line: line,
                                problem: "this series has no ':' before a class label",
                                fix: "write each dimension's values separated by ':', then ':' and the class")
            }
            let f = hasLabel ? fields.count - 1 : fields.count
            let expected = dimensions?.count ?? (univariate ? 1 : firstDimensions)
            if let expected, f != expected {
                let source = dimensions.map { "@dimensions (line \($0.line)) says" } ?? (univariate ? "@univariate true means" : "the first series has")
                throw DataError(.wrongFieldCount, file: path, line: line,
                                problem: "this series has \(f) dimension\(f == 1 ? "" : "s") but \(source) \(expected)" + (hasLabel ? " (the last ':' field is the class)" : ""),
                                fix: "give every series the same dimensions, separated by ':'" + (hasLabel ? ", then ':' and the class" : ""))
            }
            firstDimensions = firstDimensions ?? f
            flat.removeAll(keepingCapacity: true)
            var length = 0
            var firstMissing: (at: Int, dimension: Int, index: Int)? = nil
            for d in 0..<f {
                let field = fields[d]
                var count = 0
                var start = field.lowerBound
                while true {
                    var stop = start
                    while stop < field.upperBound && bytes[stop] != UInt8(ascii: ",") { stop += 1 }
                    let (va, vb) = Self.trimmed(bytes, start, stop)
                    guard let v = Self.tsValue(bytes, va, vb) else {
                        throw Self.badValue(bytes, va, vb, file: path, line: line, column: column(va), dimension: d + 1, index: count + 1)
                    }
                    if v.isNaN && firstMissing == nil { firstMissing = (va, d + 1, count + 1) }
                    flat.append(v)
                    count += 1
                    if stop >= field.upperBound { break }
                    start = stop + 1
                }
                if d == 0 {
                    length = count
                } else if count != length {
                    throw DataError(.wrongFieldCount, file: path, line: line, column: column(field.lowerBound),
                                    problem: "dimension \(d + 1) of this series has \(count) values but dimension 1 has \(length)",
                                    fix: "give every dimension of a series the same number of values (write ? for a missing one)")
                }
            }
            // Under missing: error, named at its character rather than by step and feature.
            if let m = firstMissing, options.missing == .error {
                let c = column(m.at)
                throw DataError(.badCell, file: path, line: line, column: c,
                                problem: "value \(m.index) of dimension \(m.dimension) (at character \(c)) is missing",
                                fix: "fill it in, or choose missing: interpolate, forward_fill or drop")
            }
            if equalLength {
                if let s = seriesLength, length != s.count {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this series has \(length) values per dimension but @seriesLength (line \(s.line)) is \(s.count)",
                                    fix: "correct the series or @seriesLength, or write @equalLength false when lengths differ")
                }
                if let first = firstLength, length != first.count {
                    throw DataError(.wrongFieldCount, file: path, line: line,
                                    problem: "this series has \(length) values per dimension but the one on line \(first.line) has \(first.count), and the header says @equalLength true",
                                    fix: "correct the series, or write @equalLength false (and set data.variable_length: true)")
                }
            }
            if firstLength == nil { firstLength = (length, line) }
            // Dimension-major to step-major: step s is values[s·F ..< (s+1)·F].
            values.removeAll(keepingCapacity: true)
            values.reserveCapacity(length * f)
            for s in 0..<length { for d in 0..<f { values.append(flat[d * length + s]) } }
            var label: CSVCell? = nil
            var labelText = ""
            var labelColumn: Int? = nil
            if hasLabel {
                let field = fields[f]
                let (la, lb) = Self.trimmed(bytes, field.lowerBound, field.upperBound)
                labelText = String(decoding: bytes[la..<lb], as: UTF8.self)
                labelColumn = column(la)
                if la == lb || labelText == "?" {
                    label = options.labelsOptional ? nil : .missing
                } else if CSVReader.isDecimalNumber(bytes, la, lb), let v = Double(labelText), v.isFinite {
                    label = .number(v)
                } else {
                    label = .text(labelText)
                }
            }
            try addExample(values, features: f, label: label, labelText: labelText, file: path, line: line, column: labelColumn,
                           place: "this series")
        }
        guard inData else {
            throw DataError(.emptyFile, file: path, problem: "the file has no @data line, so it holds no series",
                            fix: "write the series after the header, one per line, below a line @data")
        }
    }

    /// Bytes `a..<b` without leading and trailing spaces and tabs (and a line's CR).
    @inline(__always)
    private static func trimmed(_ bytes: [UInt8], _ a: Int, _ b: Int) -> (Int, Int) {
        var a = a, b = b
        while a < b && (bytes[a] == 0x20 || bytes[a] == 0x09) { a += 1 }
        while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09 || bytes[b - 1] == 0x0D) { b -= 1 }
        return (a, b)
    }

    /// One value of a series: a decimal number or nan, or NaN for an empty value or `?`
    /// (missing); nil for anything else (`badValue` says why).
    @inline(__always)
    private static func tsValue(_ bytes: [UInt8], _ a: Int, _ b: Int) -> Double? {
        if a == b || (b == a + 1 && bytes[a] == UInt8(ascii: "?")) { return .nan }
        if CSVReader.isDecimalNumber(bytes, a, b), let v = Double(String(decoding: bytes[a..<b], as: UTF8.self)), v.isFinite { return v }
        let text = String(decoding: bytes[a..<b], as: UTF8.self)
        if CSVReader.isSpecialNumber(text), let v = Double(text), v.isNaN { return v }
        return nil
    }

    /// Why bytes `a..<b`, value `index` of `dimension`, are not a value: infinite, a time stamp
    /// tuple, or not a number.
    private static func badValue(_ bytes: [UInt8], _ a: Int, _ b: Int, file: String, line: Int, column: Int,
                                 dimension: Int, index: Int) -> DataError {
        let text = String(decoding: bytes[a..<b], as: UTF8.self)
        if bytes[a..<b].contains(UInt8(ascii: "(")) {
            return DataError(.unreadable, file: file, line: line, column: column,
                             problem: "dimension \(dimension) holds time-stamped values '(time, value)' (at character \(column)), which this reader does not read",
                             fix: "save the series without time stamps, as plain lists of values at equal intervals")
        }
        let why = CSVReader.isDecimalNumber(bytes, a, b) || CSVReader.isSpecialNumber(text) ? "which is infinite" : "which is not a number"
        return DataError(.badCell, file: file, line: line, column: column,
                         problem: "value \(index) of dimension \(dimension) (at character \(column)) is '\(text)', \(why)",
                         fix: "correct the value, or write ? for a missing one")
    }
}
