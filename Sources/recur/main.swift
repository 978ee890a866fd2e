// The `recur` command line: train, config validate/show. Parsing and exit codes live here;
// the work is in RecurTrain. Exit status 2 means the user's input (file, config, flag) was
// wrong and nothing was written; 1 means the run failed after it started.

import ArgumentParser
import Foundation
import RecurData
import RecurKernels
import RecurModel
import RecurOptim
import RecurParallel
import RecurTrain

@main
struct Recur: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recur",
        abstract: "Train recurrent networks (Elman RNN, GRU, LSTM) on CPUs, data-parallel over threads and MPI processes.",
        subcommands: [Train.self, Config.self])
}

/// Prints `error` as one message and exits 2 (user input) — on every rank, without MPI_Abort
/// when all ranks see the same input, which they do for config and data errors.
func failInput(_ error: Error) -> Never {
    Console.error("recur: error: \(error)\n")
    exit(2)
}

func isUserInputError(_ error: Error) -> Bool {
    error is ConfigError || error is DataError || error is ModelConfigError || error is OptimError || error is ValidationError
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the experiment described by CONFIG.")

    @Argument(help: "Experiment file (YAML).")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config key, typed like the file: --set training.optimizer.lr=0.003 (repeatable).")
    var overrides: [String] = []

    @Option(help: "Replicas (threads) per process; default: cores / ranks on this node.")
    var threads: Int?

    @Flag(help: "Print only errors and the final summary.")
    var quiet = false

    @Option(help: ArgumentHelp("Write the final parameters (raw little-endian float32, layout order) to FILE.", visibility: .hidden))
    var parametersOut: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        let comm = makeCommunicator()
        let experiment: ExperimentConfig
        let dataset: any WindowedDataset
        let trainer: Trainer
        let run: TrainingRun
        do {
            experiment = try ExperimentConfig.load(path: config, overrides: overrides)
            dataset = try experiment.loadDataset(configPath: config)
            let k = threads ?? experiment.parallel.threads ?? defaultThreads(comm)
            if comm.size * k > experiment.training.batchSize {
                throw ConfigError(file: config, line: nil, key: "training.batch_size",
                                  message: "\(experiment.training.batchSize) windows cannot feed \(comm.size) process(es) × \(k) thread(s); raise the batch size or use fewer replicas")
            }
            trainer = try Trainer(config: experiment, dataset: dataset, comm: comm, threads: k)
            run = try TrainingRun(trainer: trainer)
            try StartupAgreement.check(StartupAgreement.items(config: experiment, layoutFingerprint: trainer.network.layout.fingerprint,
                                                              dataset: dataset), comm: comm)
        } catch let error as AgreementError {
            // Every rank reached the same verdict; rank 0 says it once and all end together.
            if comm.rank == 0 { Console.error("recur: error: \(error)\n") }
            if let mpi = comm as? MPICommunicator { mpi.finalize() }
            throw ExitCode(2)
        } catch {
            if isUserInputError(error) { failInput(error) }
            throw error
        }
        let root = comm.rank == 0
        let started = Date()
        if root && !quiet {
            let m = trainer.network.config
            Console.out("recur: \(experiment.name): \(m.cell.rawValue) \(m.hiddenSize)×\(m.layers), \(trainer.network.parameterCount) parameters; \(dataset.windowCount(.train)) training windows, \(run.totalSteps) steps; \(comm.size) process(es) × \(trainer.threads) thread(s)\n")
        }
        run.onEvent = { e in
            guard root, !quiet else { return }
            switch e.kind {
            case .train:
                Console.out(String(format: "step %5d/%d  epoch %3d  loss %.5f  lr %.2e  |g| %.3f  %.0f seq/s\n",
                                   e.step, e.totalSteps, e.epoch, e.loss, e.learningRate, e.gradientNorm, e.windowsPerSecond))
            case .validation:
                var line = String(format: "step %5d/%d  epoch %3d  validation loss %.5f", e.step, e.totalSteps, e.epoch, e.loss)
                if let a = e.accuracy { line += String(format: "  accuracy %.4f", a) }
                if let b = e.baseline { line += String(format: "  (previous-value baseline %.5f)", b) }
                Console.out(line + "\n")
            }
        }
        do {
            try run.run()
        } catch {
            Console.error("recur: rank \(comm.rank): \(error)\n")
            if comm.size > 1 { comm.abort(code: 1) }
            throw ExitCode(1)
        }
        if root {
            var summary = String(format: "recur: done in %.1f s", Date().timeIntervalSince(started))
            if let v = run.lastValidation { summary += String(format: "; validation loss %.5f", v.loss) }
            if let b = trainer.persistenceBaseline(.validation) { summary += String(format: " vs previous-value baseline %.5f", b) }
            Console.out(summary + "\n")
        }
        if root, let parametersOut {
            let data = Data(bytes: trainer.parameters.base, count: trainer.parameters.count * MemoryLayout<Float>.size)
            try data.write(to: URL(fileURLWithPath: parametersOut), options: .atomic)
        }
        if let mpi = comm as? MPICommunicator { mpi.finalize() }
    }
}

func defaultThreads(_ comm: Communicator) -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize))
}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check or print an experiment file.",
                                                    subcommands: [Validate.self, Show.self])

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check an experiment file; exit 2 with file:line: key: problem when it is wrong.")
        @Argument(help: "Experiment file (YAML).") var file: String
        @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
        @Option(help: "Also check that the global batch can feed this many processes…") var ranks: Int?
        @Option(help: "…each with this many threads.") var threads: Int?
        func run() throws {
            do {
                let c = try ExperimentConfig.load(path: file, overrides: overrides)
                if let ranks {
                    let k = threads ?? c.parallel.threads ?? 1
                    if ranks * k > c.training.batchSize {
                        throw ConfigError(file: file, line: nil, key: "training.batch_size",
                                          message: "\(c.training.batchSize) windows cannot feed \(ranks) process(es) × \(k) thread(s); raise the batch size or use fewer replicas")
                    }
                }
            } catch { failInput(error) }
            print("\(file): ok")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the resolved experiment, defaults filled in.")
        @Argument(help: "Experiment file (YAML).") var file: String
        @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
        func run() throws {
            do {
                let c = try ExperimentConfig.load(path: file, overrides: overrides)
                print(try c.yaml())
            } catch { failInput(error) }
        }
    }
}
