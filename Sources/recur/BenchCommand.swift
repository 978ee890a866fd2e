// `recur bench`: times full training steps of fixed synthetic workloads and prints, on rank 0,
// a table or one JSON document. The workloads, the FMA peak and the timing are in
// RecurTrain/Benchmark.swift; this file parses flags, counts allocations (the executable's own
// malloc counter, CAllocationCounter) and prints.

import ArgumentParser
import CAllocationCounter
import Foundation
import RecurTrain

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time full training steps on fixed synthetic workloads.",
        discussion: """
            Workloads: \(BenchWorkload.all.map(\.name).joined(separator: ", ")) (default: all but the tiny ones, which are for tests).

            Each runs forward, backward, thread reduction, allreduce, clipping at norm 5 and Adam \
            on one fixed random batch; under mpirun the batch is global and rank 0 prints. \
            GFLOP/s count 2·M·N·K per GEMM of forward and backward (docs/benchmarks.md has the \
            formula) and are compared with the cores' FMA peak, measured first on the same \
            threads × processes by register-only multiply-add loops at the kernel level Recur \
            runs (so %peak is at most 100, whatever BLAS kernel the machine is told to use).
            """)

    @Argument(help: "Workloads to run (default: all but the tiny ones, which are for tests).")
    var workloads: [String] = []

    @Option(help: "Replicas (threads) per process.")
    var threads: Int = 1

    @Option(help: "Timed steps per workload (the median is reported).")
    var steps: Int = 10

    @Option(help: "Untimed steps before timing.")
    var warmup: Int = 2

    @Option(help: ArgumentHelp("Global batch (windows per synchronized step) instead of the workload's own.",
                               discussion: "For scaling runs, e.g. mpirun -np 16 recur bench char-lstm --batch 256."))
    var batch: Int?

    @Option(help: ArgumentHelp("Layout-invariant steps over S micro-shards (parallel.deterministic).", valueName: "S"))
    var microShards: Int?

    @Flag(inversion: .prefixedNo,
          help: "Exchange gradients while backward runs (parallel.overlap); with it, allred% is the exposed part and wait% is in it.")
    var overlap = true

    @Flag(help: "Print one JSON document instead of a table.")
    var json = false

    @Flag(help: "List the workloads (with --json: their settings, which launch/bench-compare reads) and exit.")
    var list = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if threads > Threads.most { throw ValidationError("--threads must be at most \(Threads.most), got \(threads)") }
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if steps > 100_000 { throw ValidationError("--steps must be at most 100000 (the median is reported), got \(steps)") }
        if warmup < 0 || warmup > 100_000 { throw ValidationError("--warmup must be 0 to 100000, got \(warmup)") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let batch, batch > 1 << 24 { throw ValidationError("--batch must be at most \(1 << 24), got \(batch)") }
        if let microShards, microShards < 1 || microShards > 4096 { throw ValidationError("--micro-shards must be 1 to 4096, got \(microShards)") }
        for name in workloads where BenchWorkload.named(name) == nil {
            throw ValidationError("unknown workload '\(name)'; choose from \(BenchWorkload.all.map(\.name).joined(separator: ", "))")
        }
    }

    /// One workload as `--list --json` prints it: its settings and whether it runs when none is named.
    struct ListedWorkload: Encodable {
        var workload: BenchWorkload
        var standard: Bool
        private enum Keys: String, CodingKey { case standard }
        func encode(to encoder: Encoder) throws {
            try workload.encode(to: encoder)
            var keyed = encoder.container(keyedBy: Keys.self)
            try keyed.encode(standard, forKey: .standard)
        }
    }

    /// Everything one run measured, as `--json` prints it.
    struct Report: Codable {
        var threads: Int
        var processes: Int
        var fmaPeak: FMAPeak
        /// Who ran the GEMMs: "recur" (Note [Own GEMM]), or "openblas" under RECUR_GEMM=openblas.
        var gemm: String
        var results: [BenchResult]
    }


    func run() throws {
        if list {
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.sortedKeys]
                let listed = BenchWorkload.all.map { ListedWorkload(workload: $0, standard: BenchWorkload.standard.contains($0)) }
                Console.out(String(decoding: try encoder.encode(listed), as: UTF8.self) + "\n")
            } else {
                for w in BenchWorkload.all { Console.out("\(w.name)\n") }
            }
            return
        }
        let job = Job()
        defer { job.finish() }
        let root = job.isRoot
        var chosen = workloads.isEmpty ? BenchWorkload.standard : workloads.map { BenchWorkload.named($0)! }
        if let batch { for i in chosen.indices { chosen[i].batchSize = batch } }
        let counter: (() -> UInt64)? = recur_allocation_counting_available() != 0 ? { recur_allocation_count() } : nil
        // Every rank must run the same benchmark (threads may differ per node).
        let invocation = ["workloads: \(chosen.map(\.name).joined(separator: ", "))", "--steps: \(steps)", "--warmup: \(warmup)",
                          "--batch: \(batch.map(String.init) ?? "each workload's own")", "--micro-shards: \(microShards.map(String.init) ?? "off")",
                          "--overlap: \(overlap)"]
        let peak: FMAPeak
        do {
            peak = try Benchmark.prepare(job: job, threads: threads, invocation: invocation)
        } catch {
            if root { Console.error("recur: error: \(error)\n") }
            throw ExitCode(2)
        }
        if root && !json {
            var clock = ""
            if let ghz = peak.impliedGigahertz, let bits = peak.fmaUnitBits {
                clock = String(format: ", %.2f GHz at 2 FMA units of %d bits", ghz, bits)
                if bits == 256 && peak.peakLevel == "avx512" { clock += ", which run a 512-bit FMA as two halves" }
            }
            Console.out(String(format: "FMA peak: %.1f GFLOP/s (%@: %@; %d concurrent, %.1f GFLOP/s each%@); Recur's kernels: %@; GEMMs: %@\n",
                               peak.gflops, peak.peakLevel, peak.measuredWith, peak.concurrent, peak.gflopsPerThread, clock, peak.kernels,
                               Benchmark.gemmWords))
            Console.out("workload    threads procs   step ms    seq/s     tok/s  GFLOP/s  %peak  reduce%  allred%   wait%  allocs/step  peak MiB\n")
        }
        var results: [BenchResult] = []
        for w in chosen {
            let r: BenchResult
            do {
                r = try Benchmark.run(w, threads: threads, steps: steps, warmup: warmup, job: job, peak: peak,
                                      allocationCount: counter, microShards: microShards, overlap: overlap)
            } catch {
                if root { Console.error("recur: error: \(error)\n") }
                throw ExitCode(2)
            }
            results.append(r)
            if root && !json {
                let allocs = r.allocationsPerStep.map { String(format: "%.1f", $0) } ?? "n/a"
                Console.out(String(format: "%@ %7d %5d %9.2f %8.1f %9.0f %8.1f %6.1f %8.2f %8.2f %7.2f %@ %9.1f\n",
                                   w.name.padding(toLength: 11, withPad: " ", startingAt: 0) as NSString, r.threads, r.processes, r.stepSeconds * 1000, r.sequencesPerSecond,
                                   r.tokensPerSecond, r.gflops, r.percentOfFMAPeak, 100 * r.threadReductionShare,
                                   100 * r.allreduceShare, 100 * r.rankWaitShare, String(repeating: " ", count: max(0, 12 - allocs.count)) + allocs as NSString, r.peakResidentMebibytes))
            }
        }
        if root && json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(Report(threads: threads, processes: job.size, fmaPeak: peak,
                                                gemm: Benchmark.gemm, results: results))
            Console.out(String(decoding: data, as: UTF8.self) + "\n")
        }
    }
}
