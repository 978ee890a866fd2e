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

    /// Bytes this process can still allocate: the least of the system's available memory
    /// (MemAvailable), the cgroup's limit less its usage, and the address-space limit (ulimit -v)
    /// less what is mapped; nil where none of them can be read.
    public static func available() -> Double? {
        var limits: [Double] = []
        if let text = readText("/proc/meminfo"),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = Double(line.filter(\.isNumber)) {
            limits.append(kb * 1024)
        }
        func number(_ path: String) -> Double? { readText(path).flatMap { Double($0.filter { !$0.isWhitespace }) } }
        if let cap = number("/sys/fs/cgroup/memory.max") {     // "max" (no limit) reads as nil
            limits.append(cap - (number("/sys/fs/cgroup/memory.current") ?? 0))
        }
        var limit = rlimit()
        #if canImport(Glibc)
        let ok = getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0
        #else
        let ok = getrlimit(RLIMIT_AS, &limit) == 0
        #endif
        if ok && limit.rlim_cur != rlim_t.max, let vm = statusField("VmSize:") {   // rlim_t.max: RLIM_INFINITY
            limits.append(Double(limit.rlim_cur) - Double(vm))
        }
        return limits.min()
    }

    private static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
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
        // /proc files report size 0, so they are read until the end instead of by size.
        guard let text = readText("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter { $0.isNumber }
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }
}
