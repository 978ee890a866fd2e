// `recur predict`: a trained model applied to new data, one CSV row per window. Classifiers get
// the predicted class and every class's probability (and the label, when the file has one),
// sequence labellers the same for every step of every sequence;
// language models the loss of each window in nats and bits per token; forecasters the predicted
// and actual targets after each window, in original units. Run on one replica, so rows come in
// the file's order.

import Foundation
import RecurExperiment
import RecurStore
import RecurReport
import RecurData
import RecurPlan
import RecurEngine
import RecurKernels
import RecurParallel

/// What `recur predict` writes: a CSV table and a summary of the whole file.
public struct PredictionTable: Sendable {
    public var header: [String]
    public var rows: [[String]]
    /// Windows, and the task's summary (loss and perplexity, accuracy over labelled examples).
    public var summary: String
    /// Forecasters: each target's next value after each window, predicted and actual (original
    /// units), in the experiment's target order.
    public var targets: [(name: String, predicted: [Double], actual: [Double])] = []
    /// Forecasters: each window's series (an index into the table's parts) and the row its
    /// prediction is for.
    public var windowPlaces: [(series: Int, row: Int)] = []

    /// The first target's values (see `targets`).
    public var firstTarget: (name: String, predicted: [Double], actual: [Double])? { targets.first }

    public var csv: String {
        ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}

extension Engine {
    /// Predicts every window of `split` (`.train` holds the whole file `loadPredictionDataset`
    /// read). The engine must have one replica (rows then come in window order).
    public func predictionTable(_ split: DataSplit = .train) throws -> PredictionTable {
        precondition(threads == 1 && comm.size == 1, "predictionTable: run on one replica so rows keep the file's order")
        let plan = try BatchPlan.evaluation(dataset, split: split, batchSize: config.batchSize)
        var rows: [[String]] = []
        var header: [String] = []
        func number(_ v: Double) -> String { String(format: "%.6g", v) }
        var window = 0
        switch dataset.targetKind {
        case .classLabel, .stepClasses:
            // One row per sequence, or per real step of each sequence (steps past a sequence's
            // length are padding and get no row).
            let labelled = dataset as? LabelledSequences, perStep = dataset.targetKind == .stepClasses
            let c = dataset.outputSize
            // Named classes (Note [Named classes]) by their names, else by their ids.
            let names = (labelled?.classNames ?? (0..<c).map(String.init)).map(csvField)
            header = ["example"] + (perStep ? ["step"] : []) + ["predicted"] + names.map { labelled?.classNames == nil ? "p\($0)" : "p_\($0)" } + ["label"]
            var correct = 0, known = 0, steps = 0
            var p = [Float](repeating: 0, count: c)
            _ = evaluationPass(plan, split: split) { out in
                for j in 0..<out.windows {
                    for t in 0..<out.steps(ofWindow: j) {
                        let r = out.row(window: j, step: t), x = out.output(row: r)
                        let best = Act.argmax(x, count: c)
                        p.withUnsafeMutableBufferPointer { Act.softmax(x, $0.baseAddress!, count: c) }
                        var label = ""
                        let hasLabel = perStep ? (out.targetTokens?[r] ?? -1) >= 0 : labelled?.hasLabel[window + j] ?? true
                        if hasLabel, let tt = out.targetTokens {
                            label = names[Int(tt[r])]; known += 1
                            if Int(tt[r]) == best { correct += 1 }
                        }
                        rows.append([String(window + j)] + (perStep ? [String(t)] : []) + [names[best]] + p.map { number(Double($0)) } + [label])
                        steps += 1
                    }
                }
                window += out.windows
            }
            var summary = "\(window) sequences" + (perStep ? ", \(steps) steps" : "")
            if known > 0 {
                summary += String(format: "; accuracy %.4f over the %d ", Double(correct) / Double(known), known)
                    + (perStep ? "steps with a label" : "with a label")
            }
            return PredictionTable(header: header, rows: rows, summary: summary)
        case .nextTokens, .lastToken:
            let v = dataset.outputSize
            header = ["window", "tokens", "loss", "bits_per_token"]
            let pass = evaluationPass(plan, split: split) { out in
                guard let t = out.targetTokens else { return }
                let b = out.windows
                var sums = [Double](repeating: 0, count: b), counts = [Int](repeating: 0, count: b)
                for j in 0..<b {
                    for s in 0..<out.steps(ofWindow: j) {
                        let r = out.row(window: j, step: s), x = out.output(row: r)
                        sums[j] += Double(Act.logSumExp(x, count: v) - x[Int(t[r])]); counts[j] += 1
                    }
                }
                for j in 0..<b {
                    let loss = sums[j] / Double(counts[j])
                    rows.append([String(window), String(counts[j]), number(loss), number(loss / Foundation.log(2.0))])
                    window += 1
                }
            }
            let loss = pass.loss / pass.targets
            let summary = String(format: "%d windows, %.0f tokens: loss %.5f, perplexity %.4f, %.4f bits per token",
                                 window, pass.targets, loss, Foundation.exp(loss), loss / Foundation.log(2.0))
            return PredictionTable(header: header, rows: rows, summary: summary)
        case .nextValues, .lastValues:
            guard let series = dataset as? SeriesDataset else { preconditionFailure("value targets without a series") }
            let names = series.series.targetIndices.map { series.series.columns[$0] }
            let width = dataset.outputSize, k = width / max(names.count, 1)
            let labels = (0..<k).flatMap { h in names.map { k == 1 ? $0 : "\($0)+\(h + 1)" } }
            // The time of the row each window's prediction is for, and its series (Note [Time
            // axis], Note [Many series]), lead the row.
            let time = series.series.time, many = series.series.hasManySeries
            header = (time.map { [csvField($0.name)] } ?? []) + (many ? ["series"] : []) + ["window"]
                + labels.map { "predicted_\($0)" } + labels.map { "actual_\($0)" }
            var squared = 0.0, count = 0
            var each = names.map { (name: $0, predicted: [Double](), actual: [Double]()) }
            var places: [(series: Int, row: Int)] = []
            _ = evaluationPass(plan, split: split) { out in
                guard let t = out.targetValues else { return }
                // Next-step targets: the last step's row of each window.
                let b = out.windows
                var y = (0..<b).flatMap { j in Array(UnsafeBufferPointer(start: out.output(row: out.lastRow(window: j)), count: width)) }
                var target = (0..<b).flatMap { j in Array(UnsafeBufferPointer(start: t + out.lastRow(window: j) * width, count: width)) }
                for j in 0..<b {
                    let place = series.place(split, window + j)
                    y.withUnsafeMutableBufferPointer { series.denormalizeTargets(UnsafeMutableBufferPointer(rebasing: $0[j * width ..< (j + 1) * width]), series: place.piece.series) }
                    target.withUnsafeMutableBufferPointer { series.denormalizeTargets(UnsafeMutableBufferPointer(rebasing: $0[j * width ..< (j + 1) * width]), series: place.piece.series) }
                    let p = y[j * width ..< (j + 1) * width], a = target[j * width ..< (j + 1) * width]
                    for (u, w) in zip(p, a) { squared += Double(u - w) * Double(u - w); count += 1 }
                    let row = series.targetRow(split, window + j)
                    let lead = (time.map { [csvField($0.labels[row])] } ?? []) + (many ? [csvField(series.series.parts[place.piece.series].name)] : [])
                    rows.append(lead + [String(window + j)] + p.map { number(Double($0)) } + a.map { number(Double($0)) })
                    for o in names.indices {
                        each[o].predicted.append(Double(p[p.startIndex + o])); each[o].actual.append(Double(a[a.startIndex + o]))
                    }
                    places.append((place.piece.series, row))
                }
                window += b
            }
            let summary = String(format: "%d windows: RMSE %.4f of the last step's predictions (original units)",
                                 window, (squared / Double(max(count, 1))).squareRoot())
            return PredictionTable(header: header, rows: rows, summary: summary, targets: each, windowPlaces: places)
        }
    }
}

extension TrainedModel {
    /// This model's predictions for every window of `split` of `dataset`, on one replica in this
    /// process (rows in window order; micro-shards off, as they only matter for training).
    public func predictionTable(_ dataset: any WindowedDataset, split: DataSplit = .train) throws -> PredictionTable {
        var config = try experiment.engineConfig(for: dataset, threads: 1)
        config.microShards = nil
        let engine = try Engine(config, dataset: dataset, comm: SingleProcessCommunicator())
        engine.setParameters(checkpoint.parameters)
        return try engine.predictionTable(split)
    }
}
