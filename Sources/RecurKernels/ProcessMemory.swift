// This process's memory as the kernel reports it: current and peak resident set, and a reset of
// the peak, for `recur bench` and the data-loading benchmark. Linux reads /proc/self/status and
// writes /proc/self/clear_refs; elsewhere getrusage's ru_maxrss (a peak that never resets).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ProcessMemory {
    /// Current resident set in bytes (Linux: VmRSS; elsewhere the peak).
    public static func resident() -> Int { statusField("VmRSS:") ?? peakResident() }

    /// Peak resident set in bytes (Linux: VmHWM, which `resetPeak` resets).
    public static func peakResident() -> Int {
        if let hwm = statusField("VmHWM:") { return hwm }
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #else
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// Starts a new peak (Linux only), so each measured piece of work gets its own.
    public static func resetPeak() {
        #if os(Linux)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        if fd >= 0 { _ = write(fd, "5", 1); close(fd) }
        #endif
    }

    /// A "kB" field of /proc/self/status, in bytes.
    private static func statusField(_ name: String) -> Int? {
        // /proc files report size 0, so read until the end instead of by size.
        let fd = open("/proc/self/status", O_RDONLY)
        if fd < 0 { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter { $0.isNumber }
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }
}
