// Reads user files with plain POSIX calls: the whole file at once (CSV, labels), or in chunks
// (large texts) so that the bytes never sit in memory next to the encoded tokens.
// It never writes, never maps files, and turns every failure into a DataError.

import RecurKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

package enum FileReader {
    /// Default chunk for streaming reads: large enough that syscalls cost nothing.
    package static let chunkSize = 1 << 22

    /// Opens `path` for reading and returns the descriptor and the file size.
    /// - Throws: `DataError` when the file is missing, a directory, unreadable or empty.
    package static func open(_ path: String) throws(DataError) -> (fd: Int32, size: Int) {
        // Before open(2): a named pipe would block it until a writer came.
        if let what = FileKind.irregular(path), what != "a directory" {
            throw DataError(.unreadable, file: path, problem: "this is \(what), not a regular file",
                            fix: "give the path of a data file (save piped data to a file first)")
        }
        let fd = openReadOnly(path)
        if fd < 0 {
            let code = errno
            if code == ENOENT {
                throw DataError(.fileNotFound, file: path, problem: "the file does not exist",
                                fix: "check the path (relative paths start at the working directory)")
            }
            throw DataError(.unreadable, file: path, problem: "the file cannot be opened (\(String(cString: strerror(code))))",
                            fix: "check the file's permissions")
        }
        var info = stat()
        if fstat(fd, &info) != 0 {
            close(fd)
            throw DataError(.unreadable, file: path, problem: "the file cannot be inspected", fix: "check the file's permissions")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw DataError(.unreadable, file: path, problem: "this is a directory, not a file",
                            fix: "name a file, or use the directory form of the reader")
        }
        let size = Int(info.st_size)
        if size == 0 {
            close(fd)
            throw DataError(.emptyFile, file: path, problem: "the file is empty", fix: "point to a file that holds data")
        }
        return (fd, size)
    }

    /// Whether `path` names an existing directory.
    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names of the regular entries of `directory` ending in `suffix`, sorted.
    /// - Throws: `DataError` when the directory cannot be read.
    package static func list(_ directory: String, suffix: String) throws(DataError) -> [String] {
        guard let dir = opendir(directory) else {
            throw DataError(.unreadable, file: directory, problem: "the directory cannot be read (\(String(cString: strerror(errno))))",
                            fix: "check the path and its permissions")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(suffix) && !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// The whole file as bytes.
    /// - Throws: `DataError` as `open` does, or when reading fails.
    package static func readAll(_ path: String) throws(DataError) -> [UInt8] {
        let (fd, size) = try open(path)
        defer { close(fd) }
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            while count < size {
                let n = read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 { if errno == EINTR { continue }; failed = true; break }
                if n == 0 { break }
                count += n
            }
        }
        if failed {
            throw DataError(.unreadable, file: path, problem: "reading the file failed (\(String(cString: strerror(errno))))",
                            fix: "check the disk and the file")
        }
        return bytes
    }

    /// Streams `path` through `body` in chunks.
    ///
    /// `body(chunk, offset, isLast)` gets the unprocessed bytes starting at byte `offset` of the
    /// file and returns how many it consumed; the rest is handed over again, in front of the
    /// next bytes read. When it consumes nothing and more bytes exist, the buffer grows.
    /// On the last call (`isLast`) it must consume everything.
    /// - Returns: the file size in bytes.
    @discardableResult
    package static func forEachChunk(_ path: String, chunkSize: Int = FileReader.chunkSize,
                             _ body: (UnsafeBufferPointer<UInt8>, Int, Bool) throws(DataError) -> Int) throws(DataError) -> Int {
        let (fd, size) = try open(path)
        defer { close(fd) }
        var capacity = max(chunkSize, 16)
        var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var filled = 0          // bytes in buffer
        var fileOffset = 0      // file offset of buffer[0]
        var atEnd = false
        while true {
            while !atEnd && filled < capacity {
                let n = read(fd, buffer + filled, capacity - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DataError(.unreadable, file: path, byteOffset: fileOffset + filled,
                                    problem: "reading the file failed (\(String(cString: strerror(errno))))",
                                    fix: "check the disk and the file")
                }
                if n == 0 { atEnd = true } else { filled += n }
            }
            if filled == 0 { return size }
            let consumed = try body(UnsafeBufferPointer(start: buffer, count: filled), fileOffset, atEnd)
            precondition(consumed >= 0 && consumed <= filled, "forEachChunk: body consumed \(consumed) of \(filled) bytes")
            if atEnd {
                precondition(consumed == filled, "forEachChunk: the last chunk must be consumed whole")
                return size
            }
            if consumed == 0 {
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                grown.update(from: buffer, count: filled)
                buffer.deallocate()
                buffer = grown
                capacity *= 2
                continue
            }
            let rest = filled - consumed
            if rest > 0 { memmove(buffer, buffer + consumed, rest) }
            filled = rest
            fileOffset += consumed
        }
    }
}

/// `open(2)` read-only; a named wrapper because Swift's `open` overloads are awkward to call.
private func openReadOnly(_ path: String) -> Int32 {
    path.withCString { open($0, O_RDONLY) }
}
