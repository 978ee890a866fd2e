// Unbuffered writes to the terminal's standard streams, safe from any thread and under
// Swift 6's concurrency checks (no shared FILE* globals). Formatting lives with the callers.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Console {
    /// Writes `text` to standard error as one write(2) call.
    public static func error(_ text: String) { write(fd: 2, text) }

    /// Writes `text` to standard output as one write(2) call.
    public static func out(_ text: String) { write(fd: 1, text) }

    private static func write(fd: Int32, _ text: String) {
        var s = text
        s.withUTF8 { p in
            var off = 0
            while off < p.count {
                let n = Glibc_write(fd, p.baseAddress! + off, p.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }

    /// Whether file descriptor `fd` is a terminal (progress bars only then).
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

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
