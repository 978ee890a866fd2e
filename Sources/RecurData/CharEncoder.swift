// Turns a UTF-8 text file into character ids in one streaming pass: bytes are decoded in
// chunks (ASCII through a 128-entry table), each new scalar gets a provisional id in order of
// first appearance, and a final in-place remap gives the sorted vocabulary's ids.
// It builds no String per character and never holds the file's bytes and the ids at once.

import RecurFiles

enum CharEncoder {
    /// Provisional encoding: ids in order of first appearance.
    struct Provisional<T: FixedWidthInteger> {
        var ids: [T]
        /// Scalar of each provisional id.
        var scalars: [UInt32]
        /// Character index and byte offset of each provisional id's first appearance.
        var firstIndex: [Int]
        var firstOffset: [Int]
    }

    /// Decodes `path` into provisional ids of type `T`.
    /// - Returns: nil when the text has more distinct characters than `T` can number.
    /// - Throws: `DataError` for unreadable, empty or non-UTF-8 files.
    static func decode<T: FixedWidthInteger>(_ path: String, as _: T.Type,
                                             chunkSize: Int = FileReader.chunkSize) throws(DataError) -> Provisional<T>? {
        let (fd, size) = try FileReader.open(path)
        closeDescriptor(fd)
        var scalars: [UInt32] = [], firstIndex: [Int] = [], firstOffset: [Int] = []
        let table = UnsafeMutablePointer<Int32>.allocate(capacity: 128)   // ASCII byte → provisional id
        table.initialize(repeating: -1, count: 128)
        defer { table.deallocate() }
        var others: [UInt32: Int32] = [:]
        var overflow = false, full = false
        var failure: DataError? = nil
        let limit = Int(T.max)

        // A file never has more characters than bytes, so `size` ids always suffice.
        let ids = [T](unsafeUninitializedCapacity: size) { out, count in
            do throws(DataError) {
                try FileReader.forEachChunk(path, chunkSize: chunkSize) { (chunk, start, isLast) throws(DataError) -> Int in
                    let n = chunk.count
                    if overflow || full { return n }
                    var i = 0
                    // Skip a byte order mark at the very start of the file.
                    if start == 0 && n >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF { i = 3 }
                    while i < n {
                        let b = chunk[i]
                        var id: Int32
                        var length = 1
                        var scalar = UInt32(b)
                        if b < 0x80 {
                            id = table[Int(b)]
                        } else {
                            switch UTF8Scan.decode(chunk, at: i) {
                            case .scalar(let v, let l): scalar = v; length = l
                            case .truncated where !isLast: return i   // finish it with the next chunk
                            case .invalid, .truncated: throw UTF8Scan.notUTF8(path, offset: start + i)
                            }
                            id = others[scalar] ?? -1
                        }
                        if id < 0 {
                            id = Int32(scalars.count)
                            if Int(id) > limit { overflow = true; return n }
                            scalars.append(scalar)
                            firstIndex.append(count)
                            firstOffset.append(start + i)
                            if scalar < 0x80 { table[Int(scalar)] = id } else { others[scalar] = id }
                        }
                        if count >= size { full = true; return n }   // the file grew while being read
                        out[count] = T(truncatingIfNeeded: id)
                        count += 1
                        i += length
                    }
                    return n
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if overflow { return nil }
        return Provisional(ids: ids, scalars: scalars, firstIndex: firstIndex, firstOffset: firstOffset)
    }

    /// Remaps provisional ids in place through `table` (provisional id → final id).
    static func remap<T: FixedWidthInteger>(_ ids: inout [T], _ table: [Int32]) {
        table.withUnsafeBufferPointer { map in
            ids.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] = T(truncatingIfNeeded: map[Int(p[i])]) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Closes a descriptor opened only to check a file.
func closeDescriptor(_ fd: Int32) { _ = close(fd) }
