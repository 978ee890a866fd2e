// Which build of the C kernels this process runs (Note [Run-time dispatch] in
// Sources/CKernels/dispatch.c) and which Recur it is: both are compared across ranks at
// start-up, since another kernel level rounds differently and another build may compute
// differently. Reading only; the choice itself is made in C.

import CKernels

/// The instruction set the cell kernels, the packed GEMM and the small GEMMs run on.
public enum KernelLevel: Int, Sendable, CaseIterable {
    case baseline = 0, avx2 = 1, avx512 = 2

    /// This process's level (fixed for its lifetime; RECUR_KERNELS can only lower it).
    public static var current: KernelLevel { KernelLevel(rawValue: Int(recur_kernel_level())) ?? .baseline }

    /// The widest level the CPU and OS support, whatever RECUR_KERNELS says.
    public static var cpu: KernelLevel { KernelLevel(rawValue: Int(recur_cpu_level())) ?? .baseline }

    /// The name RECUR_KERNELS takes.
    public var name: String {
        switch self {
        case .baseline: return "baseline"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }
}

/// Recur's version: `recur --version`, checkpoint metadata and the start-up agreement.
public enum RecurVersion {
    public static let string = "0.2.0"
}
