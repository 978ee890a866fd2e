// Decodes UTF-8 byte by byte for the readers (strict: no overlongs, surrogates or values past
// U+10FFFF) and turns a byte offset back into a line and column for error messages.
// It does not build Strings; readers call it only on non-ASCII bytes.

package enum UTF8Scan {
    /// The result of decoding the sequence that starts at a non-ASCII byte.
    package enum Step: Equatable {
        /// A scalar and the number of bytes it took.
        case scalar(UInt32, Int)
        /// Not UTF-8.
        case invalid
        /// A valid prefix cut short by the end of the buffer.
        case truncated
    }

    /// Decodes the multi-byte sequence starting at `p[i]` (which must be ≥ 0x80).
    @inline(__always)
    package static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> Step {
        let b0 = UInt32(p[i])
        let n = p.count
        var length = 0
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        var value: UInt32 = 0
        switch b0 {
        case 0xC2...0xDF: length = 2; value = b0 & 0x1F
        case 0xE0: length = 3; value = b0 & 0x0F; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3; value = b0 & 0x0F
        case 0xED: length = 3; value = b0 & 0x0F; hi = 0x9F
        case 0xF0: length = 4; value = b0 & 0x07; lo = 0x90
        case 0xF1...0xF3: length = 4; value = b0 & 0x07
        case 0xF4: length = 4; value = b0 & 0x07; hi = 0x8F
        default: return .invalid
        }
        for k in 1..<length {
            if i + k >= n { return .truncated }
            let b = p[i + k]
            if k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF) { return .invalid }
            value = (value << 6) | UInt32(b & 0x3F)
        }
        return .scalar(value, length)
    }

    /// The 0-based offset of the first byte that is not valid UTF-8, or nil when all are.
    package static func firstInvalidOffset(_ p: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = p.count
        while i < n {
            // ASCII fast path: eight bytes at a time.
            while i + 8 <= n {
                let word = UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            if i >= n { break }
            if p[i] < 0x80 { i += 1; continue }
            switch decode(p, at: i) {
            case .scalar(_, let length): i += length
            case .invalid, .truncated: return i
            }
        }
        return nil
    }

    /// The 1-based line and character column of byte `offset` in `p` (columns count scalars).
    package static func locate(_ offset: Int, in p: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for i in 0..<min(offset, p.count) {
            let b = p[i]
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }

    /// `locate` for a file, re-read from disk (error paths only).
    package static func locate(_ offset: Int, inFile path: String) -> (line: Int, column: Int)? {
        var line = 1, column = 1
        do {
            try FileReader.forEachChunk(path) { (chunk, start, _) throws(DataError) -> Int in
                let end = min(chunk.count, max(0, offset - start))
                for i in 0..<end {
                    let b = chunk[i]
                    if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
                }
                return chunk.count
            }
        } catch {
            return nil
        }
        return (line, column)
    }

    /// The `DataError` for undecodable bytes at `offset` of `path`.
    package static func notUTF8(_ path: String, offset: Int, bytes: UnsafeBufferPointer<UInt8>? = nil) -> DataError {
        let place = bytes.map { locate(offset, in: $0) } ?? locate(offset, inFile: path)
        return DataError(.notUTF8, file: path, line: place?.line, column: place?.column, byteOffset: offset,
                         problem: "the bytes here are not valid UTF-8",
                         fix: "convert the file to UTF-8 (for example `iconv -f LATIN1 -t UTF-8`)")
    }

    /// A scalar written for people: the character and its code point, e.g. `'é' (U+00E9)`.
    package static func describe(_ scalar: UInt32) -> String {
        var hex = String(scalar, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        let code = "U+" + hex
        guard let s = Unicode.Scalar(scalar) else { return code }
        if s.properties.isWhitespace || s.value < 0x20 {
            return "\(s.escaped(asASCII: true)) (\(code))"
        }
        return "'\(Character(s))' (\(code))"
    }
}
