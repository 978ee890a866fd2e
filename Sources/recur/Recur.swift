// The `recur` command line: declarations, printing and exit codes only; the work is in
// RecurTrain, the one module imported here (LayeringTests holds it). Exit status 2 means the
// user's input (file, config, flag) was wrong and nothing was written; 1 means the run failed
// after it started (an I/O error among them).

import ArgumentParser
import Foundation
import RecurTrain

@main
struct Recur: ParsableCommand {
    /// ArgumentParser exits 64 for a bad flag; Recur's contract is exit status 2 for anything
    /// the user can get wrong, so parsing and validation errors are mapped here.
    static func main() {
        // A closed pipe is a write error that names the stream (EPIPE), never a silent death of a
        // run before its checkpoint (Note [Stopping on a signal]).
        signal(SIGPIPE, SIG_IGN)
        // An unknown RECUR_GEMM (or =openblas without OpenBLAS) exits 2 here, before any command
        // has written anything (Note [OpenBLAS for comparisons]).
        _ = Benchmark.gemm
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code.rawValue == 64 {
                Console.error("recur: error: \(message(for: error)) (see recur --help)\n")
                Foundation.exit(2)
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

/// A command whose errors map to Recur's exit statuses in one place: user input (`UserInputError`,
/// ArgumentParser's validation) prints one message and exits 2; anything else exits 1 with it.
protocol RecurCommand: ParsableCommand {
    func execute() throws
}

extension RecurCommand {
    func run() throws {
        do {
            try execute()
        } catch let exit as ExitCode {
            throw exit
        } catch let error as ValidationError {
            fail(error, status: 2)
        } catch let error as UserInputError {
            fail(error, status: 2)
        } catch {
            fail(error, status: 1)
        }
    }
}

/// Prints `error` as one message and exits with `status`.
func fail(_ error: Error, status: Int32) -> Never {
    Console.error(oneMessage(error))
    Foundation.exit(status)
}

/// One line per message, with one "error:" in it: data errors read like a compiler's
/// ("file:line:col: error: …") and keep their own.
func oneMessage(_ error: Error) -> String {
    let text = "\(error)"
    return text.contains(": error: ") ? "recur: \(text)\n" : "recur: error: \(text)\n"
}

// MARK: Shared options

/// `--set KEY=VALUE`, repeatable.
struct Overrides: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key, typed like the file: --set training.optimizer.lr=0.003 (repeatable).", valueName: "KEY=VALUE"))
    var values: [String] = []
}

/// `--threads N`.
struct Threads: ParsableArguments {
    /// As parallel.threads allows.
    static let most = 1024
    @Option(name: .customLong("threads"), help: "Replicas (threads) per process; default: cores / processes on this node.")
    var count: Int?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--threads must be at least 1, got \(count)") }
        if let count, count > Threads.most { throw ValidationError("--threads must be at most \(Threads.most), got \(count)") }
    }
}

// MARK: train

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the experiment described by CONFIG, or continue a run with --resume.",
        discussion: "Rank 0 writes the run directory (output.dir, default runs/<name>): config.yaml, metrics.jsonl, TensorBoard events and checkpoints/. Under mpirun every rank runs this same command.")

    @Argument(help: "Experiment file (YAML).")
    var config: String?

    @OptionGroup var overrides: Overrides

    @Option(help: ArgumentHelp("Continue the run in RUN_DIR from its latest checkpoint.", valueName: "RUN_DIR"))
    var resume: String?

    @OptionGroup var threads: Threads

    @OptionGroup var data: MovedData

    @Flag(help: "Print only errors and the final summary.")
    var quiet = false

    @Option(help: "text (progress bar on a terminal, lines otherwise) or json (one object per event on standard output).")
    var logFormat: ProgressReporter.Format = .text

    @Option(help: ArgumentHelp("Write the final parameters (raw little-endian float32, layout order) to FILE.", visibility: .hidden))
    var parametersOut: String?

    func validate() throws {
        if config == nil && resume == nil { throw ValidationError("give an experiment file (e.g. configs/sunspots-lstm.yaml) or --resume RUN_DIR") }
        if config != nil && resume != nil { throw ValidationError("give either an experiment file or --resume RUN_DIR, not both") }
    }

    func run() throws {
        let job = Job()
        let reporter = ProgressReporter(options: .init(format: logFormat, quiet: quiet || !job.isRoot),
                                        sinks: job.isRoot ? .standard : .init(out: { _ in }, progress: { _ in }))
        let session: TrainingSession
        do {
            session = try TrainingSession(configPath: config, overrides: overrides.values, resume: resume, data: data.path,
                                          threads: threads.count, job: job, reporter: reporter)
        } catch let error as UserInputError {
            // Every rank read the same input and reached the same verdict: rank 0 says it once
            // and all end together, without an abort.
            if job.isRoot { Console.error(oneMessage(error)) }
            job.finish()
            throw ExitCode(2)
        }
        StopRequest.install(announcing: job.isRoot)
        StopRequest.followSweepParent()
        do {
            try session.start()
        } catch let stop as StoppedBySignal {
            job.finish()
            throw ExitCode(StopRequest.exitStatus(for: stop.signal))
        } catch {
            Console.error("recur: rank \(job.rank): \(error)\n")
            if job.size > 1 { job.abort(code: 1) }
            throw ExitCode(1)
        }
        if job.isRoot, let parametersOut { try session.writeParameters(to: parametersOut) }
        job.finish()
    }
}

extension ProgressReporter.Format: ExpressibleByArgument {}

// MARK: config

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check or print an experiment file.",
                                                    subcommands: [Validate.self, Show.self, Docs.self])

    struct Validate: RecurCommand {
        static let configuration = CommandConfiguration(abstract: "Check an experiment file; exit 2 with file:line: key: problem when it is wrong.")
        @Argument(help: "Experiment file (YAML).") var file: String
        @OptionGroup var overrides: Overrides
        @Option(help: "Also check that the global batch can feed this many processes…") var ranks: Int?
        @OptionGroup var threads: Threads
        func validate() throws {
            if let ranks, ranks < 1 { throw ValidationError("--ranks must be at least 1, got \(ranks)") }
        }
        func execute() throws {
            // Every problem in one pass, the data file's included.
            let errors = ExperimentConfig.validateAll(path: file, overrides: overrides.values, ranks: ranks, threads: threads.count)
            if !errors.isEmpty {
                for e in errors { Console.error(oneMessage(e)) }
                if errors.count > 1 { Console.error("recur: \(errors.count) problems in \(file)\n") }
                throw ExitCode(2)
            }
            try StandardOutput.line("\(file): ok")
        }
    }

    struct Docs: RecurCommand {
        static let configuration = CommandConfiguration(abstract: "Print docs/config.md: every experiment key, as the schema declares it.")
        func execute() throws { try StandardOutput.write(ExperimentConfig.schemaMarkdown) }
    }

    struct Show: RecurCommand {
        static let configuration = CommandConfiguration(abstract: "Print the resolved experiment, defaults filled in.")
        @Argument(help: "Experiment file (YAML).") var file: String
        @OptionGroup var overrides: Overrides
        func execute() throws { try StandardOutput.line(try ExperimentConfig.load(path: file, overrides: overrides.values).yaml()) }
    }
}
