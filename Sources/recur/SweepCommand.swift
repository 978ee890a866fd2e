// `recur sweep`: flags and printing; the scheduler is RecurTrain's `Sweep`, its runs child
// `recur train` processes (`ChildProcessLauncher`).

import ArgumentParser
import Foundation
import RecurTrain

struct Sweep: RecurCommand {
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
    @OptionGroup var overrides: Overrides
    @Option(help: "Runs trained at a time; the cores are split between them.") var parallel: Int = 1
    @Option(help: ArgumentHelp("The sweep directory (default: runs/<experiment name>-sweep).", valueName: "DIR")) var dir: String?

    func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be at least 1, got \(parallel)") }
    }

    func execute() throws {
        let sweep = try RecurTrain.Sweep(experiment: experiment, grid: grid, overrides: overrides.values, parallel: parallel, directory: dir) { n in
            if n > 50 { Console.error("recur: sweep: checking the experiments of \(n) runs\n") }
        }
        let lock = try sweep.open()
        defer { withExtendedLifetime(lock) {} }
        StopRequest.install(announcing: true)
        let n = sweep.combinations.count
        Console.error("recur: sweep of \(n) runs in \(sweep.shownDirectory), \(sweep.width) at a time with \(sweep.threads) thread\(sweep.threads == 1 ? "" : "s") each\n")
        let outcomes = try sweep.run(launcher: ChildProcessLauncher(), stopSignal: { StopRequest.signal }) { Console.error("recur: \($0)\n") }
        try StandardOutput.write(sweep.table(outcomes))
        if let sig = StopRequest.signal {
            Console.error("recur: sweep stopped by \(StopRequest.name(sig)); run the same command to continue it\n")
            throw ExitCode(StopRequest.exitStatus(for: sig))
        }
        if outcomes.contains(where: { $0?.status != "done" }) {
            Console.error("recur: some runs did not finish; their logs are in \(sweep.shownDirectory)/logs\n")
            throw ExitCode(1)
        }
    }
}
