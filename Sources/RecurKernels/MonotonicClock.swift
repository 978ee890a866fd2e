// A monotonic wall clock in seconds for timing phases of a step: one clock_gettime call, no
// allocation, so it is cheap enough to call several times per training step. Not a calendar.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum MonotonicClock {
    /// Seconds since an arbitrary fixed point (CLOCK_MONOTONIC); only differences mean anything.
    @inline(__always)
    public static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
