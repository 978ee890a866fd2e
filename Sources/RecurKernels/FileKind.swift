// What a path names, asked before a file is opened: opening a named pipe for reading blocks until
// a writer comes (a hang), and a device or socket is no data file. Every reader of a user's file
// (data, experiment, checkpoint, metrics) asks here first and refuses what is not a regular file,
// naming what it is.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileKind {
    /// What `path` is when it exists and is not a regular file ("a named pipe (FIFO)", "a
    /// directory", …); nil for a regular file or a path that does not exist (the caller's open
    /// then reports that). Symbolic links are followed.
    public static func irregular(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return path.hasPrefix("/dev/") || path.hasPrefix("/proc/") ? "standard input or a pipe (\(path))" : "a named pipe (FIFO)"
        case S_IFCHR: return path == "/dev/stdin" || path.hasPrefix("/dev/fd/") || path.hasPrefix("/proc/self/fd/") ? "standard input or a terminal (\(path))" : "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}
