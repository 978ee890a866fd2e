// Crash-safe file replacement: write a temporary file beside the target, fsync it, rename it over
// the target and fsync the directory, so a crash at any point leaves the old file or the new one,
// never a mix. It does not lock: one process (rank 0) writes a given path at a time.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces the file at `url` with `bytes` atomically and durably.
///
/// The bytes go to `.<name>.tmp-<pid>-<random>` in the same directory, which is fsynced and then
/// renamed over `url` (rename within one file system is atomic); finally the directory is
/// fsynced so that the rename itself survives a power loss. The temporary file is removed if
/// anything fails; a crash can leave one behind, which readers ignore (its name starts with '.').
/// - Parameters:
///   - bytes: the complete new contents.
///   - url: the file to create or replace; its directory must exist.
/// - Throws: `FileError` naming the file and the failing system call.
public func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(
        ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    do {
        try writeAndSyncFile(bytes, to: temporary)
        if rename(temporary.path, url.path) != 0 {
            throw FileError.system("cannot rename \(temporary.lastPathComponent) over it", path: url.path)
        }
    } catch {
        unlink(temporary.path)
        throw error
    }
    try fsyncDirectory(directory)
}

/// Replaces the file at `url` with `data` atomically and durably; see `writeAtomically(_:to:)`.
public func writeAtomically(_ data: Data, to url: URL) throws {
    try writeAtomically([UInt8](data), to: url)
}

/// Flushes a directory's entries (created, renamed or removed files) to disk.
/// - Throws: `FileError` when the directory cannot be opened or synced.
public func fsyncDirectory(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY | O_DIRECTORY)
    guard fd >= 0 else { throw FileError.system("cannot open the directory to sync it", path: url.path) }
    defer { close(fd) }
    // Some file systems refuse fsync on directories (EINVAL); there is nothing more to flush there.
    if fsync(fd) != 0 && errno != EINVAL {
        throw FileError.system("cannot sync the directory", path: url.path)
    }
}

/// Creates (or truncates) `url`, writes all of `bytes`, fsyncs and closes it. Not atomic by
/// itself: callers write into a temporary name and rename.
func writeAndSyncFile(_ bytes: [UInt8], to url: URL) throws {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileError.system("cannot create the file", path: url.path) }
    var closed = false
    defer { if !closed { close(fd) } }
    var written = 0
    try bytes.withUnsafeBytes { raw in
        while written < raw.count {
            let n = write(fd, raw.baseAddress! + written, raw.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.system("cannot write \(raw.count) bytes (\(written) written)", path: url.path)
            }
            written += n
        }
    }
    guard fsync(fd) == 0 else { throw FileError.system("cannot sync the file to disk", path: url.path) }
    closed = true
    guard close(fd) == 0 else { throw FileError.system("cannot close the file", path: url.path) }
}
