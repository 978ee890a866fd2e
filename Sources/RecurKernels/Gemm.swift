// Single-precision GEMM, row-major, in Recur's own kernels (Note [Own GEMM] in CKernels.h):
// recur_small_gemm below RECUR_SMALL_GEMM_LIMIT multiply-adds, recur_sgemm above. Each call is
// single-threaded: replicas (threads) and ranks (processes) bring the parallelism.

import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether an operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
    var flag: Int32 { self == .none ? 0 : 1 }
}

public enum BLAS {
    /// RECUR_GEMM=openblas sends the products recur_sgemm takes to OpenBLAS instead, opened at
    /// first use (Note [OpenBLAS for comparisons]), for measuring one against the other in the
    /// same binary. Without libopenblas.so.0 that setting stops the process with exit status 2.
    public static let comparingWithOpenBLAS: Bool = {
        guard let v = getenv("RECUR_GEMM").map({ String(cString: $0) }), !v.isEmpty, v != "recur" else { return false }
        guard v == "openblas" else {
            fputs("recur: RECUR_GEMM=\(v) is not a GEMM Recur knows; use RECUR_GEMM=openblas (comparisons) or unset it\n", stderr)
            exit(2)
        }
        guard recur_openblas_load() != 0 else {
            fputs("recur: RECUR_GEMM=openblas needs OpenBLAS's libopenblas.so.0 (apt-get install libopenblas0), which is not installed; unset RECUR_GEMM to use Recur's own GEMMs\n", stderr)
            exit(2)
        }
        return true
    }()

    /// The OpenBLAS core switched to under RECUR_GEMM=openblas (Note [OpenBLAS kernels on
    /// unrecognised CPUs] in openblas.c), or nil.
    public static var upgradedKernels: String? {
        comparingWithOpenBLAS ? recur_openblas_upgraded_core().map { String(cString: $0) } : nil
    }

    /// Settles the GEMM choice (and, under RECUR_GEMM=openblas, opens OpenBLAS at one thread)
    /// before any replica runs. Safe to call any number of times.
    public static func useSingleThread() {
        _ = comparingWithOpenBLAS
    }

    /// C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C, all row-major.
    /// - Parameters:
    ///   - lda, ldb, ldc: row strides (elements) of A, B and C as stored.
    @inline(__always)
    public static func gemm(_ transA: Transpose, _ transB: Transpose,
                            m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float,
                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { Vec.scale(c + i * ldc, count: n, by: beta) } }
            return
        }
        if Double(m) * Double(n) * Double(k) <= Double(RECUR_SMALL_GEMM_LIMIT) {
            recur_small_gemm(transA.flag, transB.flag, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if comparingWithOpenBLAS {
            recur_openblas_sgemm(transA.flag, transB.flag, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        recur_sgemm(transA.flag, transB.flag, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}
