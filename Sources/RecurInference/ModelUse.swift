// The one API for using a trained model: evaluate a split, predict a new file, sample text,
// forecast a series, and the charts and text that go with them. `recur eval`, `predict`,
// `sample` and `forecast` are these calls and their printing; a program that depends on Recur
// calls the same. Everything runs through RecurEngine (Engine, SequenceRunner): no workspace here.

import Foundation
import RecurData
import RecurEngine
import RecurExperiment
import RecurKernels
import RecurParallel
import RecurReport
import RecurStore

/// A forecast: one row per future step, the CSV it prints as, and its plot.
public struct ForecastResult {
    /// The target columns, in the experiment's order.
    public var targets: [String]
    /// Per future step (of each series, in turn), one value per target (original units).
    public var rows: [[Double]]
    /// Each row's series name ("" for a table of one series), its step within that series'
    /// forecast (1-based) and time (Note [Time axis]; nil without a time column).
    public var places: [(series: String, step: Int, time: String?)] = []
    /// The time column's name, when the data has one (the CSV's first column).
    public var timeName: String?
    /// Whether the data holds many series (a series column in the CSV).
    public var manySeries = false
    /// History and forecast, one panel per target (of the first series, with many).
    public var chart: Figure

    /// The CSV as `recur forecast` streams it: the header, then one line per future step.
    public var csv: String {
        Self.header(targets, timeName: timeName, manySeries: manySeries)
            + zip(rows, places).map { row, place in
                Self.line(step: place.step, row, series: manySeries ? place.series : nil, time: timeName == nil ? nil : place.time ?? "")
            }.joined()
    }

    /// The CSV header line: the time column, the series, the step, then the targets.
    public static func header(_ targets: [String], timeName: String? = nil, manySeries: Bool = false) -> String {
        ((timeName.map { [csvField($0)] } ?? []) + (manySeries ? ["series"] : []) + ["step"] + targets.map(csvField)).joined(separator: ",") + "\n"
    }

    /// The CSV line of future step `step` (1-based) of `series` at `time`.
    public static func line(step: Int, _ row: [Double], series: String? = nil, time: String? = nil) -> String {
        ((time.map { [csvField($0)] } ?? []) + (series.map { [csvField($0)] } ?? []) + [String(step)]
            + row.map { String(format: "%.6g", $0) }).joined(separator: ",") + "\n"
    }
}

extension TrainedModel {
    // MARK: Evaluate

    /// The task's metrics on one split of the training data, with `threads` replicas in this
    /// process (default: every core).
    /// - Throws: `UsageError` when the split holds no window; the data's and engine's errors.
    public func evaluate(_ split: DataSplit, threads: Int? = nil) throws -> EvaluationReport {
        try evaluate(split, threads: threads, drawing: false).report
    }

    /// The evaluation and, for a forecaster when `drawing`, its actual-against-predicted chart,
    /// from one reading of the data.
    public func evaluate(_ split: DataSplit, threads: Int? = nil, drawing: Bool) throws -> (report: EvaluationReport, chart: Figure?) {
        if drawing { try requireSeriesForChart() }
        let dataset = try trainingData()
        guard dataset.windowCount(split) > 0 else {
            throw UsageError("the \(split.rawValue) split of \(experiment.data.path) holds no window (its fraction is \(experiment.data.split.fraction(split)))")
        }
        let k = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let engine = try Engine(experiment.engineConfig(for: dataset, threads: min(k, experiment.training.batchSize)),
                                dataset: dataset, comm: SingleProcessCommunicator())
        engine.setParameters(checkpoint.parameters)
        let report = try engine.evaluationReport(split, seasonality: experiment[ExperimentSchema.keys.seasonality])
        return (report, drawing ? try actualAgainstPredicted(split, dataset: dataset) : nil)
    }

    /// An evaluation as `recur eval` prints it.
    public func describe(_ r: EvaluationReport) -> String {
        var lines = ["\(location.path): \(r.split) split, \(r.windows) windows, \(r.targets) targets",
                     String(format: "loss %.5f", r.loss)]
        if let p = r.perplexity, let b = r.bitsPerToken {
            lines.append(String(format: "perplexity %.4f, %.4f bits per %@", p, b, experiment.data.kind == .chars ? "character" : "token"))
        }
        if let rmse = r.rmse, let mae = r.mae {
            // In the experiment's target order.
            for name in r.columns ?? rmse.keys.sorted() {
                var line = String(format: "%@: RMSE %.4f, MAE %.4f (original units)", name, rmse[name]!, mae[name]!)
                if let mape = r.mape?[name], let smape = r.smape?[name], let mase = r.mase?[name] {
                    line += String(format: ", MAPE %.2f%%, sMAPE %.2f%%, MASE %.4f (m = %d)", mape, smape, mase, experiment[ExperimentSchema.keys.seasonality])
                }
                lines.append(line)
            }
        }
        if let perSeries = r.perSeries, let columns = r.columns, !perSeries.isEmpty {
            // Every series when they are few, else those the model forecasts worst (by MASE).
            func mase(_ s: SeriesScores) -> Double { s.mase[columns[0]].flatMap { $0.isFinite ? $0 : nil } ?? -.infinity }
            let shown = perSeries.count <= 20 ? perSeries : Array(perSeries.sorted { mase($0) > mase($1) }.prefix(10))
            lines.append("per series (\(perSeries.count)" + (shown.count < perSeries.count ? "; the \(shown.count) with the largest MASE of \(columns[0]), --json lists all" : "") + "):")
            for s in shown {
                for name in columns {
                    lines.append(String(format: "  %@ %@: RMSE %.4f, MAE %.4f, MAPE %.2f%%, sMAPE %.2f%%, MASE %.4f (%d windows)", s.name, name,
                                        s.rmse[name] ?? .nan, s.mae[name] ?? .nan, s.mape[name] ?? .nan, s.smape[name] ?? .nan, s.mase[name] ?? .nan, s.windows))
                }
            }
        }
        if let a = r.accuracy { lines.append(String(format: "accuracy %.4f", a)) }
        if let m = r.confusion {
            lines.append("confusion matrix (rows: true class, columns: predicted)")
            let names = r.classNames ?? (0..<m.count).map(String.init)
            let width = max(4, String(m.flatMap { $0 }.max() ?? 0).count + 1, (names.map(\.count).max() ?? 0) + 1)
            func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
            lines.append(pad("") + names.map(pad).joined())
            for (i, row) in m.enumerated() { lines.append(pad(names[i]) + row.map { pad(String($0)) }.joined()) }
        }
        if let perClass = r.perClass, let macro = r.macro, let weighted = r.weighted {
            let names = r.classNames ?? perClass.indices.map(String.init)
            let column = max(9, (names.map(\.count).max() ?? 0) + 1)
            lines.append("class".padding(toLength: column, withPad: " ", startingAt: 0) + " precision  recall   f1      support")
            func row(_ name: String, _ s: ClassScores) -> String {
                name.padding(toLength: column, withPad: " ", startingAt: 0)
                    + String(format: " %9.4f %7.4f %7.4f %8d", s.precision, s.recall, s.f1, s.support)
            }
            for (i, s) in perClass.enumerated() { lines.append(row(names[i], s)) }
            lines.append(row("macro", macro))
            lines.append(row("weighted", weighted))
        }
        return lines.joined(separator: "\n")
    }

    /// Forecasters: the first target's value after each window of the split, actual and
    /// predicted, in original units, against the data's own time column where it has one.
    /// - Throws: `UsageError` for a model that is not a forecaster.
    public func actualAgainstPredicted(_ split: DataSplit) throws -> Figure {
        try requireSeriesForChart()
        return try actualAgainstPredicted(split, dataset: try trainingData())
    }

    private func requireSeriesForChart() throws {
        guard experiment.data.kind == .series else {
            throw UsageError("--plot draws actual against predicted values, for series models; \(location.path) is a \(experiment.data.kind.rawValue) model")
        }
    }

    private func actualAgainstPredicted(_ split: DataSplit, dataset: any WindowedDataset) throws -> Figure {
        let table = try predictionTable(dataset, split: split)
        guard !table.targets.isEmpty, !table.targets[0].actual.isEmpty, let series = dataset as? SeriesDataset else {
            throw UsageError("the \(split.rawValue) split holds no window to plot")
        }
        // With many series, the first series' windows (Note [Many series]).
        let shown = table.windowPlaces.indices.filter { table.windowPlaces[$0].series == table.windowPlaces[0].series }
        let time = series.series.time
        func x(_ i: Int) -> Double { time.map { $0.values[table.windowPlaces[i].row] } ?? Double(i + 1) }
        let name = series.series.parts[table.windowPlaces[0].series].name
        let title = "\(experiment.name), \(split.rawValue) split" + (series.series.hasManySeries ? ", series \(name)" : "")
        // One panel per target, in the experiment's order.
        return Figure(panels: table.targets.map { target in
            LineChart(title: "\(title): \(target.name)", xLabel: time?.name ?? "window", yLabel: target.name,
                      series: [.init(name: "actual", points: shown.map { (x: x($0), y: target.actual[$0]) }),
                               .init(name: "predicted", points: shown.map { (x: x($0), y: target.predicted[$0]) }, style: .init(dash: .dashed))],
                      height: table.targets.count > 1 ? 320 : 480)
        })
    }

    // MARK: Predict

    /// The model applied to a new data file laid out like the training data.
    /// - Throws: `UsageError` for a missing file; the data's errors for a file that does not fit.
    public func predict(input path: String) throws -> PredictionTable {
        guard FileManager.default.fileExists(atPath: path) else {
            throw UsageError("--input \(path) does not exist; give the path of a data file laid out like the training data")
        }
        return try predictionTable(try experiment.loadPredictionDataset(path: path, stored: manifest))
    }

    // MARK: Forecast

    /// Forecasts `steps` future values of a series model from the last `seq_len` rows of `input`
    /// (default: the training data file), with a plot of the first target's history and forecast.
    /// - Parameter stream: sees the CSV as it is made, the header first, then each row as soon
    ///   as it is computed (`recur forecast` writes it to standard output, so `| head` works).
    /// - Throws: `UsageError` for a model that is not a forecaster; the data's errors; what
    ///   `stream` throws.
    public func forecast(input: String?, steps: Int, stream: (String) throws -> Void = { _ in }) throws -> ForecastResult {
        guard experiment.data.kind == .series, let stored = manifest?.normalization else {
            throw UsageError("\(location.path) is not a series model (it was trained on \(experiment.data.kind.rawValue) data); \(fittingCommands)")
        }
        guard (1...Self.maxForecastSteps).contains(steps) else {
            throw UsageError("--steps must be 1 to \(Self.maxForecastSteps), got \(steps)")
        }
        if input == nil && dataMoved { _ = try trainingData() }   // a moved --data file must be the training data
        let path = input ?? dataPath
        let series = try TimeSeries.load(path: path, options: experiment.seriesOptions(
            features: manifest?.featureColumns, targets: manifest?.targetColumns, splits: SplitFractions(train: 1, validation: 0, test: 0)),
            normalization: stored, seriesNormalization: manifest?.seriesNormalization)
        let names = series.targetIndices.map { series.columns[$0] }
        let time = series.time, many = series.hasManySeries
        try stream(ForecastResult.header(names, timeName: time?.name, manySeries: many))
        var result = ForecastResult(targets: names, rows: [], timeName: time?.name, manySeries: many, chart: Figure(panels: []))
        // Every series of the file (one part each: a single file is grouped by series).
        for (k, part) in series.parts.enumerated() {
            let last = part.rows.upperBound - 1
            let future = time?.labels(after: last, previous: part.rows.count > 1 ? last - 1 : nil, count: steps)
            var produced = 0
            let rows = try forecast(series, part: k, steps: steps) { row in
                let label = future?[produced]
                produced += 1
                try stream(ForecastResult.line(step: produced, row, series: many ? part.name : nil, time: time == nil ? nil : label ?? ""))
            }
            result.rows += rows
            result.places += rows.indices.map { (part.name, $0 + 1, future?[$0]) }
            if k == 0 { result.chart = forecastFigure(series, part: k, rows: rows, future: future, steps: steps) }
        }
        return result
    }

    /// The last stretch of each target's history, then the forecast, against the data's own
    /// time axis where it has one (YEAR, date…), else steps from the last row: a panel per target.
    private func forecastFigure(_ series: TimeSeries, part k: Int, rows: [[Double]], future: [String]?, steps: Int) -> Figure {
        let part = series.parts[k], c = series.columns.count, stats = series.stats(series: k)
        let names = series.targetIndices.map { series.columns[$0] }
        let historyCount = min(part.rows.count, max(60, 4 * steps))
        let last = part.rows.upperBound - 1
        let time = series.time
        func x(_ row: Int) -> Double {
            guard let time else { return Double(row - last) }
            if row <= last { return time.values[row] }
            return future.flatMap { time.value(of: $0[row - last - 1]) } ?? time.values[last] + Double(row - last)
        }
        let title = experiment.name + (series.hasManySeries ? ", series \(part.name)" : "")
        return Figure(panels: series.targetIndices.enumerated().map { o, t in
            let history = (part.rows.upperBound - historyCount..<part.rows.upperBound).map { r in
                (x: x(r), y: stats.denormalize(series.values[r * c + t], column: t))
            }
            let ahead = [(x: x(last), y: history.last!.y)] + rows.enumerated().map { (x: x(last + $0.offset + 1), y: $0.element[o]) }
            return LineChart(title: "\(title): \(names[o]) forecast", xLabel: time?.name ?? "step (0 = last observed)", yLabel: names[o],
                             series: [.init(name: "history", points: history),
                                      .init(name: "forecast", points: ahead, style: .init(dash: .dashed, markers: true))],
                             divider: .init(x: x(last), leftLabel: "history", rightLabel: "forecast"),
                             height: names.count > 1 ? 320 : 480)
        })
    }

    /// The commands that fit this model, for messages that turn a wrong one away.
    public var fittingCommands: String {
        switch experiment.data.kind {
        case .series: return "use recur forecast, recur predict or recur eval"
        case .chars, .words: return "use recur sample, recur predict or recur eval"
        case .sequences: return "use recur predict or recur eval"
        }
    }

    /// The most future steps one `forecast` call makes.
    public static let maxForecastSteps = 1_000_000

    /// The run directory the model's checkpoint lives in (…/RUN/checkpoints/step-N), if it does.
    public var runDirectory: URL? {
        let parent = location.deletingLastPathComponent()
        return parent.lastPathComponent == "checkpoints" ? parent.deletingLastPathComponent() : nil
    }

    /// Where a plot of this model goes by default: `name` in its run directory, or `./name`.
    public func defaultPlotPath(_ name: String) -> String {
        runDirectory.map { $0.appendingPathComponent(name).path } ?? name
    }

    /// Refuses an output of a command on this model that would replace its data, `inputs` or
    /// its own files, or land in another run's directory (`OutputPath.checkSeparate`).
    public func checkOutput(_ path: String, what: String, inputs: [String] = []) throws {
        var read = inputs + [dataPath]
        if FileManager.default.fileExists(atPath: location.path) {
            read += [location.path, location.appendingPathComponent(ModelCheckpoint.fileName).path,
                     location.appendingPathComponent(TrainingState.fileName).path]
        }
        try OutputPath.checkSeparate(path, what: what, inputs: read, ownRun: runDirectory)
    }

}
