// Where a run lives, and who may write it: output paths are checked before any work starts
// (an existing file, a read-only or pseudo file system), a run directory belongs to one process
// at a time through an OS lock that dies with the process, and "holds a run" means it holds
// what recur train writes (a folder with notes in it is not a run).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum OutputPath {
    /// Checks that a directory can be created (or written) at `path` without creating it.
    /// - Parameters:
    ///   - what: how messages name the path ("output.dir", "--output").
    /// - Throws: `RunOutputError` naming the path, what stands in the way and what to do.
    public static func checkDirectory(_ path: String, what: String) throws {
        func fail(_ why: String) -> RunOutputError {
            RunOutputError(path: path, line: nil, message: "\(what) cannot be used as a directory: \(why)")
        }
        guard !path.isEmpty else { throw fail("the path is empty; give a directory such as runs/my-run") }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        for pseudo in ["/proc", "/sys", "/dev"] where url.path == pseudo || url.path.hasPrefix(pseudo + "/") {
            throw fail("\(pseudo) is a kernel file system that cannot hold files; choose another directory")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw fail("a file of that name exists; choose another name") }
            try probeWritable(url.path, fail)
            return
        }
        // The nearest existing ancestor must be a writable directory.
        var ancestor = url.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDir) { ancestor.deleteLastPathComponent() }
        guard isDir.boolValue else { throw fail("\(ancestor.path) is a file, so no directory can be made under it") }
        try probeWritable(ancestor.path, fail)
    }

    /// Checks that the file `path` can be written: its directory exists and is writable.
    public static func checkFile(_ path: String, what: String) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw RunOutputError(path: path, line: nil, message: "\(what): the folder \(dir) does not exist; create it first or choose another path")
        }
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            throw RunOutputError(path: path, line: nil, message: "\(what): this is a directory; give a file name, e.g. \(url.appendingPathComponent("plot.svg").path)")
        }
        try probeWritable(dir) { RunOutputError(path: path, line: nil, message: "\(what): cannot write in \(dir): \($0)") }
    }

    /// Refuses an output that would replace one of the command's own inputs (the same file, by
    /// any path or link), or land inside a run directory other than `ownRun`.
    /// - Parameters:
    ///   - inputs: the files the command reads (data, model, metrics).
    ///   - ownRun: the run the command works on, whose directory it may write into.
    /// - Throws: `RunOutputError` naming the output and what it would overwrite.
    public static func checkSeparate(_ path: String, what: String, inputs: [String], ownRun: URL? = nil) throws {
        let output = canonical(path)
        for input in inputs where canonical(input) == output || sameFile(path, input) {
            throw RunOutputError(path: path, line: nil, message: "\(what) is \(input), which this command reads; writing it would replace its input: choose another file")
        }
        var dir = URL(fileURLWithPath: output).deletingLastPathComponent()
        let own = ownRun.map { canonical($0.path) }
        while dir.path != "/" && !dir.path.isEmpty {
            if RunDirectoryLock.holdsRun(dir.path) {
                if canonical(dir.path) != own {
                    throw RunOutputError(path: path, line: nil, message: "\(what) is inside the run directory \(dir.path)\(ownRun == nil ? "" : ", not the run this command uses"); choose a place outside other runs")
                }
                break
            }
            dir.deleteLastPathComponent()
        }
    }

    /// `path` absolute, with `.`/`..` and the links of its existing part resolved.
    static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: url.path) { return url.resolvingSymlinksInPath().path }
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
    }

    /// Whether two existing paths are one file (hard links included).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    /// Whether files can be made in `dir`, without making one: access(2) reports a read-only
    /// file system (EROFS) even to root, and missing permissions to others.
    private static func probeWritable(_ dir: String, _ fail: (String) -> RunOutputError) throws {
        guard access(dir, W_OK | X_OK) == 0 else {
            throw fail("\(String(cString: strerror(errno))) (check its permissions and mount, or choose another place)")
        }
    }
}

/// An exclusive lock on a run directory (`.lock` inside it), held until the process ends:
/// flock(2) releases it when the process dies, however it dies.
public final class RunDirectoryLock {
    private let fd: Int32
    public let directory: URL

    /// Takes the lock, creating `.lock` (and the directory) if needed.
    /// - Throws: `RunOutputError` when another process holds it (naming that process) or the
    ///   lock file cannot be made.
    public init(_ directory: URL) throws {
        self.directory = directory
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(".lock").path
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw RunOutputError(path: directory.path, line: nil, message: "cannot create its lock file: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 31, 0)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw RunOutputError(path: directory.path, line: nil,
                                 message: "is in use by another recur process (pid \(holder)); wait for it to finish or stop it, then try again")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
    }

    deinit { close(fd) }

    /// Whether `directory` holds a run (what recur train writes), not merely some files.
    public static func holdsRun(_ directory: String) -> Bool {
        let fm = FileManager.default
        return ["config.yaml", "checkpoints", "metrics.jsonl"].contains {
            fm.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
        }
    }
}
