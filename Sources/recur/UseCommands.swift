// Commands that use a trained model or a finished run: eval, sample, forecast and plot.
// Each reads what training stored (experiment, vocabulary, normalisation) rather than asking
// the user to repeat it; every bad path or flag exits 2 with one message.

import ArgumentParser
import Foundation
import RecurData
import RecurEngine
import RecurKernels
import RecurParallel
import RecurTrain

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss and the task's metrics of a trained model on one split.",
        discussion: "Text: perplexity and bits per token; series: RMSE and MAE in original units; classification: accuracy and a confusion matrix.")
    @Argument(help: "A run directory (its best checkpoint), a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "train, validation or test.") var split: String = "test"
    @Option(help: "Replicas (threads).") var threads: Int?
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Forecasters: also draw actual against predicted over the split to this SVG file.") var plot: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if DataSplit(rawValue: split) == nil { throw ValidationError("--split must be train, validation or test, got '\(split)'") }
    }

    func run() throws {
        do {
            guard let which = DataSplit(rawValue: split) else { throw ValidationError("--split must be train, validation or test, got '\(split)'") }
            if let plot { try OutputPath.checkFile(plot, what: "--plot") }
            let trained = try TrainedModel.locate(model)
            if plot != nil, trained.experiment.data.kind != .series {
                throw ValidationError("--plot draws actual against predicted values, for series models; \(model) is a \(trained.experiment.data.kind.rawValue) model")
            }
            let dataset = try trained.experiment.loadDataset(configPath: nil, stored: trained.manifest)
            guard dataset.windowCount(which) > 0 else {
                throw ValidationError("the \(split) split of \(trained.experiment.data.path) holds no window (its fraction is \(trained.experiment.data.split.fraction(which)))")
            }
            let k = threads ?? ProcessInfo.processInfo.activeProcessorCount
            let experiment = trained.experiment
            let engine = try Engine(experiment.engineConfig(for: dataset, threads: min(k, experiment.training.batchSize)),
                                    dataset: dataset, comm: SingleProcessCommunicator())
            engine.setParameters(trained.checkpoint.parameters)
            let report = try engine.evaluationReport(which)
            if let plot { try drawActualAgainstPredicted(trained, dataset, which, to: plot) }
            if json {
                let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try e.encode(report), as: UTF8.self))
            } else {
                print(describe(report, trained))
            }
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }

    /// The first target's value after each window of the split, actual and predicted, in original
    /// units, against the data's own time column (the row each value belongs to) where it has one.
    func drawActualAgainstPredicted(_ trained: TrainedModel, _ dataset: any WindowedDataset, _ which: DataSplit, to path: String) throws {
        guard let first = try trained.predictionTable(dataset, split: which).firstTarget else { return }
        var time: (name: String, values: [Double])? = nil
        var rows: [Int] = []
        if let series = dataset as? SeriesDataset {
            // Window w's last-step prediction is for row start(w) + seq_len of the file.
            let range = series.series.range(which), w = series.windowing
            rows = (0..<first.actual.count).map { range.lowerBound + w.offset(of: $0, length: range.count) + w.seqLen }
            time = Forecast.timeColumn(path: trained.experiment.resolvedDataPath(configPath: nil), series: series.series)
        }
        func x(_ i: Int) -> Double {
            if let time { return time.values[rows[i]] }
            return Double(i + 1)
        }
        func points(_ v: [Double]) -> [(x: Double, y: Double)] { v.indices.map { (x: x($0), y: v[$0]) } }
        let chart = LineChart(title: "\(trained.experiment.name): \(first.name), \(which.rawValue) split", xLabel: time?.name ?? "window",
                              yLabel: first.name,
                              series: [.init(name: "actual", points: points(first.actual)),
                                       .init(name: "predicted", points: points(first.predicted), style: .init(dash: .dashed))])
        try chart.write(to: path)
        Console.error("recur: plot written to \(path)\n")
    }

    func describe(_ r: EvaluationReport, _ t: TrainedModel) -> String {
        var lines = ["\(t.location.path): \(r.split) split, \(r.windows) windows, \(r.targets) targets",
                     String(format: "loss %.5f", r.loss)]
        if let p = r.perplexity, let b = r.bitsPerToken {
            lines.append(String(format: "perplexity %.4f, %.4f bits per %@", p, b, t.experiment.data.kind == .chars ? "character" : "token"))
        }
        if let rmse = r.rmse, let mae = r.mae {
            for name in rmse.keys.sorted() { lines.append(String(format: "%@: RMSE %.4f, MAE %.4f (original units)", name, rmse[name]!, mae[name]!)) }
        }
        if let a = r.accuracy { lines.append(String(format: "accuracy %.4f", a)) }
        if let m = r.confusion {
            lines.append("confusion matrix (rows: true class, columns: predicted)")
            let width = max(4, String(m.flatMap { $0 }.max() ?? 0).count + 1)
            func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
            lines.append(pad("") + (0..<m.count).map { pad(String($0)) }.joined())
            for (i, row) in m.enumerated() { lines.append(pad(String(i)) + row.map { pad(String($0)) }.joined()) }
        }
        if let perClass = r.perClass, let macro = r.macro, let weighted = r.weighted {
            lines.append("class     precision  recall   f1      support")
            func row(_ name: String, _ s: ClassScores) -> String {
                name.padding(toLength: 9, withPad: " ", startingAt: 0)
                    + String(format: " %9.4f %7.4f %7.4f %8d", s.precision, s.recall, s.f1, s.support)
            }
            for (i, s) in perClass.enumerated() { lines.append(row(String(i), s)) }
            lines.append(row("macro", macro))
            lines.append(row("weighted", weighted))
        }
        return lines.joined(separator: "\n")
    }
}

struct Predict: ParsableCommand {
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

    func run() throws {
        do {
            if let output { try OutputPath.checkFile(output, what: "--output") }
            let trained = try TrainedModel.locate(model)
            let experiment = trained.experiment
            guard FileManager.default.fileExists(atPath: input) else {
                throw ValidationError("--input \(input) does not exist; give the path of a data file laid out like the training data")
            }
            let dataset = try experiment.loadPredictionDataset(path: input, stored: trained.manifest)
            let table = try trained.predictionTable(dataset)
            if let output {
                try writeAtomically(Data(table.csv.utf8), to: URL(fileURLWithPath: output))
                Console.error("recur: \(input): \(table.summary); written to \(output)\n")
            } else {
                print(table.csv, terminator: "")
                Console.error("recur: \(input): \(table.summary)\n")
            }
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }
}

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a trained character or word model.")
    @Argument(help: "A run directory, a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "Text to start from.") var prime: String = ""
    @Option(help: "Tokens to generate.") var length: Int = 500
    @Option(help: "Softmax temperature (lower: more conservative; 0: always the most likely token).") var temperature: Float = 0.8
    @Option(help: "Sample only from the K most likely tokens.") var topK: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func validate() throws {
        if length < 1 { throw ValidationError("--length must be at least 1, got \(length)") }
        if !(temperature >= 0) || !temperature.isFinite { throw ValidationError("--temperature must be 0 (greedy) or more, got \(temperature)") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
    }

    func run() throws {
        do {
            let trained = try TrainedModel.locate(model)
            let text = try trained.sample(prime: prime, length: length, temperature: temperature, topK: topK, seed: seed)
            print(prime + text)
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }
}

struct Forecast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast future values of a trained series model, in original units.",
        discussion: "Reads the last seq_len rows of --input (default: the training data file), predicts, feeds predictions back for longer forecasts, prints CSV and writes an SVG plot of history and forecast.")
    @Argument(help: "A run directory, a checkpoint directory or a model.safetensors.") var model: String
    @Option(help: "Future steps to forecast.") var steps: Int = 10
    @Option(help: "CSV with the same columns as the training data (default: the training data file).") var input: String?
    @Option(help: "Where to write the plot (default: forecast.svg next to the checkpoint's run, or ./forecast.svg).") var plot: String?

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        do {
            if let plot { try OutputPath.checkFile(plot, what: "--plot") }
            let trained = try TrainedModel.locate(model)
            let e = trained.experiment
            guard e.data.kind == .series, let stored = trained.manifest?.normalization else {
                throw ValidationError("\(model) is not a series model; use recur sample or recur eval")
            }
            let path = input ?? e.data.path
            let series = try TimeSeries.load(path: path, options: SeriesOptions(
                features: trained.manifest?.featureColumns, targets: trained.manifest?.targetColumns,
                normalization: e.data.normalize, missing: e.data.missing,
                splits: SplitFractions(train: 1, validation: 0, test: 0)), normalization: stored)
            let rows = try trained.forecast(series, steps: steps)
            let names = series.targetIndices.map { series.columns[$0] }
            print((["step"] + names).joined(separator: ","))
            for (i, r) in rows.enumerated() { print(([String(i + 1)] + r.map { String(format: "%.6g", $0) }).joined(separator: ",")) }
            // Plot: the last stretch of the first target's history, then the forecast, against the
            // data's own time column where it has one (YEAR, date…), else steps from the last row.
            let c = series.columns.count, t0 = series.targetIndices[0]
            let historyCount = min(series.rowCount, max(60, 4 * steps))
            let time = Forecast.timeColumn(path: path, series: series)
            let last = series.rowCount - 1
            func x(_ row: Int) -> Double {
                guard let time else { return Double(row - last) }
                let spacing = last > 0 ? time.values[last] - time.values[last - 1] : 1
                return row <= last ? time.values[row] : time.values[last] + Double(row - last) * spacing
            }
            let history = (series.rowCount - historyCount..<series.rowCount).map { r in
                (x: x(r), y: stored.denormalize(series.values[r * c + t0], column: t0))
            }
            let future = [(x: x(last), y: history.last!.y)] + rows.enumerated().map { (x: x(last + $0.offset + 1), y: $0.element[0]) }
            let chart = LineChart(title: "\(e.name): \(names[0]) forecast", xLabel: time?.name ?? "step (0 = last observed)", yLabel: names[0],
                                  series: [.init(name: "history", points: history),
                                           .init(name: "forecast", points: future, style: .init(dash: .dashed, markers: true))],
                                  divider: .init(x: x(last), leftLabel: "history", rightLabel: "forecast"))
            let out = plot ?? runDirectory(of: trained.location).map { $0.appendingPathComponent("forecast.svg").path } ?? "forecast.svg"
            try chart.write(to: out)
            Console.error("recur: plot written to \(out)\n")
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }
}

extension Forecast {
    /// A column of the file that is not a feature and reads as time — named year, date, time,
    /// month, day, t, step or index, numeric and strictly increasing over the rows the series has.
    static func timeColumn(path: String, series: TimeSeries) -> (name: String, values: [Double])? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let header = text.split(separator: "\n", maxSplits: 1).first else { return nil }
        let names = header.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"\r")) }
        let timeNames: Set<String> = ["year", "date", "time", "month", "day", "t", "step", "index"]
        for name in names where timeNames.contains(name.lowercased()) && !series.columns.contains(name) {
            guard let column = try? TimeSeries.load(path: path, options: SeriesOptions(
                features: [name], targets: [name], normalization: .none, missing: .error,
                splits: SplitFractions(train: 1, validation: 0, test: 0))), column.rowCount == series.rowCount else { continue }
            let values = column.values.map(Double.init)
            if zip(values, values.dropFirst()).allSatisfy({ $0 < $1 }) { return (name, values) }
        }
        return nil
    }
}

/// The run directory a checkpoint lives in (…/RUN/checkpoints/step-N), if it does.
func runDirectory(of checkpoint: URL) -> URL? {
    let parent = checkpoint.deletingLastPathComponent()
    return parent.lastPathComponent == "checkpoints" ? parent.deletingLastPathComponent() : nil
}

struct Plot: ParsableCommand {
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

    func run() throws {
        do {
            if let output { try OutputPath.checkFile(output, what: "--output") }
            var runs: [(name: String, records: [MetricsRecord])] = []
            for directory in directories {
                let metricsPath = URL(fileURLWithPath: directory).appendingPathComponent("metrics.jsonl").path
                guard FileManager.default.fileExists(atPath: metricsPath) else {
                    throw ValidationError("\(directory) holds no metrics.jsonl (give a directory that recur train wrote)")
                }
                runs.append((URL(fileURLWithPath: directory).lastPathComponent, try MetricsLog.read(path: metricsPath)))
            }
            func points(_ records: [MetricsRecord], _ kind: String) -> [(x: Double, y: Double)] {
                records.filter { $0.kind == kind }.compactMap { r in
                    guard let s = r.step, let l = r["loss"]?.double else { return nil }
                    return (x: Double(s), y: l)
                }
            }
            var series: [LineChart.Series] = []
            var references: [LineChart.Reference] = []
            let title: String
            if runs.count == 1 {
                let records = runs[0].records
                let train = points(records, "train"), validation = points(records, "validation")
                let color = LineChart.palette[0], validationColor = LineChart.palette[1]
                series.append(.init(name: "", points: train, style: .init(color: color, lineWidth: 1, opacity: 0.3)))
                series.append(.init(name: "training (smoothed)", points: LineChart.smoothed(train, weight: smoothing), style: .init(color: color)))
                series.append(.init(name: "validation", points: validation, style: .init(color: validationColor, markers: validation.count <= 60)))
                if let best = validation.filter({ $0.y.isFinite }).min(by: { $0.y < $1.y }) {
                    series.append(.init(name: String(format: "best: %.4g at step %d", best.y, Int(best.x)), points: [best],
                                        style: .init(color: LineChart.palette[3], markers: true, lineWidth: 3)))
                }
                if let baseline = records.last(where: { $0.kind == "validation" })?["baseline_loss"]?.double {
                    references.append(.init(y: baseline, label: String(format: "baseline %.4g", baseline)))
                }
                title = "\(runs[0].name): loss"
            } else {
                for (i, run) in runs.enumerated() {
                    let color = LineChart.palette[i % LineChart.palette.count]
                    series.append(.init(name: run.name, points: LineChart.smoothed(points(run.records, "train"), weight: smoothing),
                                        style: .init(color: color)))
                    series.append(.init(name: "", points: points(run.records, "validation"),
                                        style: .init(dash: .dashed, color: color)))
                }
                title = "\(runs.count) runs: training (solid, smoothed) and validation (dashed) loss"
            }
            let chart = LineChart(title: title, xLabel: "step", yLabel: "loss", series: series, logScaleY: !linear, references: references)
            let out = output ?? (runs.count == 1 ? URL(fileURLWithPath: directories[0]).appendingPathComponent("loss.svg").path : "loss-comparison.svg")
            try chart.write(to: out)
            print(out)
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A run's metrics.jsonl as CSV, for spreadsheets.",
        discussion: "One row per logged step and evaluation; the columns are every field that occurs, in the order they first appear (kind, step, total_steps, epoch, loss, lr …). Empty cells where a row has no value.")
    @Argument(help: "A run directory.") var directory: String
    @Option(help: "Write the CSV here instead of standard output.") var output: String?

    func run() throws {
        do {
            if let output { try OutputPath.checkFile(output, what: "--output") }
            let path = URL(fileURLWithPath: directory).appendingPathComponent("metrics.jsonl").path
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(directory) holds no metrics.jsonl (give a directory that recur train wrote)")
            }
            let text = MetricsLog.csv(try MetricsLog.read(path: path))
            if let output { try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } else { print(text, terminator: "") }
        } catch { if isUserInputError(error) { failInput(error) }; throw error }
    }
}
