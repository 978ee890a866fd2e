// The `recur` command line: train, config validate/show. Parsing and exit codes live here;
// the work is in RecurTrain. Exit status 2 means the user's input (file, config, flag) was
// wrong and nothing was written; 1 means the run failed after it started.

import ArgumentParser
import Foundation
import RecurData
import RecurEngine
import RecurKernels
import RecurModel
import RecurOptim
import RecurParallel
import RecurTrain

@main
struct Recur: ParsableCommand {
    /// ArgumentParser exits 64 for a bad flag; Recur's contract is exit status 2 for anything
    /// the user can get wrong, so parsing and validation errors are mapped here.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code.rawValue == 64 {
                Console.error("recur: error: \(message(for: error)) (see recur --help)\n")
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "recur",
        abstract: "Train recurrent networks (Elman RNN, GRU, LSTM) on CPUs, data-parallel over threads and MPI processes.",
        version: "recur \(RecurVersion.string)",
        subcommands: [Train.self, Eval.self, Predict.self, Sweep.self, Sample.self, Forecast.self, Plot.self, Metrics.self, Config.self, Bench.self])
}

/// Prints `error` as one message and exits 2 (user input) — on every rank, without MPI_Abort
/// when all ranks see the same input, which they do for config and data errors.
func failInput(_ error: Error) -> Never {
    Console.error("recur: error: \(error)\n")
    exit(2)
}

func isUserInputError(_ error: Error) -> Bool {
    error is ConfigError || error is DataError || error is ModelConfigError || error is OptimError || error is ValidationError
        || error is CheckpointError || error is RunOutputError
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the experiment described by CONFIG, or continue a run with --resume.",
        discussion: "Rank 0 writes the run directory (output.dir, default runs/<name>): config.yaml, metrics.jsonl, TensorBoard events and checkpoints/. Under mpirun every rank runs this same command.")

    @Argument(help: "Experiment file (YAML).")
    var config: String?

    @Option(name: .customLong("set"), help: "Override a config key, typed like the file: --set training.optimizer.lr=0.003 (repeatable).")
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Continue the run in RUN_DIR from its latest checkpoint.", valueName: "RUN_DIR"))
    var resume: String?

    @Option(help: "Replicas (threads) per process; default: cores / ranks on this node.")
    var threads: Int?

    @Flag(help: "Print only errors and the final summary.")
    var quiet = false

    @Option(help: "text (progress bar on a terminal, lines otherwise) or json (one object per event on standard output).")
    var logFormat: ProgressReporter.Format = .text

    @Option(help: ArgumentHelp("Write the final parameters (raw little-endian float32, layout order) to FILE.", visibility: .hidden))
    var parametersOut: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if config == nil && resume == nil { throw ValidationError("give an experiment file (e.g. configs/sunspots-lstm.yaml) or --resume RUN_DIR") }
        if config != nil && resume != nil { throw ValidationError("give either an experiment file or --resume RUN_DIR, not both") }
    }

    func run() throws {
        let comm = makeCommunicator()
        let root = comm.rank == 0
        let reporter = ProgressReporter(options: .init(format: logFormat, quiet: quiet || !root),
                                        sinks: root ? .standard : .init(out: { _ in }, progress: { _ in }))
        let session: TrainingSession
        do {
            session = try TrainingSession(configPath: config, overrides: overrides, resume: resume, threads: threads,
                                          comm: comm, reporter: reporter)
        } catch let error as AgreementError {
            // Every rank reached the same verdict; rank 0 says it once and all end together.
            if root { Console.error("recur: error: \(error)\n") }
            if let mpi = comm as? MPICommunicator { mpi.finalize() }
            throw ExitCode(2)
        } catch {
            if isUserInputError(error) { failInput(error) }
            throw error
        }
        let engine = session.engine
        StopRequest.install(announcing: root)
        followSweepParent()
        do {
            try session.start()
        } catch let stop as StoppedBySignal {
            if let mpi = comm as? MPICommunicator { mpi.finalize() }
            Glibc.exit(StopRequest.exitStatus(for: stop.signal))
        } catch {
            Console.error("recur: rank \(comm.rank): \(error)\n")
            if comm.size > 1 { comm.abort(code: 1) }
            throw ExitCode(1)
        }
        if root, let parametersOut {
            let data = Data(bytes: engine.parameters.base, count: engine.parameters.count * MemoryLayout<Float>.size)
            try data.write(to: URL(fileURLWithPath: parametersOut), options: .atomic)
        }
        if let mpi = comm as? MPICommunicator { mpi.finalize() }
    }
}

extension ProgressReporter.Format: ExpressibleByArgument {}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check or print an experiment file.",
                                                    subcommands: [Validate.self, Show.self, Docs.self])

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check an experiment file; exit 2 with file:line: key: problem when it is wrong.")
        @Argument(help: "Experiment file (YAML).") var file: String
        @Option(name: .customLong("set"), help: "Override a key (repeatable).") var overrides: [String] = []
        @Option(help: "Also check that the global batch can feed this many processes…") var ranks: Int?
        @Option(help: "…each with this many threads.") var threads: Int?
        func validate() throws {
            if let ranks, ranks < 1 { throw ValidationError("--ranks must be at least 1, got \(ranks)") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        }
        func run() throws {
            // Every problem in one pass, the data file's included.
            var errors = ExperimentConfig.validateAll(path: file, overrides: overrides)
            if errors.isEmpty, let ranks, let c = try? ExperimentConfig.load(path: file, overrides: overrides) {
                let k = threads ?? c.parallel.threads ?? 1
                if ranks * k > c.training.batchSize {
                    errors.append(ConfigError(file: file, line: nil, key: "training.batch_size",
                                              message: "\(c.training.batchSize) windows cannot feed \(ranks) process(es) × \(k) thread(s); raise the batch size or use fewer replicas"))
                }
            }
            if !errors.isEmpty {
                for e in errors { Console.error("recur: error: \(e)\n") }
                if errors.count > 1 { Console.error("recur: \(errors.count) problems in \(file)\n") }
                Glibc.exit(2)
            }
            print("\(file): ok")
        }
    }

    struct Docs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print docs/config.md: every experiment key, as the schema declares it.")
        func run() throws { print(ExperimentConfig.schemaMarkdown, terminator: "") }
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
