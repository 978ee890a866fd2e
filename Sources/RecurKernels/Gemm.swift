// Single-precision GEMM through OpenBLAS's CBLAS, row-major. OpenBLAS is held to one thread:
// replicas (threads) and ranks (processes) bring the parallelism, so a GEMM never fans out.

import CBLAS
import Glibc
import CKernels

/// Whether an operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

public enum BLAS {
    /// The OpenBLAS core switched to at first use (Note [OpenBLAS kernels on unrecognised CPUs]
    /// in CBLAS/shim.h), or nil when OpenBLAS's own choice stands. Evaluated once, thread-safely.
    public static let upgradedKernels: String? = recur_openblas_upgrade_kernels(recur_cpu_level()).map { String(cString: $0) }

    /// RECUR_GEMM=openblas sends the products recur_sgemm takes to OpenBLAS instead (Note [Own
    /// GEMM]), for measuring one against the other in the same binary.
    public static let comparingWithOpenBLAS: Bool = getenv("RECUR_GEMM").map { String(cString: $0) == "openblas" } ?? false

    /// Holds OpenBLAS to one thread (and settles its kernels first). Safe to call any number of
    /// times; call it before any GEMM.
    public static func useSingleThread() {
        _ = upgradedKernels
        openblas_set_num_threads(1)
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
        _ = upgradedKernels
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { Vec.scale(c + i * ldc, count: n, by: beta) } }
            return
        }
        if Double(m) * Double(n) * Double(k) <= Double(RECUR_SMALL_GEMM_LIMIT) {
            // Note [Small GEMMs] in CKernels.h: OpenBLAS's small-matrix kernels may allocate.
            recur_small_gemm(transA == .transposed ? 1 : 0, transB == .transposed ? 1 : 0, m, n, k, alpha,
                             a, lda, b, ldb, beta, c, ldc)
            return
        }
        if comparingWithOpenBLAS {
            cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k), alpha,
                        a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        recur_sgemm(transA == .transposed ? 1 : 0, transB == .transposed ? 1 : 0, m, n, k, alpha,
                    a, lda, b, ldb, beta, c, ldc)
    }
}
