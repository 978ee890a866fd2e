// `recur sweep`: every combination of a grid of settings, trained as ordinary runs (one child
// `recur train` each) under one sweep directory, one or N at a time with the cores split
// between them. Running the same command again continues an interrupted sweep: finished runs
// report their result at once, stopped ones resume from their checkpoints (exactly, as any
// resume), runs that never reached a checkpoint start again. sweep.csv and the printed table
// list every run sorted by its best validation loss.

import ArgumentParser
import Foundation
import RecurKernels
import RecurTrain
#if canImport(Glibc)
import Glibc
#endif

/// The environment variable a sweep sets on its runs: the sweep's pid. A run that sees it asks
/// the kernel for a signal when the sweep dies (even by SIGKILL), so it checkpoints and stops as
/// on SIGTERM (exit 143) instead of training on unwatched and holding its directory's lock.
let sweepParentVariable = "RECUR_SWEEP_PARENT"

/// In a run started by a sweep: stop (checkpointing, through StopRequest) when the sweep ends.
/// Called after StopRequest.install, which the parent-death handler extends.
func followSweepParent() {
    guard let value = ProcessInfo.processInfo.environment[sweepParentVariable], let parent = Int32(value) else { return }
    StopRequest.installParentDeathStop()
    ParentWatch.signalWhenParentDies(SIGUSR2, parent: parent)
}

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train every combination of a grid of settings as ordinary runs under one sweep directory.",
        discussion: """
        Each --grid KEY=[v1,v2,…] multiplies the runs; values are typed like --set. Run the same command \
        again to continue an interrupted sweep. Writes SWEEP_DIR/sweep.csv and prints the runs sorted by \
        best validation loss.
        """)

    @Argument(help: "Experiment file (YAML).") var experiment: String
    @Option(name: .customLong("grid"), help: ArgumentHelp("A key and its values, e.g. training.optimizer.lr=[0.01,0.003] (repeatable; replaces the file's sweep.grid).", valueName: "KEY=[V,…]"))
    var grid: [String] = []
    @Option(name: .customLong("set"), help: "Override a key in every run, typed like the file (repeatable).")
    var overrides: [String] = []
    @Option(help: "Runs trained at a time; the cores are split between them.") var parallel: Int = 1
    @Option(help: ArgumentHelp("The sweep directory (default: runs/<experiment name>-sweep).", valueName: "DIR")) var dir: String?

    /// One axis of the grid.
    struct Axis: Equatable, Codable { var key: String; var values: [String] }

    /// What a sweep directory was made for; a rerun must ask for the same.
    struct Plan: Equatable, Codable { var experiment: String; var grid: [Axis]; var overrides: [String] }

    struct Outcome {
        var status: String
        var bestLoss: Double?
        var bestStep: Int?
        var lastLoss: Double?
    }

    func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be at least 1, got \(parallel)") }
    }

    /// `KEY=[v1,v2]` or `KEY=v1,v2` (values may not contain commas).
    static func parseAxis(_ text: String) throws -> Axis {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw ValidationError("--grid \(text): write KEY=[v1,v2,…], e.g. training.optimizer.lr=[0.01,0.003]")
        }
        let key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        var list = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        if list.hasPrefix("[") && list.hasSuffix("]") { list = String(list.dropFirst().dropLast()) }
        let values = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if values.isEmpty || values.contains(where: \.isEmpty) {
            throw ValidationError("--grid \(text): give one or more values separated by commas, e.g. \(key)=[1,2]")
        }
        if Set(values).count != values.count { throw ValidationError("--grid \(text): a value is listed twice") }
        if key == "output.dir" || key == "experiment.name" {
            throw ValidationError("--grid \(key): the sweep names and places its runs itself; choose the sweep directory with --dir")
        }
        return Axis(key: key, values: values)
    }

    /// Every combination, the first axis slowest.
    static func combinations(_ axes: [Axis]) -> [[String]] {
        axes.reduce([[]]) { partial, axis in partial.flatMap { prefix in axis.values.map { prefix + [$0] } } }
    }

    /// A directory name for one combination: index, then leaf=value pairs.
    static func runName(_ index: Int, _ axes: [Axis], _ values: [String]) -> String {
        let pairs = zip(axes, values).map { axis, value in
            "\(axis.key.split(separator: ".").last!)=\(value)".map { "/\\: ".contains($0) ? "_" : $0 }
        }
        return String(format: "%02d-", index) + String(pairs.map { String($0) }.joined(separator: "-"))
    }

    func run() throws {
        do {
            try sweep()
        } catch let exit as ExitCode {
            throw exit
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }

    private func sweep() throws {
        let base = try ExperimentConfig.load(path: experiment, overrides: overrides)
        let entries = grid.isEmpty ? base.sweepGrid ?? [] : grid
        if entries.isEmpty {
            throw ValidationError("give at least one --grid KEY=[v1,v2,…], or list them under sweep.grid in \(experiment)")
        }
        let axes = try entries.map(Sweep.parseAxis)
        if let repeated = Dictionary(grouping: axes, by: \.key).first(where: { $0.value.count > 1 })?.key {
            throw ValidationError("--grid \(repeated) is given twice; list all its values in one --grid")
        }
        let combos = Sweep.combinations(axes)
        // Every run's experiment is read now, so a bad key or value stops the sweep before any run.
        for values in combos {
            _ = try ExperimentConfig.load(path: experiment, overrides: overrides + zip(axes, values).map { "\($0.key)=\($1)" })
        }
        let shown = dir ?? "runs/\(base.name)-sweep"
        let sweepDir = URL(fileURLWithPath: shown)
        try OutputPath.checkDirectory(sweepDir.path, what: "--dir")
        try FileManager.default.createDirectory(at: sweepDir.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let lock = try RunDirectoryLock(sweepDir)
        defer { withExtendedLifetime(lock) {} }
        let plan = Plan(experiment: URL(fileURLWithPath: experiment).standardizedFileURL.path, grid: axes, overrides: overrides)
        let planURL = sweepDir.appendingPathComponent("sweep.json")
        if let data = try? Data(contentsOf: planURL) {
            let stored = try? JSONDecoder().decode(Plan.self, from: data)
            guard stored == plan else {
                throw ValidationError("\(shown) holds a sweep of another experiment, grid or --set; rerun that command to continue it, or choose another --dir")
            }
        } else {
            let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(try e.encode(plan), to: planURL)
        }

        StopRequest.install(announcing: true)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let width = min(parallel, combos.count)
        let threads = max(1, cores / width)
        Console.error("recur: sweep of \(combos.count) runs in \(shown), \(width) at a time with \(threads) thread\(threads == 1 ? "" : "s") each\n")

        var outcomes = [Outcome?](repeating: nil, count: combos.count)
        let names = combos.indices.map { Sweep.runName($0, axes, combos[$0]) }
        var running: [Int: Process] = [:]
        var next = 0, finished = 0, forwarded = false
        while finished < combos.count {
            // Launch while there is room and no stop was asked for.
            while running.count < width && next < combos.count && StopRequest.signal == nil {
                let i = next; next += 1
                let process = try launch(runDirectory: sweepDir.appendingPathComponent(names[i]), name: names[i],
                                         logs: sweepDir.appendingPathComponent("logs"), axes: axes, values: combos[i], threads: threads)
                running[i] = process
            }
            if running.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.05)
            if StopRequest.signal != nil && !forwarded {
                // Pass the stop on as SIGUSR2, the runs' single-stop signal: a terminal's Ctrl-C
                // reaches them too, and a second SIGINT would end them without their checkpoint.
                for p in running.values where p.isRunning { kill(p.processIdentifier, SIGUSR2) }
                forwarded = true
            }
            for (i, p) in running where !p.isRunning {
                running[i] = nil
                finished += 1
                let outcome = Sweep.outcome(of: p, jsonLines: sweepDir.appendingPathComponent("logs/\(names[i]).jsonl"))
                outcomes[i] = outcome
                let settings = zip(axes, combos[i]).map { "\($0.key)=\($1)" }.joined(separator: " ")
                let result = outcome.bestLoss.map { String(format: "best validation loss %.6g at step %d", $0, outcome.bestStep ?? 0) } ?? outcome.status
                Console.error("recur: [\(finished)/\(combos.count)] \(settings): \(result)\n")
                try writeTable(outcomes, names: names, axes: axes, combos: combos, to: sweepDir)
            }
        }
        try writeTable(outcomes, names: names, axes: axes, combos: combos, to: sweepDir)
        print(Sweep.table(outcomes, names: names, axes: axes, combos: combos), terminator: "")
        if let sig = StopRequest.signal {
            Console.error("recur: sweep stopped by \(StopRequest.name(sig)); run the same command to continue it\n")
            throw ExitCode(StopRequest.exitStatus(for: sig))
        }
        if outcomes.contains(where: { $0?.status != "done" }) {
            Console.error("recur: some runs did not finish; their logs are in \(shown)/logs\n")
            throw ExitCode(1)
        }
    }

    /// Starts one run: a fresh `recur train`, or `--resume` where a checkpoint exists. A run
    /// directory without a complete checkpoint (the sweep died before the first) starts again.
    private func launch(runDirectory: URL, name: String, logs: URL, axes: [Axis], values: [String], threads: Int) throws -> Process {
        let fm = FileManager.default
        // A run of an earlier, killed sweep may still be writing its checkpoint: wait for its lock.
        if fm.fileExists(atPath: runDirectory.path) {
            var waited = 0.0
            while true {
                do { _ = try RunDirectoryLock(runDirectory); break } catch {
                    if waited > 120 { throw error }
                    Thread.sleep(forTimeInterval: 0.2); waited += 0.2
                }
            }
        }
        let checkpoints = runDirectory.appendingPathComponent("checkpoints")
        let resumable = fm.fileExists(atPath: checkpoints.path) && (try? Checkpoint.latest(in: checkpoints)) != nil
        if !resumable && fm.fileExists(atPath: runDirectory.path) { try fm.removeItem(at: runDirectory) }
        var arguments = resumable ? ["train", "--resume", runDirectory.path]
            : ["train", experiment] + (overrides + zip(axes, values).map { "\($0.key)=\($1)" }).flatMap { ["--set", $0] }
                + ["--set", "output.dir=\(runDirectory.path)"]
        arguments += ["--log-format", "json", "--threads", String(threads)]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[sweepParentVariable] = String(getpid())
        process.environment = environment
        let out = logs.appendingPathComponent("\(name).jsonl"), err = logs.appendingPathComponent("\(name).log")
        fm.createFile(atPath: out.path, contents: nil)
        if !fm.fileExists(atPath: err.path) { fm.createFile(atPath: err.path, contents: nil) }
        let errHandle = try FileHandle(forWritingTo: err)
        errHandle.seekToEndOfFile()
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = errHandle
        try process.run()
        return process
    }

    /// The run's result from its JSON summary event.
    static func outcome(of process: Process, jsonLines: URL) -> Outcome {
        let status = process.terminationStatus
        var outcome = Outcome(status: status == 0 ? "done" : status > 128 ? "stopped" : "failed (exit \(status))")
        let text = (try? String(contentsOf: jsonLines, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n").reversed() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["kind"] as? String == "summary" else { continue }
            outcome.bestLoss = object["best_validation_loss"] as? Double
            outcome.bestStep = (object["best_step"] as? Double).map { Int($0) }
            outcome.lastLoss = object["validation_loss"] as? Double
            break
        }
        return outcome
    }

    /// Runs ordered by best validation loss (runs without one last, in grid order).
    static func order(_ outcomes: [Outcome?]) -> [Int] {
        outcomes.indices.sorted { a, b in
            switch (outcomes[a]?.bestLoss, outcomes[b]?.bestLoss) {
            case let (x?, y?): return x != y ? x < y : a < b
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
    }

    private func writeTable(_ outcomes: [Outcome?], names: [String], axes: [Axis], combos: [[String]], to dir: URL) throws {
        var lines = [(["rank"] + axes.map(\.key) + ["best_validation_loss", "best_step", "status", "run"]).joined(separator: ",")]
        for (rank, i) in Sweep.order(outcomes).enumerated() {
            let o = outcomes[i]
            lines.append(([String(rank + 1)] + combos[i] + [o?.bestLoss.map { String($0) } ?? "", o?.bestStep.map(String.init) ?? "",
                                                           o?.status ?? "not run", names[i]]).joined(separator: ","))
        }
        try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: dir.appendingPathComponent("sweep.csv"))
    }

    static func table(_ outcomes: [Outcome?], names: [String], axes: [Axis], combos: [[String]]) -> String {
        let header = ["rank"] + axes.map(\.key) + ["best val loss", "step", "status"]
        var rows = [header]
        for (rank, i) in order(outcomes).enumerated() {
            let o = outcomes[i]
            rows.append([String(rank + 1)] + combos[i] + [o?.bestLoss.map { String(format: "%.6g", $0) } ?? "-",
                                                          o?.bestStep.map(String.init) ?? "-", o?.status ?? "not run"])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
