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

    /// Single-precision floating-point operations one core's FMA units do per cycle at `level`,
    /// assuming two FMA units of the level's width (what the clock a peak implies is quoted at):
    /// 2 × 16 lanes × 2 for AVX-512, 2 × 8 × 2 for AVX2; nil for the baseline (no FMA).
    public static func assumedFlopsPerCycle(_ level: KernelLevel) -> Double? {
        switch level {
        case .avx512: return 64
        case .avx2: return 32
        case .baseline: return nil
        }
    }
}
