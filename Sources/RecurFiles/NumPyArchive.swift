// NumPy's archives of named arrays: a `.npz` is a zip file of `name.npy` members, stored
// (np.savez) or deflated (np.savez_compressed). A small zip reader over a read-only mapping:
// the end-of-central-directory record, the central directory (sizes, method, CRC-32), each
// member's local header to find its data. Stored members are read in place; deflated ones are
// inflated with zlib into a buffer of their own. Archives that need zip64 (over 4 GiB),
// encryption, several disks or another compression method are refused.

import CZlib

/// The arrays of a `.npy` file or a `.npz` archive, by name.
package enum NumPyArchive {
    /// The arrays of `path`: a `.npz`'s `.npy` members in archive order, named without `.npy`
    /// (other members are skipped), or a `.npy` file as one array named `arr_0` (np.savez's
    /// name for an unnamed array).
    /// - Throws: `DataError` for a file that is not a zip archive or `.npy`, a member that is
    ///   corrupt (CRC-32, inflate) or not a `.npy` array, or an unsupported zip feature.
    package static func read(path: String) throws(DataError) -> [(name: String, array: NumPyArray)] {
        let bytes = try ArrayBytes(mapping: path)
        if bytes.count >= 6 && bytes[0] == 0x93 && bytes[1] == 0x4E {
            return [("arr_0", try NumPyArray(bytes, range: 0..<bytes.count, file: path, member: nil, fileOffset: 0))]
        }
        var arrays: [(name: String, array: NumPyArray)] = []
        for m in try members(bytes, path: path) where m.name.hasSuffix(".npy") {
            let data = try memberData(m, bytes, path: path)
            let array = try NumPyArray(data.bytes, range: data.range, file: path, member: m.name,
                                       fileOffset: m.method == 0 ? m.dataOffset : nil)
            arrays.append((String(m.name.dropLast(4)), array))
        }
        return arrays
    }

    /// One member as the central directory describes it.
    package struct Member {
        /// Its path inside the archive.
        var name: String
        /// 0 stored, 8 deflated.
        var method: Int
        /// The CRC-32 of its uncompressed bytes.
        var crc: UInt32
        /// Its bytes as stored in the archive.
        var compressedSize: Int
        /// Its bytes once inflated.
        var size: Int
        /// Where its data starts in the file (after the local header).
        var dataOffset: Int
    }

    /// The members the central directory lists, in order.
    package static func members(_ bytes: ArrayBytes, path: String) throws(DataError) -> [Member] {
        let n = bytes.count
        func fail(_ offset: Int?, _ problem: String, _ fix: String = "save the archive again with np.savez or np.savez_compressed") -> DataError {
            DataError(.unreadable, file: path, byteOffset: offset, problem: problem, fix: fix)
        }
        /// The error for an archive or member that needs zip64 (over 4 GiB).
        func zip64(_ offset: Int, _ what: String) -> DataError {
            fail(offset, "\(what) in zip64 form (it or the archive is over 4 GiB), which this reader does not read", "split the data into archives under 4 GiB each")
        }
        // The end-of-central-directory record: 22 bytes and a comment of up to 65535, at the end.
        var eocd: Int? = nil
        if n >= 22 {
            var k = n - 22
            while k >= max(0, n - 22 - 0xFFFF) {
                if bytes.little(k, 4) == 0x0605_4B50 && k + 22 + Int(bytes.little(k + 20, 2)) == n { eocd = k; break }
                k -= 1
            }
        }
        guard let e = eocd else {
            if n >= 4 && bytes.little(0, 4) == 0x0403_4B50 {
                throw fail(nil, "the zip archive has no end-of-central-directory record, so it was cut short",
                           "save the archive again; the file is incomplete")
            }
            throw fail(0, "the file is neither a .npz (zip) archive nor a .npy array",
                       "save the arrays with np.savez('data.npz', X=X, y=y), or give the file the extension of its format")
        }
        if e >= 20 && bytes.little(e - 20, 4) == 0x0706_4B50 {
            throw zip64(e - 20, "the archive is")
        }
        let disk = Int(bytes.little(e + 4, 2)), cdDisk = Int(bytes.little(e + 6, 2))
        let entries = Int(bytes.little(e + 10, 2))
        let cdSize = Int(bytes.little(e + 12, 4)), cdOffset = Int(bytes.little(e + 16, 4))
        if entries == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw zip64(e, "the archive is")
        }
        if disk != 0 || cdDisk != 0 {
            throw fail(e, "the archive spans several disks (a split zip), which this reader does not read", "join the parts into one archive")
        }
        guard cdOffset <= e, cdSize <= e - cdOffset else {
            throw fail(e, "the central directory (\(cdSize) bytes at byte \(cdOffset)) lies outside the archive", "save the archive again; the file is damaged")
        }
        var out: [Member] = []
        var p = cdOffset
        for index in 0..<entries {
            guard p + 46 <= cdOffset + cdSize, bytes.little(p, 4) == 0x0201_4B50 else {
                throw fail(p, "entry \(index + 1) of the \(entries) in the central directory is damaged", "save the archive again; the file is damaged")
            }
            let flags = Int(bytes.little(p + 8, 2)), method = Int(bytes.little(p + 10, 2))
            let crc = UInt32(bytes.little(p + 16, 4))
            let compressed = Int(bytes.little(p + 20, 4)), size = Int(bytes.little(p + 24, 4))
            let nameLength = Int(bytes.little(p + 28, 2)), extraLength = Int(bytes.little(p + 30, 2)), commentLength = Int(bytes.little(p + 32, 2))
            let local = Int(bytes.little(p + 42, 4))
            guard p + 46 + nameLength <= cdOffset + cdSize else {
                throw fail(p, "entry \(index + 1) of the central directory has a name running past it", "save the archive again; the file is damaged")
            }
            let name = String(decoding: (0..<nameLength).map { bytes[p + 46 + $0] }, as: UTF8.self)
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
                throw zip64(p, "member '\(name)' is stored")
            }
            if flags & 1 != 0 {
                throw fail(p, "member '\(name)' is encrypted", "save the archive without a password")
            }
            if method != 0 && method != 8 {
                throw fail(p, "member '\(name)' is compressed with zip method \(method), but this reader inflates only stored (0) and deflated (8) members",
                           "save the arrays with np.savez or np.savez_compressed")
            }
            // The local header repeats the name and has an extra field of its own (NumPy's
            // zip64 marker among them): its lengths say where the data starts.
            guard local + 30 <= n, bytes.little(local, 4) == 0x0403_4B50 else {
                throw fail(local, "member '\(name)' has no local header where the central directory says (byte \(local))",
                           "save the archive again; the file is damaged")
            }
            let data = local + 30 + Int(bytes.little(local + 26, 2)) + Int(bytes.little(local + 28, 2))
            guard data <= n, compressed <= n - data else {
                throw fail(data, "member '\(name)' needs \(compressed) bytes from byte \(data), but the archive has \(max(0, n - data))",
                           "save the archive again; the file was cut short")
            }
            out.append(Member(name: name, method: method, crc: crc, compressedSize: compressed, size: size, dataOffset: data))
            p += 46 + nameLength + extraLength + commentLength
        }
        return out
    }

    /// A member's uncompressed bytes: a range of the archive's own mapping when stored,
    /// a buffer of their own when deflated; their CRC-32 checked.
    package static func memberData(_ m: Member, _ bytes: ArrayBytes, path: String) throws(DataError) -> (bytes: ArrayBytes, range: Range<Int>) {
        let out: ArrayBytes, range: Range<Int>
        if m.method == 0 {
            guard m.size == m.compressedSize else {
                throw DataError(.unreadable, file: path, byteOffset: m.dataOffset,
                                problem: "member '\(m.name)' is stored uncompressed but its sizes differ (\(m.compressedSize) stored, \(m.size) uncompressed)",
                                fix: "save the archive again; the file is damaged")
            }
            out = bytes
            range = m.dataOffset ..< m.dataOffset + m.size
        } else {
            out = try inflate(m, bytes, path: path)
            range = 0 ..< m.size
        }
        var crc: UInt = 0
        var done = 0
        while done < range.count {
            let chunk = min(range.count - done, 1 << 30)
            crc = crc32(crc, (out.base + range.lowerBound + done).assumingMemoryBound(to: UInt8.self), UInt32(chunk))
            done += chunk
        }
        if UInt32(truncatingIfNeeded: crc) != m.crc {
            throw DataError(.unreadable, file: path, byteOffset: m.dataOffset,
                            problem: "member '\(m.name)' fails its CRC-32 check, so its bytes were damaged",
                            fix: "save the archive again, or copy it again from where it was made")
        }
        return (out, range)
    }

    /// Inflates a deflated member into a buffer of its uncompressed size.
    private static func inflate(_ m: Member, _ bytes: ArrayBytes, path: String) throws(DataError) -> ArrayBytes {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(m.size, 1), alignment: 16)
        var stream = z_stream()
        guard recur_inflate_init_raw(&stream) == Z_OK else {
            buffer.deallocate()
            throw DataError(.unreadable, file: path, byteOffset: m.dataOffset, problem: "zlib could not start inflating member '\(m.name)'",
                            fix: "check that there is memory to spare, and try again")
        }
        stream.next_in = UnsafeMutablePointer(mutating: (bytes.base + m.dataOffset).assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(m.compressedSize)
        stream.next_out = buffer.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(m.size)
        let status = CZlib.inflate(&stream, Z_FINISH)
        let produced = Int(stream.total_out), consumed = Int(stream.total_in)
        inflateEnd(&stream)
        guard status == Z_STREAM_END, produced == m.size else {
            buffer.deallocate()
            let why = status == Z_STREAM_END ? "it inflates to \(produced) bytes, not the \(m.size) the central directory gives"
                : status == Z_BUF_ERROR && stream.avail_out == 0 ? "it inflates to more than the \(m.size) bytes the central directory gives"
                : status == Z_BUF_ERROR ? "its deflated data ends early" : "its deflated data is damaged (zlib status \(status))"
            throw DataError(.unreadable, file: path, byteOffset: m.dataOffset + min(consumed, m.compressedSize),
                            problem: "member '\(m.name)' cannot be inflated: \(why)",
                            fix: "save the archive again with np.savez_compressed; the file is damaged")
        }
        return ArrayBytes(taking: buffer, count: m.size)
    }
}
