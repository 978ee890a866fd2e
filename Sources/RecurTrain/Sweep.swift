// `recur sweep`: every combination of a grid of settings, trained as ordinary runs under one
// sweep directory, one or N at a time with the cores split between them. Running the same sweep
// again continues it: finished runs report their result at once, stopped ones resume from their
// checkpoints (exactly, as any resume), runs that never reached a checkpoint start again.
// sweep.csv and the table list every run sorted by its best validation loss. The scheduler is
// here; how a run is started is a `SweepLauncher` (a child `recur train` in the command line, a
// fake in the unit tests).

import Foundation
import RecurExperiment
import RecurKernels
import RecurStore
#if canImport(Glibc)
import Glibc
#endif

/// One axis of a sweep's grid: a key and its values, typed like `--set`.
public struct SweepAxis: Equatable, Codable, Sendable {
    public var key: String
    public var values: [String]

    /// `KEY=[v1,v2]` or `KEY=v1,v2` (values may not contain commas).
    /// - Throws: `UsageError` naming the entry and the fix.
    public init(parsing text: String) throws {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw UsageError("--grid \(text): write KEY=[v1,v2,…], e.g. training.optimizer.lr=[0.01,0.003]")
        }
        key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        var list = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        if list.hasPrefix("[") && list.hasSuffix("]") { list = String(list.dropFirst().dropLast()) }
        values = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if values.isEmpty || values.contains(where: \.isEmpty) {
            throw UsageError("--grid \(text): give one or more values separated by commas, e.g. \(key)=[1,2]")
        }
        if Set(values).count != values.count { throw UsageError("--grid \(text): a value is listed twice") }
        if key == "output.dir" || key == "experiment.name" {
            throw UsageError("--grid \(key): the sweep names and places its runs itself; choose the sweep directory with --dir")
        }
    }

    public init(key: String, values: [String]) { self.key = key; self.values = values }
}

/// How one run of a sweep ended, from its exit status and its JSON summary event.
public struct SweepOutcome: Equatable, Sendable {
    public var status: String
    public var bestLoss: Double?
    public var bestStep: Int?
    /// Forecasters: the best checkpoint's validation RMSE, MAE, MAPE, sMAPE and MASE (original
    /// units, means over the target columns), by those names.
    public var forecastMetrics: [String: Double]?

    public init(status: String, bestLoss: Double? = nil, bestStep: Int? = nil) {
        self.status = status; self.bestLoss = bestLoss; self.bestStep = bestStep
    }

    /// The outcome of a run that exited with `exitStatus` and wrote `jsonLines` (--log-format json).
    public init(exitStatus: Int32, jsonLines text: String) {
        self.init(status: exitStatus == 0 ? "done" : exitStatus > 128 ? "stopped" : "failed (exit \(exitStatus))")
        for line in text.split(separator: "\n").reversed() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["kind"] as? String == "summary" else { continue }
            bestLoss = object["best_validation_loss"] as? Double
            bestStep = (object["best_step"] as? Double).map { Int($0) }
            break
        }
    }
}

/// One run the scheduler asks a launcher to start.
public struct SweepRun: Sendable {
    public var index: Int
    public var name: String
    public var directory: URL
    /// `recur` arguments: `train EXPERIMENT --set …` for a new run, `train --resume DIR` else.
    public var arguments: [String]
    /// Where the run's JSON events and its standard error go.
    public var events: URL
    public var log: URL
}

/// A started run.
public protocol SweepProcess: AnyObject {
    var isRunning: Bool { get }
    /// The exit status, once `isRunning` is false (128 + n for signal n).
    var exitStatus: Int32 { get }
    /// Asks the run to checkpoint and stop.
    func requestStop()
}

/// Starts runs (a child process each in the command line).
public protocol SweepLauncher {
    func start(_ run: SweepRun) throws -> SweepProcess
}

/// A sweep, checked and planned: every run's experiment is read when it is made, so a bad key
/// or value stops the sweep before any run or file.
public final class Sweep {
    /// What a sweep directory was made for; a rerun must ask for the same.
    public struct Plan: Equatable, Codable { public var experiment: String; public var grid: [SweepAxis]; public var overrides: [String] }

    public let experiment: String
    public let axes: [SweepAxis]
    public let overrides: [String]
    public let directory: URL
    /// The directory as the user named it, for messages.
    public let shownDirectory: String
    /// Every combination, the first axis slowest.
    public let combinations: [[String]]
    public let names: [String]
    /// Runs at a time and threads each.
    public let width: Int
    public let threads: Int

    /// - Parameters:
    ///   - grid: `--grid` entries (the experiment's `sweep.grid` when empty).
    ///   - parallel: runs at a time; `cores` are split between them.
    /// - Throws: `UsageError`, `ConfigError`, `DataError` (user input); writes nothing.
    /// The most runs one sweep may have.
    public static let maxRuns = 10_000

    /// - Parameter checking: told how many runs there are before their experiments are read.
    public init(experiment: String, grid: [String], overrides: [String], parallel: Int, directory: String?,
                cores: Int = ProcessInfo.processInfo.activeProcessorCount, checking: (Int) -> Void = { _ in }) throws {
        guard parallel >= 1 else { throw UsageError("--parallel must be at least 1, got \(parallel)") }
        let base = try ExperimentConfig.load(path: experiment, overrides: overrides)
        let entries = grid.isEmpty ? base.sweepGrid ?? [] : grid
        if entries.isEmpty {
            throw UsageError("give at least one --grid KEY=[v1,v2,…], or list them under sweep.grid in \(experiment)")
        }
        let axes = try entries.map(SweepAxis.init(parsing:))
        if let repeated = Dictionary(grouping: axes, by: \.key).first(where: { $0.value.count > 1 })?.key {
            throw UsageError("--grid \(repeated) is given twice; list all its values in one --grid")
        }
        let count = axes.reduce(1) { n, axis in n.multipliedReportingOverflow(by: axis.values.count).overflow ? Int.max : n * axis.values.count }
        guard count <= Self.maxRuns else {
            throw UsageError("the grid makes \(count == Int.max ? "more than \(Int.max)" : String(count)) runs (\(axes.map { "\($0.values.count) \($0.key)" }.joined(separator: " × "))), more than the \(Self.maxRuns) a sweep may have; give fewer values")
        }
        checking(count)
        let combos = Self.combinations(axes)
        for values in combos {
            _ = try ExperimentConfig.load(path: experiment, overrides: overrides + zip(axes, values).map { "\($0.key)=\($1)" })
        }
        self.experiment = experiment
        self.axes = axes
        self.overrides = overrides
        shownDirectory = directory ?? "runs/\(base.name)-sweep"
        self.directory = URL(fileURLWithPath: shownDirectory)
        try OutputPath.checkDirectory(self.directory.path, what: "--dir")
        combinations = combos
        names = combos.indices.map { Self.runName($0, axes, combos[$0]) }
        width = min(parallel, combos.count)
        threads = max(1, cores / width)
    }

    /// Every combination, the first axis slowest.
    public static func combinations(_ axes: [SweepAxis]) -> [[String]] {
        axes.reduce([[]]) { partial, axis in partial.flatMap { prefix in axis.values.map { prefix + [$0] } } }
    }

    /// A directory name for one combination: index, then leaf=value pairs.
    public static func runName(_ index: Int, _ axes: [SweepAxis], _ values: [String]) -> String {
        let pairs = zip(axes, values).map { axis, value in
            "\(axis.key.split(separator: ".").last!)=\(value)".map { "/\\: ".contains($0) ? "_" : $0 }
        }
        return String(format: "%02d-", index) + String(pairs.map { String($0) }.joined(separator: "-"))
    }

    /// Takes the sweep directory (its lock and sweep.json); a directory made for another sweep is refused.
    /// - Throws: `UsageError` for another sweep's directory, `RunOutputError` when it is locked.
    public func open() throws -> RunDirectoryLock {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let lock = try RunDirectoryLock(directory)
        let plan = Plan(experiment: URL(fileURLWithPath: experiment).standardizedFileURL.path, grid: axes, overrides: overrides)
        let planURL = directory.appendingPathComponent("sweep.json")
        if let data = try? Data(contentsOf: planURL) {
            guard (try? JSONDecoder().decode(Plan.self, from: data)) == plan else {
                throw UsageError("\(shownDirectory) holds a sweep of another experiment, grid or --set; rerun that command to continue it, or choose another --dir")
            }
        } else {
            let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeAtomically(try e.encode(plan), to: planURL)
        }
        return lock
    }

    /// The run of combination `i`: resumed where its directory holds a complete checkpoint,
    /// started anew otherwise (a directory without one is removed: the sweep died before it).
    public func run(_ i: Int) throws -> SweepRun {
        let fm = FileManager.default
        let runDirectory = directory.appendingPathComponent(names[i])
        let checkpoints = runDirectory.appendingPathComponent("checkpoints")
        let resumable = fm.fileExists(atPath: checkpoints.path) && (try? Checkpoint.latest(in: checkpoints)) != nil
        if !resumable && fm.fileExists(atPath: runDirectory.path) { try fm.removeItem(at: runDirectory) }
        var arguments = resumable ? ["train", "--resume", runDirectory.path]
            : ["train", experiment] + (overrides + zip(axes, combinations[i]).map { "\($0.key)=\($1)" }).flatMap { ["--set", $0] }
                + ["--set", "output.dir=\(runDirectory.path)"]
        arguments += ["--log-format", "json", "--threads", String(threads)]
        let logs = directory.appendingPathComponent("logs")
        return SweepRun(index: i, name: names[i], directory: runDirectory, arguments: arguments,
                        events: logs.appendingPathComponent("\(names[i]).jsonl"), log: logs.appendingPathComponent("\(names[i]).log"))
    }

    /// Runs every combination, `width` at a time, until all have ended or `stopSignal` returns a
    /// signal (then the running ones are asked to stop and waited for).
    /// - Parameters:
    ///   - progress: one line per finished run ("[3/8] lr=0.01: best validation loss …").
    ///   - poll: seconds between looks at the running processes.
    /// - Returns: each combination's outcome (nil: not run).
    public func run(launcher: SweepLauncher, stopSignal: () -> Int32?, poll: Double = 0.05,
                    progress: (String) -> Void) throws -> [SweepOutcome?] {
        var outcomes = [SweepOutcome?](repeating: nil, count: combinations.count)
        var running: [Int: (run: SweepRun, process: SweepProcess)] = [:]
        var next = 0, finished = 0, forwarded = false
        while finished < combinations.count {
            while running.count < width && next < combinations.count && stopSignal() == nil {
                // run(_:) decides resume or restart (removing a directory without a checkpoint): once, here.
                let r = try run(next)
                running[next] = (r, try launcher.start(r))
                next += 1
            }
            if running.isEmpty { break }
            if poll > 0 { Thread.sleep(forTimeInterval: poll) }
            if stopSignal() != nil && !forwarded {
                for p in running.values.map(\.process) where p.isRunning { p.requestStop() }
                forwarded = true
            }
            for (i, entry) in running.sorted(by: { $0.key < $1.key }) where !entry.process.isRunning {
                running[i] = nil
                finished += 1
                let events = (try? String(contentsOf: entry.run.events, encoding: .utf8)) ?? ""
                var outcome = SweepOutcome(exitStatus: entry.process.exitStatus, jsonLines: events)
                if outcome.status == "done" { outcome.forecastMetrics = Self.forecastMetrics(ofRun: entry.run.directory) }
                outcomes[i] = outcome
                let settings = zip(axes, combinations[i]).map { "\($0.key)=\($1)" }.joined(separator: " ")
                let result = outcome.bestLoss.map { String(format: "best validation loss %.6g at step %d", $0, outcome.bestStep ?? 0) } ?? outcome.status
                progress("[\(finished)/\(combinations.count)] \(settings): \(result)")
                try writeTable(outcomes)
            }
        }
        try writeTable(outcomes)
        return outcomes
    }

    /// The forecast metrics' names, in the table's order.
    public static let forecastMetricNames = ["rmse", "mae", "mape", "smape", "mase"]

    /// A finished forecaster's best checkpoint on its validation split (nil for other models, or
    /// when the run left no readable checkpoint).
    static func forecastMetrics(ofRun directory: URL) -> [String: Double]? {
        guard let model = try? TrainedModel.locate(directory.path), model.experiment.data.kind == .series,
              let r = try? model.evaluate(.validation, threads: 1), let columns = r.columns, !columns.isEmpty else { return nil }
        func mean(_ m: [String: Double]?) -> Double { (m.map { d in columns.map { d[$0] ?? .nan }.reduce(0, +) } ?? .nan) / Double(columns.count) }
        return ["rmse": mean(r.rmse), "mae": mean(r.mae), "mape": mean(r.mape), "smape": mean(r.smape), "mase": mean(r.mase)]
    }

    /// Whether any outcome has forecast metrics (the table then shows them).
    static func hasForecastMetrics(_ outcomes: [SweepOutcome?]) -> Bool { outcomes.contains { $0?.forecastMetrics != nil } }

    /// Runs ordered by best validation loss (runs without one last, in grid order).
    public static func order(_ outcomes: [SweepOutcome?]) -> [Int] {
        outcomes.indices.sorted { a, b in
            switch (outcomes[a]?.bestLoss, outcomes[b]?.bestLoss) {
            case let (x?, y?): return x != y ? x < y : a < b
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
    }

    /// sweep.csv: every run, best first.
    public func writeTable(_ outcomes: [SweepOutcome?]) throws {
        let forecast = Self.hasForecastMetrics(outcomes)
        var lines = [(["rank"] + axes.map(\.key) + ["best_validation_loss", "best_step", "status", "run"]
                      + (forecast ? Self.forecastMetricNames : [])).joined(separator: ",")]
        for (rank, i) in Self.order(outcomes).enumerated() {
            let o = outcomes[i]
            let loss: String = o?.bestLoss.map { String($0) } ?? ""
            let step: String = o?.bestStep.map { String($0) } ?? ""
            var cells: [String] = [String(rank + 1)] + combinations[i] + [loss, step, o?.status ?? "not run", names[i]]
            if forecast { cells += Self.forecastMetricNames.map { name in o?.forecastMetrics?[name].map { String($0) } ?? "" } }
            lines.append(cells.joined(separator: ","))
        }
        try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: directory.appendingPathComponent("sweep.csv"))
    }

    /// The table `recur sweep` prints: every run, best first.
    public func table(_ outcomes: [SweepOutcome?]) -> String {
        let forecast = Self.hasForecastMetrics(outcomes)
        let header = ["rank"] + axes.map(\.key) + ["best val loss", "step", "status"] + (forecast ? ["val MASE", "sMAPE %"] : [])
        var rows = [header]
        for (rank, i) in Self.order(outcomes).enumerated() {
            let o = outcomes[i]
            let loss: String = o?.bestLoss.map { String(format: "%.6g", $0) } ?? "-"
            let step: String = o?.bestStep.map { String($0) } ?? "-"
            var row: [String] = [String(rank + 1)] + combinations[i] + [loss, step, o?.status ?? "not run"]
            if forecast {
                row += ["mase", "smape"].map { name in o?.forecastMetrics?[name].map { String(format: name == "mase" ? "%.4f" : "%.2f", $0) } ?? "-" }
            }
            rows.append(row)
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}

// MARK: - Runs as child processes

/// The environment variable a sweep sets on its runs: the sweep's pid. A run that sees it asks
/// the kernel for a signal when the sweep dies (even by SIGKILL), so it checkpoints and stops as
/// on SIGTERM (exit 143) instead of training on unwatched and holding its directory's lock.
let sweepParentVariable = "RECUR_SWEEP_PARENT"

extension StopRequest {
    /// In a run started by a sweep: stop (checkpointing) when the sweep ends. Call after `install`.
    public static func followSweepParent() {
        guard let value = ProcessInfo.processInfo.environment[sweepParentVariable], let parent = Int32(value) else { return }
        installParentDeathStop()
        ParentWatch.signalWhenParentDies(SIGUSR2, parent: parent)
    }
}

/// Starts each run as a child `recur train` of this executable, its JSON events and standard
/// error to the sweep's logs/.
public struct ChildProcessLauncher: SweepLauncher {
    public init() {}

    final class Child: SweepProcess {
        let process: Process
        init(_ process: Process) { self.process = process }
        var isRunning: Bool { process.isRunning }
        var exitStatus: Int32 { process.terminationStatus }
        // SIGUSR2 is the runs' single-stop signal: a terminal's Ctrl-C reaches them too, and a
        // second SIGINT would end them without their checkpoint.
        func requestStop() { kill(process.processIdentifier, SIGUSR2) }
    }

    public func start(_ run: SweepRun) throws -> SweepProcess {
        let fm = FileManager.default
        // A run of an earlier, killed sweep may still be writing its checkpoint: wait for its lock.
        if fm.fileExists(atPath: run.directory.path) {
            var waited = 0.0
            while true {
                do { _ = try RunDirectoryLock(run.directory); break } catch {
                    if waited > 120 { throw error }
                    Thread.sleep(forTimeInterval: 0.2); waited += 0.2
                }
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = run.arguments
        var environment = ProcessInfo.processInfo.environment
        environment[sweepParentVariable] = String(getpid())
        process.environment = environment
        guard fm.createFile(atPath: run.events.path, contents: nil) else {
            throw FileError.system("cannot create the run's event log", path: run.events.path)
        }
        if !fm.fileExists(atPath: run.log.path) && !fm.createFile(atPath: run.log.path, contents: nil) {
            throw FileError.system("cannot create the run's log", path: run.log.path)
        }
        let errHandle = try FileHandle(forWritingTo: run.log)
        errHandle.seekToEndOfFile()
        process.standardOutput = try FileHandle(forWritingTo: run.events)
        process.standardError = errHandle
        try process.run()
        return Child(process)
    }
}
