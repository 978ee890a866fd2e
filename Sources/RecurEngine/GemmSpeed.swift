// The machine's sgemm speed on replicas' threads, for `recur bench`'s peak: `threads`
// single-threaded GEMM loops at once on this engine module's workers, summed over ranks. Here,
// beside the worker pool, so nothing above the engine runs replicas' threads itself.

import RecurKernels
import RecurParallel

public enum GemmSpeed {
    /// Summed GFLOP/s of `threads` concurrent single-threaded [m, k] × [k, n] sgemm loops of about
    /// `seconds` on every rank of `comm`. Collective.
    public static func measure(m: Int, n: Int, k: Int, threads: Int, comm: Communicator, seconds: Double) -> Double {
        BLAS.useSingleThread()
        var speeds = [Double](repeating: 0, count: threads)
        let a = (0..<threads).map { _ in FloatBuffer(count: m * k) }
        let b = (0..<threads).map { _ in FloatBuffer(count: k * n) }
        let c = (0..<threads).map { _ in FloatBuffer(count: m * n) }
        for t in 0..<threads {
            var rng = SeededRandom(seed: UInt64(t + 1))
            for i in 0..<a[t].count { a[t][i] = rng.uniform(-1, 1) }
            for i in 0..<b[t].count { b[t][i] = rng.uniform(-1, 1) }
        }
        comm.barrier()
        speeds.withUnsafeMutableBufferPointer { out in
            let out = out
            WorkerPool.run(threads) { t in
                let gemm = {
                    BLAS.gemm(.none, .none, m: m, n: n, k: k, a: a[t].base, lda: k, b: b[t].base, ldb: n,
                              beta: 0, c: c[t].base, ldc: n)
                }
                gemm()  // warm caches and OpenBLAS's buffers
                var calls = 0
                let start = MonotonicClock.seconds()
                var elapsed = 0.0
                while elapsed < seconds || calls < 3 {
                    gemm()
                    calls += 1
                    elapsed = MonotonicClock.seconds() - start
                }
                out[t] = 2 * Double(m) * Double(n) * Double(k) * Double(calls) / elapsed / 1e9
            }
        }
        var total = [speeds.reduce(0, +)]
        comm.allreduceSum(&total)
        return total[0]
    }
}
