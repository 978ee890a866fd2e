// Commands that use a trained model or a finished run: eval, predict, sample, forecast, plot and
// metrics. Each is a call into RecurTrain's inference and reporting API and its printing; every
// bad path or flag exits 2 with one message (RecurCommand).

import ArgumentParser
import Foundation
import RecurTrain

extension DataSplit: ExpressibleByArgument {}

/// `--data PATH`: where a run's training data is now, when it moved (Note [Portable runs]).
struct MovedData: ParsableArguments {
    @Option(name: .customLong("data"), help: ArgumentHelp("The model's training data where it is now, when it moved (checked against the checkpoint's fingerprint).", valueName: "PATH"))
    var path: String?
}

struct Eval: RecurCommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss and the task's metrics of a trained model on one split.",
        discussion: "Text: perplexity and bits per token; series: RMSE and MAE in original units; classification: accuracy and a confusion matrix.")
    @Argument(help: "A run directory (its best checkpoint), a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "train, validation or test.") var split: String = "test"
    @Option(help: "Replicas (threads).") var threads: Int?
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Forecasters: also draw actual against predicted over the split to this SVG file.") var plot: String?
    @OptionGroup var data: MovedData

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let threads, threads > Threads.most { throw ValidationError("--threads must be at most \(Threads.most), got \(threads)") }
        if DataSplit(rawValue: split) == nil { throw ValidationError("--split must be train, validation or test, got '\(split)'") }
    }

    func execute() throws {
        let which = DataSplit(rawValue: split)!
        if let plot { try OutputPath.checkFile(plot, what: "--plot") }
        let trained = try TrainedModel.locate(model, data: data.path)
        if let plot { try trained.checkOutput(plot, what: "--plot") }
        if plot != nil, trained.experiment.data.kind != .series {
            throw ValidationError("--plot draws actual against predicted values, for series models; \(model) is a \(trained.experiment.data.kind.rawValue) model")
        }
        let (report, chart) = try trained.evaluate(which, threads: threads, drawing: plot != nil)
        if let plot, let chart {
            try chart.write(to: plot)
            Console.error("recur: plot written to \(plot)\n")
        }
        if json {
            let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
            try StandardOutput.line(String(decoding: try e.encode(report), as: UTF8.self))
        } else {
            try StandardOutput.line(trained.describe(report))
        }
    }
}

struct Predict: RecurCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a trained model to a new data file: one CSV row per sequence or window.",
        discussion: """
        The file is read like the training data, through the run's stored vocabulary or normalisation. \
        Classifiers: predicted class and each class's probability per sequence (rows may omit the label). \
        Text: loss and bits per token per window, and the file's perplexity. \
        Series: predicted and actual targets after each window, in original units.
        """)
    @Argument(help: "A run directory (its best checkpoint), a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "The data file to predict on.") var input: String
    @Option(help: "Where to write the CSV (default: standard output).") var output: String?

    func execute() throws {
        if let output { try OutputPath.checkFile(output, what: "--output") }
        let trained = try TrainedModel.locate(model)
        if let output { try trained.checkOutput(output, what: "--output", inputs: [input]) }
        let table = try trained.predict(input: input)
        if let output {
            try writeAtomically(Data(table.csv.utf8), to: URL(fileURLWithPath: output))
            Console.error("recur: \(input): \(table.summary); written to \(output)\n")
        } else {
            try StandardOutput.write(table.csv)
            Console.error("recur: \(input): \(table.summary)\n")
        }
    }
}

struct Sample: RecurCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a trained character or word model.")
    @Argument(help: "A run directory, a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "Text to start from.") var prime: String = ""
    @Option(help: "Tokens to generate.") var length: Int = 500
    @Option(help: "Softmax temperature (lower: more conservative; 0: always the most likely token).") var temperature: Float = 0.8
    @Option(help: "Sample only from the K most likely tokens.") var topK: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func validate() throws {
        if !(1...TrainedModel.maxSampleLength).contains(length) { throw ValidationError("--length must be 1 to \(TrainedModel.maxSampleLength), got \(length)") }
        if !(temperature >= 0) || !temperature.isFinite { throw ValidationError("--temperature must be 0 (greedy) or more, got \(temperature)") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
    }

    func execute() throws {
        let trained = try TrainedModel.locate(model)
        try StandardOutput.write(prime)
        // Streams: each token is written as it is drawn, so `| head` ends the generation.
        try trained.sample(prime: prime, length: length, temperature: temperature, topK: topK, seed: seed) { try StandardOutput.write($0) }
        try StandardOutput.write("\n")
    }
}

struct Forecast: RecurCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast future values of a trained series model, in original units.",
        discussion: "Reads the last seq_len rows of --input (default: the training data file), predicts, feeds predictions back for longer forecasts, prints CSV and writes an SVG plot of history and forecast.")
    @Argument(help: "A run directory, a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "Future steps to forecast.") var steps: Int = 10
    @Option(help: "CSV with the same columns as the training data (default: the training data file).") var input: String?
    @Option(help: "Where to write the plot (default: forecast.svg next to the checkpoint's run, or ./forecast.svg).") var plot: String?
    @OptionGroup var data: MovedData

    func validate() throws {
        if !(1...TrainedModel.maxForecastSteps).contains(steps) { throw ValidationError("--steps must be 1 to \(TrainedModel.maxForecastSteps), got \(steps)") }
    }

    func execute() throws {
        if let plot { try OutputPath.checkFile(plot, what: "--plot") }
        let trained = try TrainedModel.locate(model, data: data.path)
        let out = plot ?? trained.defaultPlotPath("forecast.svg")
        try OutputPath.checkFile(out, what: "--plot")
        try trained.checkOutput(out, what: "--plot", inputs: input.map { [$0] } ?? [])
        let result = try trained.forecast(input: input, steps: steps) { try StandardOutput.write($0) }
        try result.chart.write(to: out)
        Console.error("recur: plot written to \(out)\n")
    }
}

struct Plot: RecurCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw training and validation loss curves of one run or several as SVG.",
        discussion: "One run: the training loss smoothed over its faint raw values, validation, the baseline and the best step. Several runs: each run's smoothed training (solid) and validation (dashed) curves in one colour.")
    @Argument(help: "One or more run directories.") var directories: [String]
    @Option(help: "Output file (default: RUN_DIR/loss.svg for one run, ./loss-comparison.svg for several).") var output: String?
    @Flag(help: "Linear instead of logarithmic loss axis.") var linear = false
    @Option(help: "Smoothing of the training curve, 0 (none) to below 1, as TensorBoard's.") var smoothing: Double = 0.8

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give one or more run directories") }
        if !(smoothing >= 0 && smoothing < 1) { throw ValidationError("--smoothing must be at least 0 and below 1, got \(smoothing)") }
    }

    func execute() throws {
        if let output { try OutputPath.checkFile(output, what: "--output") }
        let runs = try directories.map { (name: URL(fileURLWithPath: $0).lastPathComponent, records: try LossCurves.records(ofRun: $0)) }
        let chart = LossCurves.chart(runs: runs, smoothing: smoothing, logScale: !linear)
        let out = output ?? (runs.count == 1 ? URL(fileURLWithPath: directories[0]).appendingPathComponent("loss.svg").path : "loss-comparison.svg")
        try OutputPath.checkSeparate(out, what: "--output", inputs: directories.map { URL(fileURLWithPath: $0).appendingPathComponent("metrics.jsonl").path },
                                     ownRun: directories.count == 1 ? URL(fileURLWithPath: directories[0]) : nil)
        try chart.write(to: out)
        try StandardOutput.line(out)
    }
}

struct Metrics: RecurCommand {
    static let configuration = CommandConfiguration(
        abstract: "A run's metrics.jsonl as CSV, for spreadsheets.",
        discussion: "One row per logged step and evaluation; the columns are every field that occurs, in the order they first appear (kind, step, total_steps, epoch, loss, lr …). Empty cells where a row has no value.")
    @Argument(help: "A run directory.") var directory: String
    @Option(help: "Write the CSV here instead of standard output.") var output: String?

    func execute() throws {
        if let output {
            try OutputPath.checkFile(output, what: "--output")
            try OutputPath.checkSeparate(output, what: "--output", inputs: [URL(fileURLWithPath: directory).appendingPathComponent("metrics.jsonl").path],
                                         ownRun: URL(fileURLWithPath: directory))
        }
        let text = MetricsLog.csv(try LossCurves.records(ofRun: directory))
        if let output { try writeAtomically(Data(text.utf8), to: URL(fileURLWithPath: output)) } else { try StandardOutput.write(text) }
    }
}
