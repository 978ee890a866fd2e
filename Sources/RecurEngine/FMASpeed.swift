// The core's FMA peak on replicas' threads, `recur bench`'s yardstick (Note [FMA peak] in
// CKernels.h): `threads` register-only multiply-add loops at once on this module's workers,
// summed over ranks. Here, beside the worker pool, so nothing above the engine runs replicas'
// threads itself.

import CKernels
import RecurKernels
import RecurParallel

public enum FMASpeed {
    /// Summed GFLOP/s of `threads` concurrent register-only FMA loops at `level`, each run for about `seconds` in rounds and credited with its fastest round (the
    /// peak is what the units can do, not what an interrupted round did), on every rank of
    /// `comm`. Collective.
    public static func measure(level: KernelLevel, threads: Int, comm: Communicator, seconds: Double) -> Double {
        let level = Int32(level.rawValue)
        var speeds = [Double](repeating: 0, count: threads)
        comm.barrier()
        speeds.withUnsafeMutableBufferPointer { out in
            let out = out
            WorkerPool.run(threads) { t in
                var sink = 0.0
                _ = recur_fma_peak_loop(level, 1 << 14, &sink)   // wake the units (and their clock)
                var best = 0.0
                let start = MonotonicClock.seconds()
                var rounds = 0
                while MonotonicClock.seconds() - start < seconds || rounds < 3 {
                    let t0 = MonotonicClock.seconds()
                    let flops = recur_fma_peak_loop(level, 1 << 16, &sink)
                    best = max(best, flops / (MonotonicClock.seconds() - t0) / 1e9)
                    rounds += 1
                }
                out[t] = best
            }
        }
        var total = [speeds.reduce(0, +)]
        comm.allreduceSum(&total)
        return total[0]
    }

    /// The width in bits the core's two FMA units execute at `level`, given one core's measured
    /// peaks at `level` and at AVX2: 512 for AVX-512 on cores with 512-bit units (the AVX-512 peak
    /// about twice the AVX2 one: the Intel and Zen 5 machines), 256 where a 512-bit FMA is issued
    /// as two 256-bit halves (the peaks about equal: AMD Zen 4), 256 for AVX2; nil for the baseline
    /// (no FMA). Two units of that width give the clock a peak implies.
    public static func unitBits(_ level: KernelLevel, peak: Double, avx2Peak: Double?) -> Int? {
        switch level {
        case .avx512:
            guard let avx2Peak, avx2Peak > 0 else { return 512 }
            return peak / avx2Peak >= 1.4 ? 512 : 256
        case .avx2: return 256
        case .baseline: return nil
        }
    }

    /// Single-precision floating-point operations two FMA units of `bits` do per cycle (2 units ×
    /// bits/32 lanes × 2).
    public static func flopsPerCycle(unitBits bits: Int) -> Double { Double(bits / 32 * 4) }
}
