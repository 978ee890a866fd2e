// The one error of a file Recur could not open, write, rename, sync, list or remove for a reason
// outside the user's input: a full disk, a directory that is not writable, a closed stream. It
// is not "user input" (the command line maps it to exit status 1, the run failed), unlike
// `CheckpointError` (a file that is not what it should be) and the experiment's errors.

import RecurKernels
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation, naming the file, the operation with the system's reason, and a fix.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file or directory concerned.
    public let path: String
    /// What failed, with the system's reason ("cannot write 4096 bytes: No space left on device").
    public let problem: String
    /// What the user can do about it.
    public let remedy: String

    public init(path: String, _ problem: String, remedy: String? = nil) {
        self.path = path
        self.problem = problem
        self.remedy = remedy ?? "Check that the path exists, is writable and the disk is not full."
    }

    /// `what` failed on `path`, with the current `errno` explained.
    public static func system(_ what: String, path: String) -> FileError {
        let code = errno
        return FileError(path: path, "\(what): \(String(cString: strerror(code))) (errno \(code))")
    }

    /// A Foundation error of `what` on `path`.
    public static func foundation(_ what: String, path: String, _ error: Error) -> FileError {
        FileError(path: path, "\(what) (\(error.localizedDescription))")
    }

    public var description: String { "\(path): \(problem). \(remedy)" }
}

/// What went wrong reading or writing a run's output files (metrics.jsonl, event files).
public struct RunOutputError: UserInputError, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

/// `s` as a JSON string literal (for headers and lines written by hand: safetensors metadata,
/// metrics.jsonl).
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Writes every byte to `fd`, retrying short writes and EINTR (metrics and event files).
/// - Throws: `FileError` naming `path` when the write fails.
public func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { throw FileError.system("cannot write \(bytes.count - offset) bytes", path: path) }
        offset += n
    }
}

/// The command's results on standard output (CSV, tables, JSON, text), checked: a full disk,
/// /dev/full, a closed pipe end with a `FileError` naming standard output, never silently.
/// (SIGPIPE is ignored by the command line, so a closed pipe is an EPIPE error here.)
public enum StandardOutput {
    /// - Throws: `FileError` ("standard output") when the write fails.
    public static func write(_ text: String) throws {
        let e = Console.write(text, to: 1)
        guard e == 0 else {
            throw FileError(path: "standard output", "cannot write: \(String(cString: strerror(e))) (errno \(e))",
                            remedy: e == EPIPE ? "The reader of the pipe ended before the output did." : "Check the file or device standard output goes to (a full disk?).")
        }
    }

    /// `text` and a newline.
    public static func line(_ text: String) throws { try write(text + "\n") }
}
