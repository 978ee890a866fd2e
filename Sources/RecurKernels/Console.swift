// Unbuffered writes to the terminal's standard streams, safe from any thread and under
// Swift 6's concurrency checks (no shared FILE* globals). Formatting lives with the callers.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Console {
    /// Writes `text` to standard error, best effort: diagnostics and progress never end a run
    /// (after SIGHUP the terminal is gone, and the run still writes its checkpoint).
    public static func error(_ text: String) { write(text, to: 2) }

    /// Writes `text` to standard output, best effort; a failure is remembered in
    /// `outputFailure` for the caller to report at the end (`--log-format json` events).
    public static func out(_ text: String) {
        let e = write(text, to: 1)
        if e != 0 && outputFailureCode.pointee == 0 { outputFailureCode.pointee = e }
    }

    /// Why a best-effort write to standard output (`out`) failed first, if one did.
    public static var outputFailure: String? {
        let e = outputFailureCode.pointee
        return e == 0 ? nil : "\(String(cString: strerror(e))) (errno \(e))"
    }

    private static let outputFailureCode: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Writes all of `text` to `fd`, retrying short writes and EINTR.
    /// - Returns: 0 when everything was written, else the errno of the failed write(2).
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Int32 {
        var s = text
        return s.withUTF8 { p -> Int32 in
            var off = 0
            while off < p.count {
                let n = Glibc_write(fd, p.baseAddress! + off, p.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return n == 0 ? EIO : errno }
                off += n
            }
            return 0
        }
    }

    /// Whether file descriptor `fd` is a terminal.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

    /// Whether a bar may be redrawn in place on `fd` with escape codes: a terminal whose TERM is
    /// not `dumb` (Emacs shells, some CI logs), which gets plain lines instead.
    public static func drawsInPlace(_ fd: Int32) -> Bool {
        guard isTerminal(fd) else { return false }
        return getenv("TERM").map { String(cString: $0) != "dumb" } ?? true
    }

    /// The width of the terminal on `fd`, asked of the terminal itself (TIOCGWINSZ), else
    /// $COLUMNS (which shells set but do not export), else nil.
    public static func columns(_ fd: Int32) -> Int? {
        var size = winsize()
        #if canImport(Glibc)
        let ok = ioctl(fd, UInt(TIOCGWINSZ), &size) == 0
        #else
        let ok = ioctl(fd, TIOCGWINSZ, &size) == 0
        #endif
        if ok && size.ws_col > 0 { return Int(size.ws_col) }
        return getenv("COLUMNS").flatMap { Int(String(cString: $0)) }
    }
}

@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    write(fd, p, n)
}
