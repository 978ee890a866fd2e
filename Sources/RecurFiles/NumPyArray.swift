// One NumPy array as `np.save` writes it (.npy format 1.0, 2.0, 3.0): the magic, the header
// dict ('descr', 'fortran_order', 'shape') and the elements, read in place from a read-only
// memory map (or from an inflated .npz member) and converted straight into Doubles, cells or
// strings. It reads numbers, booleans and fixed-width strings in C order; pickled objects,
// Fortran order and other dtypes are refused with the NumPy call that fixes them.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes that NumPy arrays are read from: a read-only map of a whole file, or a buffer an
/// inflated archive member was written into. Arrays keep it alive; it is never written.
package final class ArrayBytes {
    /// The first byte.
    package let base: UnsafeRawPointer
    /// How many bytes there are.
    package let count: Int
    /// Whether `base` is a mapping (unmapped when freed) rather than an allocation.
    private let mapped: Bool

    /// Maps `path` read-only.
    /// - Throws: `DataError` as `FileReader.open` does, or when the file cannot be mapped.
    package init(mapping path: String) throws(DataError) {
        let (fd, size) = try FileReader.open(path)
        defer { close(fd) }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw DataError(.unreadable, file: path, problem: "the file cannot be mapped into memory (\(String(cString: strerror(errno))))",
                            fix: "check that the file is a regular file on a local disk, and that there is address space for it")
        }
        base = UnsafeRawPointer(p)
        count = size
        mapped = true
    }

    /// Takes over `buffer`, allocated with `UnsafeMutableRawPointer.allocate` (byte alignment 16).
    package init(taking buffer: UnsafeMutableRawPointer, count: Int) {
        base = UnsafeRawPointer(buffer)
        self.count = count
        mapped = false
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), count) } else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }

    /// Byte `i`.
    package subscript(i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    /// The little-endian unsigned integer of `n` bytes at `offset` (n ≤ 8).
    package func little(_ offset: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in (0..<n).reversed() { v = v << 8 | UInt64(self[offset + k]) }
        return v
    }
}

/// One array of a `.npy` file or of a `.npz` member: its element type, shape and elements.
package struct NumPyArray {
    /// What the elements are.
    package enum Element: Equatable {
        case float, signed, unsigned, bool
        /// Fixed-width UTF-32 strings (`<U n`), NUL padded.
        case unicode
        /// Fixed-width byte strings (`|S n`), NUL padded; read as UTF-8.
        case bytes
    }

    /// The file the array was read from.
    package let file: String
    /// The archive member (`X.npy`) it was read from, nil for a `.npy` file.
    package let member: String?
    /// The dtype as the header wrote it (`<f8`, `|u1`, `<U7`).
    package let descr: String
    /// What the elements are.
    package let element: Element
    /// Bytes per element.
    package let itemSize: Int
    /// Whether multi-byte elements are stored most significant byte first.
    package let bigEndian: Bool
    /// The dimensions, outermost first (C order); [] for a scalar.
    package let shape: [Int]
    /// The number of elements (the product of `shape`).
    package let count: Int
    /// Where the elements start, in the file (nil inside an inflated member).
    package let dataFileOffset: Int?
    private let bytes: ArrayBytes
    private let dataStart: Int

    /// Whether the elements are numbers (booleans as 0 and 1).
    package var isNumeric: Bool { [.float, .signed, .unsigned, .bool].contains(element) }

    /// Whether the elements are strings.
    package var isText: Bool { element == .unicode || element == .bytes }

    /// The shape as NumPy prints it: `(3, 4)`, `(5,)`, `()`.
    package var shapeText: String { Self.shapeText(shape) }

    /// Reads the `.npy` file at `path` from a read-only mapping of it.
    /// - Throws: `DataError` for a missing or empty file, a file that is not `.npy`, an
    ///   unsupported dtype or layout, or data shorter or longer than the header's shape.
    package static func read(path: String) throws(DataError) -> NumPyArray {
        let bytes = try ArrayBytes(mapping: path)
        return try NumPyArray(bytes, range: 0..<bytes.count, file: path, member: nil, fileOffset: 0)
    }

    /// Parses the `.npy` image at `range` of `bytes`.
    /// - Parameters:
    ///   - member: the archive member's name, for messages (nil: `file` is a `.npy`).
    ///   - fileOffset: where `range` starts in `file` (nil: it was inflated, so offsets are the member's).
    package init(_ bytes: ArrayBytes, range: Range<Int>, file: String, member: String?, fileOffset: Int?) throws(DataError) {
        let start = range.lowerBound, size = range.count
        let inMember = member.map { " of \($0)" } ?? ""
        let container = member.map { "member \($0)" } ?? "the file"
        /// An error at byte `offset` of the image.
        func fail(_ offset: Int, _ problem: String, _ fix: String) -> DataError {
            DataError(.unreadable, file: file, byteOffset: fileOffset.map { $0 + offset },
                      problem: problem + (fileOffset == nil && member != nil ? " (at byte \(offset) of the inflated \(member!))" : ""), fix: fix)
        }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]   // \x93NUMPY
        guard size >= 8, (0..<6).allSatisfy({ bytes[start + $0] == magic[$0] }) else {
            throw fail(0, "\(container) does not start with NumPy's magic bytes \\x93NUMPY, so it is not a .npy array",
                       "save the array with np.save (or several with np.savez)")
        }
        let major = Int(bytes[start + 6]), minor = Int(bytes[start + 7])
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default:
            throw fail(6, "\(container) is .npy format version \(major).\(minor), which this reader does not know (it reads 1.0, 2.0 and 3.0)",
                       "save it with a NumPy release that writes format 1.0 to 3.0, e.g. np.save")
        }
        guard size >= 8 + lengthBytes else {
            throw fail(8, "\(container) ends inside the .npy header's length", "save the array again; the file was cut short")
        }
        let headerLength = Int(bytes.little(start + 8, lengthBytes))
        let headerStart = 8 + lengthBytes
        guard headerLength <= size - headerStart else {
            throw fail(headerStart, "the .npy header\(inMember) is \(headerLength) bytes long but \(container) ends \(size - headerStart) bytes after its start",
                       "save the array again; the file was cut short")
        }
        // Format 3.0 headers are UTF-8, earlier ones Latin-1; the keys and values read are ASCII.
        var parser = PyLiteralParser(bytes: bytes, from: start + headerStart, to: start + headerStart + headerLength)
        let header: PyLiteral
        do throws(PyLiteralParser.Failure) {
            header = try parser.parseHeader()
        } catch {
            throw fail(headerStart + error.offset - (start + headerStart),
                       "the .npy header\(inMember) is not a Python dict literal: \(error.message)",
                       "save the array again with np.save")
        }
        guard case .dict(let entries) = header else { throw fail(headerStart, "the .npy header\(inMember) is not a dict", "save the array again with np.save") }
        /// The error for a header that np.save would not have written.
        func malformed(_ problem: String) -> DataError {
            fail(headerStart, "the .npy header\(inMember) " + problem, "save the array again with np.save")
        }
        func entry(_ key: String) throws(DataError) -> PyLiteral {
            guard let v = entries.first(where: { $0.key == key })?.value else {
                throw malformed("has no '\(key)' entry (it has \(entries.map { "'\($0.key)'" }.joined(separator: ", ")))")
            }
            return v
        }
        // descr
        let descr: String
        switch try entry("descr") {
        case .string(let s): descr = s
        case .list:
            throw fail(headerStart, "\(member.map { "\($0) holds" } ?? "the file holds") a structured array (a dtype with named fields), which this reader does not read",
                       "save each field as an array of its own, e.g. np.savez('data.npz', X=a['x'], y=a['label'])")
        default:
            throw malformed("has a 'descr' that is not a dtype string")
        }
        guard let dtype = Self.dtype(descr) else {
            if descr.dropFirst().hasPrefix("O") {
                throw fail(headerStart, "\(Self.name(member)) has dtype object ('\(descr)'): its elements are pickled Python objects, which this reader does not unpickle",
                           "save the labels as fixed-width strings: np.savez(..., y=y.astype(str))")
            }
            throw fail(headerStart, "\(Self.name(member)) has dtype '\(descr)', which this reader does not read (it reads float32, float64, integers, bool and fixed-width strings)",
                       "convert it before saving, e.g. a.astype(np.float32) for values or a.astype(str) for labels")
        }
        // fortran_order
        guard case .bool(let fortran) = try entry("fortran_order") else {
            throw malformed("has a 'fortran_order' that is not True or False")
        }
        // shape
        guard case .tuple(let dims) = try entry("shape") else {
            throw malformed("has a 'shape' that is not a tuple")
        }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard case .int(let n) = d, n >= 0 else {
                throw malformed("has a 'shape' entry that is not a non-negative integer")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else {
                throw malformed("has a shape whose element count overflows")
            }
            shape.append(n)
            count = product
        }
        if fortran && shape.filter({ $0 > 1 }).count > 1 {
            throw fail(headerStart, "\(Self.name(member)) is stored in Fortran (column-major) order, which this reader does not read",
                       "save it in C order: np.save(path, np.ascontiguousarray(a))")
        }
        let dataOffset = headerStart + headerLength
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        let available = size - dataOffset
        if overflow || needed > available {
            throw fail(dataOffset, "\(Self.name(member)) has shape \(Self.shapeText(shape)) of '\(descr)', which needs \(overflow ? "more than \(Int.max)" : String(needed)) bytes of data after the header, but \(container) holds \(available)",
                       "save the array again; the file was cut short or its header does not match its data")
        }
        if needed < available {
            throw fail(dataOffset + needed, "\(Self.name(member)) has shape \(Self.shapeText(shape)) of '\(descr)', which is \(needed) bytes of data, but \(container) holds \(available - needed) more bytes after them",
                       "save one array per .npy file (several arrays go in a .npz: np.savez)")
        }
        self.file = file
        self.member = member
        self.descr = descr
        self.element = dtype.element
        self.itemSize = dtype.itemSize
        self.bigEndian = dtype.bigEndian
        self.shape = shape
        self.count = count
        self.dataFileOffset = fileOffset.map { $0 + dataOffset }
        self.bytes = bytes
        self.dataStart = start + dataOffset
    }

    /// How messages name the array of archive member `member` (nil: of a `.npy` file).
    package static func name(_ member: String?) -> String {
        member.map { "array '\($0.hasSuffix(".npy") ? String($0.dropLast(4)) : $0)'" } ?? "the array"
    }

    /// `shape` as NumPy prints it.
    package static func shapeText(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// The element type, size and byte order a dtype string names, or nil when it is not one read here.
    package static func dtype(_ descr: String) -> (element: Element, itemSize: Int, bigEndian: Bool)? {
        guard let order = descr.first, "<>|=".contains(order) else { return nil }
        let rest = descr.dropFirst()
        guard let kind = rest.first, let size = Int(rest.dropFirst()), size > 0 else { return nil }
        // '=' is the writer's native order; NumPy writes '<' or '>' instead, and '|' for 1-byte types.
        let big = order == ">"
        switch kind {
        case "f" where size == 4 || size == 8: return (.float, size, big)
        case "i" where [1, 2, 4, 8].contains(size): return (.signed, size, big)
        case "u" where [1, 2, 4, 8].contains(size): return (.unsigned, size, big)
        case "b" where size == 1: return (.bool, 1, false)
        case "U" where order != "|": return (.unicode, 4 * size, big)
        case "S" where order == "|": return (.bytes, size, false)
        default: return nil
        }
    }

    // MARK: Elements

    /// Every element as a Double (numeric arrays only), in C order.
    package func doubles() -> [Double] {
        var out: [Double] = []
        copyDoubles(0..<count, into: &out)
        return out
    }

    /// Elements `range` (flat C-order indices) as Doubles, replacing the contents of `out`;
    /// converted straight from the mapped bytes. Numeric arrays only.
    package func copyDoubles(_ range: Range<Int>, into out: inout [Double]) {
        precondition(isNumeric, "copyDoubles: '\(descr)' is not numeric")
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "copyDoubles: \(range) outside 0..<\(count)")
        let n = range.count
        let p = bytes.base + dataStart + range.lowerBound * itemSize
        let big = bigEndian
        out = [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
            let o = buffer.baseAddress!
            switch (element, itemSize) {
            case (.float, 4): for i in 0..<n { o[i] = Double(Float(bitPattern: Self.load(UInt32.self, p, i, big))) }
            case (.float, _): for i in 0..<n { o[i] = Double(bitPattern: Self.load(UInt64.self, p, i, big)) }
            case (.signed, 1): for i in 0..<n { o[i] = Double(Self.load(Int8.self, p, i, big)) }
            case (.signed, 2): for i in 0..<n { o[i] = Double(Self.load(Int16.self, p, i, big)) }
            case (.signed, 4): for i in 0..<n { o[i] = Double(Self.load(Int32.self, p, i, big)) }
            case (.signed, _): for i in 0..<n { o[i] = Double(Self.load(Int64.self, p, i, big)) }
            case (.unsigned, 1): for i in 0..<n { o[i] = Double(Self.load(UInt8.self, p, i, big)) }
            case (.unsigned, 2): for i in 0..<n { o[i] = Double(Self.load(UInt16.self, p, i, big)) }
            case (.unsigned, 4): for i in 0..<n { o[i] = Double(Self.load(UInt32.self, p, i, big)) }
            case (.unsigned, _): for i in 0..<n { o[i] = Double(Self.load(UInt64.self, p, i, big)) }
            case (.bool, _): for i in 0..<n { o[i] = p.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
            case (.unicode, _), (.bytes, _): preconditionFailure("unreachable")
            }
            initialized = n
        }
    }

    /// Element `i` (a flat C-order index) as a Double, read from the mapped bytes. Numeric arrays only.
    package func double(at i: Int) -> Double {
        precondition(isNumeric && i >= 0 && i < count, "double(at:): element \(i) of '\(descr)'")
        let p = bytes.base + dataStart + i * itemSize, big = bigEndian
        switch (element, itemSize) {
        case (.float, 4): return Double(Float(bitPattern: Self.load(UInt32.self, p, 0, big)))
        case (.float, _): return Double(bitPattern: Self.load(UInt64.self, p, 0, big))
        case (.signed, 1): return Double(Self.load(Int8.self, p, 0, big))
        case (.signed, 2): return Double(Self.load(Int16.self, p, 0, big))
        case (.signed, 4): return Double(Self.load(Int32.self, p, 0, big))
        case (.signed, _): return Double(Self.load(Int64.self, p, 0, big))
        case (.unsigned, 1): return Double(Self.load(UInt8.self, p, 0, big))
        case (.unsigned, 2): return Double(Self.load(UInt16.self, p, 0, big))
        case (.unsigned, 4): return Double(Self.load(UInt32.self, p, 0, big))
        case (.unsigned, _): return Double(Self.load(UInt64.self, p, 0, big))
        case (.bool, _): return p.load(as: UInt8.self) != 0 ? 1 : 0
        case (.unicode, _), (.bytes, _): preconditionFailure("unreachable")
        }
    }

    /// Every element as a string (string arrays only), trailing NULs removed.
    /// - Throws: `DataError` naming the element that is not valid UTF-32 (`U`) or UTF-8 (`S`).
    package func strings() throws(DataError) -> [String] {
        precondition(isText, "strings: '\(descr)' is not a string dtype")
        var out: [String] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let p = bytes.base + dataStart + i * itemSize
            if element == .bytes {
                var n = itemSize
                while n > 0 && p.load(fromByteOffset: n - 1, as: UInt8.self) == 0 { n -= 1 }
                let b = UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: n)
                if let bad = UTF8Scan.firstInvalidOffset(b) {
                    throw DataError(.badCell, file: file, byteOffset: dataFileOffset.map { $0 + i * itemSize + bad },
                                    problem: "element \(flatIndexText(i)) of \(Self.name(member)) ('\(descr)' bytes) is not valid UTF-8",
                                    fix: "save the labels as text: y.astype(str)")
                }
                out.append(String(decoding: b, as: UTF8.self))
            } else {
                var n = itemSize / 4
                while n > 0 && Self.load(UInt32.self, p, n - 1, bigEndian) == 0 { n -= 1 }
                var s = String.UnicodeScalarView()
                for k in 0..<n {
                    guard let u = Unicode.Scalar(Self.load(UInt32.self, p, k, bigEndian)) else {
                        throw DataError(.badCell, file: file, byteOffset: dataFileOffset.map { $0 + i * itemSize + 4 * k },
                                        problem: "element \(flatIndexText(i)) of \(Self.name(member)) ('\(descr)') holds a code unit that is not a Unicode scalar",
                                        fix: "save the labels again with y.astype(str)")
                    }
                    s.append(u)
                }
                out.append(String(s))
            }
        }
        return out
    }

    /// Flat index `i` as NumPy would index it: `[3]`, `[1, 2]`.
    package func flatIndexText(_ i: Int) -> String {
        guard shape.count > 1 else { return "[\(i)]" }
        var rest = i, index: [Int] = []
        for d in shape.reversed() { index.append(d > 0 ? rest % d : 0); rest = d > 0 ? rest / d : 0 }
        return "[" + index.reversed().map(String.init).joined(separator: ", ") + "]"
    }

    /// Element `i` of type `T` at `p`, from the stored byte order.
    @inline(__always)
    private static func load<T: FixedWidthInteger>(_: T.Type, _ p: UnsafeRawPointer, _ i: Int, _ big: Bool) -> T {
        let raw = p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
        return big ? T(bigEndian: raw) : T(littleEndian: raw)
    }
}

// MARK: The header's Python literal

/// A value of the Python literals a `.npy` header is written in.
package enum PyLiteral {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PyLiteral])
    case list([PyLiteral])
    case dict([(key: String, value: PyLiteral)])
}

/// Parses the literal `np.save` writes as a header: `{'descr': '<f8', 'fortran_order': False,
/// 'shape': (3, 4), }` — dicts with string keys, strings, integers (Python 2's `3L` too),
/// True/False/None, tuples and lists (a structured dtype's descr).
package struct PyLiteralParser {
    /// Why the literal is not one, and the absolute byte offset where.
    package struct Failure: Error {
        var offset: Int
        var message: String
    }

    package let bytes: ArrayBytes
    package var i: Int
    package let end: Int

    /// A parser of bytes `from ..< to`.
    package init(bytes: ArrayBytes, from: Int, to: Int) {
        self.bytes = bytes
        i = from
        end = to
    }

    /// The whole header: one literal, then only spaces and newlines (NumPy's padding).
    package mutating func parseHeader() throws(Failure) -> PyLiteral {
        let v = try value(depth: 0)
        skipSpace()
        guard i == end else { throw Failure(offset: i, message: "text follows the dict") }
        return v
    }

    private mutating func skipSpace() {
        while i < end, [0x20, 0x0A, 0x0D, 0x09, 0x00].contains(bytes[i]) { i += 1 }
    }

    private mutating func value(depth: Int) throws(Failure) -> PyLiteral {
        guard depth < 32 else { throw Failure(offset: i, message: "it nests too deeply") }
        skipSpace()
        guard i < end else { throw Failure(offset: i, message: "it ends early") }
        let c = bytes[i]
        switch c {
        case UInt8(ascii: "{"):
            i += 1
            var entries: [(key: String, value: PyLiteral)] = []
            while true {
                skipSpace()
                if i < end && bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
                let keyAt = i
                guard case .string(let key) = try value(depth: depth + 1) else { throw Failure(offset: keyAt, message: "a key is not a string") }
                skipSpace()
                guard i < end && bytes[i] == UInt8(ascii: ":") else { throw Failure(offset: i, message: "a ':' is missing after '\(key)'") }
                i += 1
                entries.append((key, try value(depth: depth + 1)))
                skipSpace()
                if i < end && bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if i < end && bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(entries) }
                throw Failure(offset: i, message: "a ',' or '}' is missing")
            }
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
            i += 1
            var items: [PyLiteral] = []
            while true {
                skipSpace()
                if i < end && bytes[i] == close { i += 1; break }
                items.append(try value(depth: depth + 1))
                skipSpace()
                if i < end && bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if i < end && bytes[i] == close { i += 1; break }
                throw Failure(offset: i, message: "a ',' or '\(Character(Unicode.Scalar(close)))' is missing")
            }
            return c == UInt8(ascii: "(") ? .tuple(items) : .list(items)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let open = i
            i += 1
            var s: [UInt8] = []
            while i < end && bytes[i] != c {
                if bytes[i] == UInt8(ascii: "\\") { i += 1; guard i < end else { break } }
                s.append(bytes[i])
                i += 1
            }
            guard i < end else { throw Failure(offset: open, message: "a string is not closed") }
            i += 1
            return .string(String(decoding: s, as: UTF8.self))
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
            let from = i
            i += 1
            while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            guard let v = Int(String(decoding: (from..<i).map { bytes[$0] }, as: UTF8.self)) else {
                throw Failure(offset: from, message: "'\(String(decoding: (from..<i).map { bytes[$0] }, as: UTF8.self))' is not an integer of 64 bits")
            }
            if i < end && (bytes[i] == UInt8(ascii: "L") || bytes[i] == UInt8(ascii: "l")) { i += 1 }   // Python 2's 3L
            return .int(v)
        default:
            let from = i
            while i < end, (bytes[i] >= 0x41 && bytes[i] <= 0x5A) || (bytes[i] >= 0x61 && bytes[i] <= 0x7A) { i += 1 }
            var word = ""
            for k in from..<i { word.unicodeScalars.append(Unicode.Scalar(bytes[k])) }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default: throw Failure(offset: from, message: word.isEmpty ? "an unexpected character" : "'\(word)' is not a literal")
            }
        }
    }
}
