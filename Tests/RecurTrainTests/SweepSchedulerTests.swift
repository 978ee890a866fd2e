// The sweep scheduler in-process (RecurTrain.Sweep with a fake launcher): how many runs go at a
// time, the order of results, sweep.csv, a stop passed on to the running runs, resume of runs
// that reached a checkpoint, and the grid's errors. SweepTests drives the real child processes.

import Foundation
import XCTest
@testable import RecurTrain

final class SweepSchedulerTests: XCTestCase {
    /// A run that finishes after `polls` looks, writing a summary whose best loss is `loss(run)`.
    final class FakeLauncher: SweepLauncher {
        final class Run: SweepProcess {
            let launcher: FakeLauncher
            let run: SweepRun
            var left: Int
            var stopped = false
            init(_ launcher: FakeLauncher, _ run: SweepRun, polls: Int) { self.launcher = launcher; self.run = run; left = polls }
            var isRunning: Bool {
                if left > 0 { left -= 1; if left == 0 { finish() } }
                return left > 0
            }
            var exitStatus: Int32 { stopped ? 128 + SIGUSR2 : 0 }
            func requestStop() { stopped = true; left = 1 }
            func finish() {
                launcher.running -= 1
                let summary = stopped ? "" : #"{"kind":"summary","best_validation_loss":\#(launcher.loss(run)),"best_step":\#(10 * (run.index + 1))}"#
                try? (summary + "\n").write(to: run.events, atomically: true, encoding: .utf8)
            }
        }
        var started: [SweepRun] = []
        var running = 0, mostAtOnce = 0
        let polls: Int
        let loss: (SweepRun) -> Double
        init(polls: Int = 3, loss: @escaping (SweepRun) -> Double) { self.polls = polls; self.loss = loss }
        func start(_ run: SweepRun) throws -> SweepProcess {
            started.append(run)
            running += 1
            mostAtOnce = max(mostAtOnce, running)
            return Run(self, run, polls: polls + run.index % 2)
        }
    }

    func setUpExperiment() throws -> URL {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 120).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: sine}
        data: {kind: series, path: \(dir.appendingPathComponent("s.csv").path), columns: [value], seq_len: 8}
        model: {cell: gru, hidden_size: 4}
        training: {steps: 10, batch_size: 8}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func testSchedule_AtMostWidthAtATime_EveryRunOnce_TableBestFirst() throws {
        let dir = try setUpExperiment()
        let sweep = try Sweep(experiment: dir.appendingPathComponent("e.yaml").path,
                              grid: ["model.hidden_size=[4,6,8]", "training.optimizer.lr=[0.01,0.003]"], overrides: [],
                              parallel: 2, directory: dir.appendingPathComponent("sw").path, cores: 4)
        XCTAssertEqual(sweep.combinations.count, 6)
        XCTAssertEqual(sweep.threads, 2, "4 cores over 2 runs at a time")
        let lock = try sweep.open()
        // Loss falls with the hidden size and rises with the rate: hidden 8, lr 0.003 is best.
        let launcher = FakeLauncher { run in
            let values = sweep.combinations[run.index]
            return 1.0 / Double(values[0])! + Double(values[1])!
        }
        var lines: [String] = []
        let outcomes = try sweep.run(launcher: launcher, stopSignal: { nil }, poll: 0) { lines.append($0) }
        withExtendedLifetime(lock) {}
        XCTAssertEqual(launcher.started.map(\.index), Array(0..<6), "each combination once, in grid order")
        XCTAssertEqual(launcher.mostAtOnce, 2)
        XCTAssertEqual(lines.count, 6)
        XCTAssert(lines.last!.hasPrefix("[6/6] "), lines.last!)
        XCTAssert(outcomes.allSatisfy { $0?.status == "done" })
        XCTAssertEqual(Sweep.order(outcomes).first, 5, "hidden 8, lr 0.003")
        XCTAssert(launcher.started[0].arguments.starts(with: ["train", dir.appendingPathComponent("e.yaml").path]))
        XCTAssert(launcher.started[0].arguments.contains("model.hidden_size=4") && launcher.started[0].arguments.contains("--threads"))
        let csv = try String(contentsOf: dir.appendingPathComponent("sw/sweep.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 7)
        XCTAssertEqual(csv[0], "rank,model.hidden_size,training.optimizer.lr,best_validation_loss,best_step,status,run")
        XCTAssert(csv[1].hasPrefix("1,8,0.003,") && csv[1].hasSuffix(",done,05-hidden_size=8-lr=0.003"), String(csv[1]))
        let table = sweep.table(outcomes).split(separator: "\n")
        XCTAssertEqual(table.count, 7)
        XCTAssertEqual(table[1].split(separator: " ").map(String.init), ["1", "8", "0.003", "0.128", "60", "done"])
    }

    func testStop_PassedToRunningRuns_NoMoreStarted() throws {
        let dir = try setUpExperiment()
        let sweep = try Sweep(experiment: dir.appendingPathComponent("e.yaml").path, grid: ["model.hidden_size=[4,5,6,7]"],
                              overrides: [], parallel: 2, directory: dir.appendingPathComponent("sw").path, cores: 2)
        let lock = try sweep.open()
        let launcher = FakeLauncher(polls: 50) { _ in 1 }
        var looks = 0
        let outcomes = try sweep.run(launcher: launcher, stopSignal: { looks += 1; return looks > 3 ? SIGINT : nil }, poll: 0) { _ in }
        withExtendedLifetime(lock) {}
        XCTAssertEqual(launcher.started.count, 2, "a stop starts no further run")
        XCTAssertEqual(outcomes.compactMap { $0?.status }, ["stopped", "stopped"])
        XCTAssertNil(outcomes[2]); XCTAssertNil(outcomes[3])
        let csv = try String(contentsOf: dir.appendingPathComponent("sw/sweep.csv"), encoding: .utf8)
        XCTAssert(csv.contains(",not run,02-hidden_size=6"), csv)
    }

    func testRerun_ARunWithACheckpointResumes_OneWithoutStartsAgain() throws {
        let dir = try setUpExperiment()
        let sweep = try Sweep(experiment: dir.appendingPathComponent("e.yaml").path, grid: ["model.hidden_size=[4,5]"],
                              overrides: ["training.steps=12"], parallel: 1, directory: dir.appendingPathComponent("sw").path)
        // Run 0 reached a checkpoint; run 1's directory holds none (the sweep died before one).
        let run0 = sweep.directory.appendingPathComponent(sweep.names[0])
        let net = try RecurrentNetwork(ModelConfig(cell: .gru, hiddenSize: 4, input: .features, featureCount: 1, outputSize: 1))
        try Checkpoint(model: ModelCheckpoint(config: net.config, layout: net.layout, parameters: [Float](repeating: 0, count: net.parameterCount)),
                       state: TrainingState()).write(to: run0.appendingPathComponent("checkpoints/step-000004"))
        let run1 = sweep.directory.appendingPathComponent(sweep.names[1])
        try FileManager.default.createDirectory(at: run1.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        XCTAssertEqual(try sweep.run(0).arguments.prefix(3), ["train", "--resume", run0.path])
        let fresh = try sweep.run(1)
        XCTAssertEqual(fresh.arguments[1], sweep.experiment)
        XCTAssert(fresh.arguments.contains("training.steps=12") && fresh.arguments.contains("output.dir=\(run1.path)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: run1.path), "a run without a checkpoint starts again from nothing")
    }

    func testGrid_Errors_NameTheEntryAndTheFix() throws {
        let dir = try setUpExperiment()
        func refused(_ grid: [String], parallel: Int = 1, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Sweep(experiment: dir.appendingPathComponent("e.yaml").path, grid: grid, overrides: [],
                                           parallel: parallel, directory: nil), file: file, line: line) { error in
                XCTAssert(error is UserInputError, "\(error)", file: file, line: line)
                XCTAssert("\(error)".contains(fragment), "\(error)", file: file, line: line)
            }
        }
        refused([], "give at least one --grid")
        refused(["model.hidden_size"], "write KEY=[v1,v2,…]")
        refused(["model.hidden_size=[4,]"], "one or more values")
        refused(["model.hidden_size=[4,4]"], "listed twice")
        refused(["output.dir=[a,b]"], "choose the sweep directory with --dir")
        refused(["model.hidden_size=[4]", "model.hidden_size=[5]"], "given twice")
        refused(["model.hidden_size=[4,0]"], "model.hidden_size")
        refused(["model.hidden_size=[4]"], parallel: 0, "--parallel must be at least 1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs").path), "nothing written")
    }
}
