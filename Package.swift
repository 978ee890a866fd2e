// swift-tools-version:6.0
// Recur: data-parallel training of recurrent networks (Elman RNN, GRU, LSTM) on CPUs.
// See docs/ARCHITECTURE.md for how the targets fit together.
import PackageDescription

// Note [Checked builds]: release builds keep Swift's checks (preconditions, bounds and
// overflow traps) in every module. -Ounchecked measured no gain here (Intel Xeon AVX-512,
// 3 alternating rounds, median step: char-lstm 270 vs 273 ms, ts-lstm 1.94 vs 1.92 ms,
// ts-gru 1.49 vs 1.53 ms), since the step's arithmetic runs in CKernels.
//
// Note [No unsafe flags]: the manifest sets no compiler flag of its own, so a package can depend
// on Recur by version (SwiftPM refuses unsafeFlags in such dependencies). Release builds get
// whole-module optimisation and -O2 for C by default — the flags Recur once spelled out, so the
// release binary is built with the same commands as before. Debug builds compile C at -O0; so that
// the tests (a debug build) run the vectorised kernels that ship, launch/setup and launch/test set
// RECUR_DEVELOPMENT=1, which adds -O2 for CKernels in debug builds of this package alone.
let development = Context.environment["RECUR_DEVELOPMENT"] != nil
let kernelFlags: [CSetting] = development ? [.unsafeFlags(["-O2"], .when(configuration: .debug))] : []

let package = Package(
    name: "Recur",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "recur", targets: ["recur"]),
        .library(name: "RecurTrain", targets: ["RecurTrain"]),
        .library(name: "RecurEngine", targets: ["RecurEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: System-library shims
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Inflate for NumPy .npz archives written by np.savez_compressed (RecurData only).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Replaces glibc's malloc family in the `recur` executable only, to count allocations.
        .target(name: "CAllocationCounter"),
        // Per-step cell kernels and the packed recurrent GEMM, compiled per instruction set and
        // dispatched at run time (Note [Run-time dispatch] in Sources/CKernels/dispatch.c).
        // Optimised in debug builds too when developing Recur (Note [No unsafe flags]).
        .target(name: "CKernels", cSettings: kernelFlags),

        // MARK: Library modules
        .target(name: "RecurKernels", dependencies: ["CKernels"]),
        // Data files below the readers: the data error, file access, UTF-8 checks, NumPy arrays and archives.
        .target(name: "RecurFiles", dependencies: ["RecurKernels", "CZlib"]),
        .target(name: "RecurData", dependencies: ["RecurKernels", "RecurFiles"]),
        // Which windows go where: batch plans, epoch orders, shards, work-balanced parts.
        .target(name: "RecurPlan", dependencies: ["RecurKernels", "RecurData"]),
        .target(name: "RecurModel", dependencies: ["RecurKernels", "CKernels"]),
        .target(name: "RecurOptim", dependencies: ["RecurKernels"]),
        .target(name: "RecurParallel", dependencies: ["CMPI", "CKernels", "RecurKernels"]),
        // The synchronized step: replicas, worker pool, thread sum, allreduce, clip, update,
        // and the start-up agreement (docs/ARCHITECTURE.md, "Modules and what they may import").
        .target(name: "RecurEngine",
                dependencies: ["RecurKernels", "RecurData", "RecurPlan", "RecurModel", "RecurOptim", "RecurParallel", "CKernels"]),
        // The product layer, by concern (docs/ARCHITECTURE.md, "Modules and what they may import").
        // Files on disk: safetensors, checkpoints, atomic writes, CRC-32C, run-directory paths, FileError.
        .target(name: "RecurStore", dependencies: ["RecurKernels", "RecurModel", "RecurOptim"]),
        // The experiment: the schema (every key once), the config, YAML, data sets from it.
        .target(name: "RecurExperiment",
                dependencies: ["RecurKernels", "RecurData", "RecurModel", "RecurOptim", "RecurEngine",
                               .product(name: "Yams", package: "Yams")]),
        // What a run shows and records: metrics.jsonl, TensorBoard events, progress, SVG plots.
        .target(name: "RecurReport", dependencies: ["RecurKernels", "RecurStore"]),
        // Using a trained model: evaluate, predict, sample, forecast (over RecurEngine's API).
        .target(name: "RecurInference",
                dependencies: ["RecurKernels", "RecurData", "RecurPlan", "RecurModel", "RecurParallel", "RecurEngine",
                               "RecurStore", "RecurExperiment", "RecurReport"]),
        // The top module: session, run loop, sweep scheduling, bench; re-exports the product layer.
        .target(name: "RecurTrain",
                dependencies: ["RecurKernels", "RecurData", "RecurPlan", "RecurModel", "RecurOptim", "RecurParallel", "RecurEngine",
                               "RecurStore", "RecurExperiment", "RecurReport", "RecurInference"]),

        // MARK: Command-line tool
        .executableTarget(name: "recur",
                          dependencies: ["RecurTrain", "CAllocationCounter", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Tests
        .testTarget(name: "RecurKernelsTests", dependencies: ["RecurKernels"]),
        .testTarget(name: "RecurDataTests", dependencies: ["RecurData", "RecurFiles", "RecurPlan", "RecurKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurModelTests", dependencies: ["RecurModel", "RecurKernels", "CKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurOptimTests", dependencies: ["RecurOptim"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RecurParallelTests", dependencies: ["RecurParallel", "RecurKernels"]),
        .testTarget(name: "RecurEngineTests", dependencies: ["RecurEngine", "RecurParallel", "RecurData", "RecurPlan", "RecurModel", "RecurOptim", "RecurKernels"]),
        .testTarget(name: "RecurTrainTests", dependencies: ["RecurTrain", "RecurEngine", "RecurExperiment", "RecurInference", "RecurReport", "RecurStore", "RecurParallel", "RecurPlan"]),
    ],
    // Swift 6 tools; the language mode stays 5 because replicas share raw pointers across
    // Dispatch threads by design (ARCHITECTURE.md §5), which strict checking cannot express.
    swiftLanguageModes: [.v5]
)
