// The task's metrics over one split, for `recur eval`: loss and perplexity / bits per token for
// text, RMSE and MAE in original units per target column for series, accuracy and a confusion
// matrix for classification. Sums and counts are reduced across replicas and ranks, never means.

import Foundation
import RecurExperiment
import RecurStore
import RecurReport
import RecurData
import RecurPlan
import RecurEngine
import RecurKernels

/// What `recur eval` prints (and writes with --json).
public struct EvaluationReport: Encodable, Sendable {
    public var split: String
    public var windows: Int
    public var targets: Int
    /// Mean loss per target: cross-entropy in nats, or mean squared error in normalised units.
    public var loss: Double
    public var perplexity: Double?
    public var bitsPerToken: Double?
    /// Series: per target column, in the data's original units.
    public var rmse: [String: Double]?
    public var mae: [String: Double]?
    /// Series, per target column: MAPE and sMAPE in percent (as the M4 competition defines them:
    /// |y − ŷ| / |y| and 2|y − ŷ| / (|y| + |ŷ|), over the values where they are defined), and
    /// MASE, the MAE over the in-sample seasonal naive forecast's (|y_t − y_{t−m}| on the
    /// training rows, m = data.seasonality).
    public var mape: [String: Double]?
    public var smape: [String: Double]?
    public var mase: [String: Double]?
    /// Series: the target columns in the experiment's order (the maps above are unordered).
    public var columns: [String]?
    /// Many series (Note [Many series]): each series' metrics, in the file's order. The
    /// overall RMSE, MAE, MAPE and sMAPE pool every value; the overall MASE is the mean of the
    /// series' MASEs (as the M4 competition averages it).
    public var perSeries: [SeriesScores]?
    public var accuracy: Double?
    /// Classification: confusion[true][predicted] counts.
    public var confusion: [[Int]]?
    /// Classification: the classes' names in id order, when they are named (rows and columns of
    /// `confusion`, entries of `perClass`).
    public var classNames: [String]?
    /// Classification: precision, recall, F1 and support per class, and their macro and
    /// support-weighted averages (as scikit-learn's classification_report; 0 where undefined).
    public var perClass: [ClassScores]?
    public var macro: ClassScores?
    public var weighted: ClassScores?

    enum CodingKeys: String, CodingKey {
        case split, windows, targets, loss, perplexity, rmse, mae, mape, smape, mase, columns, accuracy, confusion, macro, weighted
        case classNames = "class_names"
        case bitsPerToken = "bits_per_token", perClass = "per_class", perSeries = "per_series"
    }

    /// snake_case keys; a non-finite number (a diverged model's loss) is written as null,
    /// since JSON has no NaN or infinity.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func number(_ v: Double?, _ key: CodingKeys) throws {
            guard let v else { return }
            if v.isFinite { try c.encode(v, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        func numbers(_ m: [String: Double]?, _ key: CodingKeys) throws {
            guard let m else { return }
            try c.encode(m.mapValues { $0.isFinite ? Optional($0) : nil }, forKey: key)
        }
        try c.encode(split, forKey: .split)
        try c.encode(windows, forKey: .windows)
        try c.encode(targets, forKey: .targets)
        try number(loss, .loss)
        try number(perplexity, .perplexity)
        try number(bitsPerToken, .bitsPerToken)
        try numbers(rmse, .rmse)
        try numbers(mae, .mae)
        try numbers(mape, .mape)
        try numbers(smape, .smape)
        try numbers(mase, .mase)
        try c.encodeIfPresent(columns, forKey: .columns)
        try c.encodeIfPresent(perSeries, forKey: .perSeries)
        try number(accuracy, .accuracy)
        try c.encodeIfPresent(confusion, forKey: .confusion)
        try c.encodeIfPresent(classNames, forKey: .classNames)
        try c.encodeIfPresent(perClass, forKey: .perClass)
        try c.encodeIfPresent(macro, forKey: .macro)
        try c.encodeIfPresent(weighted, forKey: .weighted)
    }
}

/// Precision, recall and F1 of one class (or an average of them), with its support.
public struct ClassScores: Encodable, Sendable, Equatable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int

    /// Per class from a confusion matrix confusion[true][predicted], then macro and weighted averages.
    public static func from(confusion m: [[Int]]) -> (perClass: [ClassScores], macro: ClassScores, weighted: ClassScores) {
        let k = m.count
        var scores: [ClassScores] = []
        for c in 0..<k {
            let tp = Double(m[c][c])
            let predicted = Double((0..<k).reduce(0) { $0 + m[$1][c] })
            let support = m[c].reduce(0, +)
            let p = predicted > 0 ? tp / predicted : 0, r = support > 0 ? tp / Double(support) : 0
            scores.append(ClassScores(precision: p, recall: r, f1: p + r > 0 ? 2 * p * r / (p + r) : 0, support: support))
        }
        let n = Double(max(k, 1)), total = Double(max(scores.reduce(0) { $0 + $1.support }, 1))
        func average(_ weight: (ClassScores) -> Double) -> ClassScores {
            ClassScores(precision: scores.reduce(0) { $0 + weight($1) * $1.precision },
                        recall: scores.reduce(0) { $0 + weight($1) * $1.recall },
                        f1: scores.reduce(0) { $0 + weight($1) * $1.f1 },
                        support: scores.reduce(0) { $0 + $1.support })
        }
        return (scores, average { _ in 1 / n }, average { Double($0.support) / total })
    }
}

/// One series' forecast metrics per target column, in original units (Note [Many series]).
public struct SeriesScores: Encodable, Sendable {
    public var name: String
    /// Windows of the split in this series.
    public var windows: Int
    public var rmse: [String: Double]
    public var mae: [String: Double]
    public var mape: [String: Double]
    public var smape: [String: Double]
    public var mase: [String: Double]

    enum CodingKeys: String, CodingKey { case name, windows, rmse, mae, mape, smape, mase }

    /// A non-finite number (a series too short for MASE's scale) is written as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(windows, forKey: .windows)
        for (m, key) in [(rmse, CodingKeys.rmse), (mae, .mae), (mape, .mape), (smape, .smape), (mase, .mase)] {
            try c.encode(m.mapValues { $0.isFinite ? Optional($0) : nil }, forKey: key)
        }
    }
}

/// Forecast error sums of one target column: the metrics come from them after reduction.
private struct ForecastSums {
    static let width = 6
    /// squared, absolute, APE sum and count, sAPE sum and count.
    static func add(_ sums: inout [Double], at s: Int, actual a: Double, predicted p: Double) {
        let d = p - a
        sums[s] += d * d; sums[s + 1] += abs(d)
        if a != 0 { sums[s + 2] += abs(d) / abs(a); sums[s + 3] += 1 }
        if abs(a) + abs(p) > 0 { sums[s + 4] += 2 * abs(d) / (abs(a) + abs(p)); sums[s + 5] += 1 }
    }

    /// RMSE, MAE, MAPE, sMAPE and MASE (`scale`: the seasonal naive MAE) from the sums at `s`
    /// over `count` values.
    static func metrics(_ sums: [Double], at s: Int, count: Double, scale: Double) -> (rmse: Double, mae: Double, mape: Double, smape: Double, mase: Double) {
        let n = max(count, 1), mae = sums[s + 1] / n
        return ((sums[s] / n).squareRoot(), mae,
                sums[s + 3] > 0 ? 100 * sums[s + 2] / sums[s + 3] : .nan,
                sums[s + 5] > 0 ? 100 * sums[s + 4] / sums[s + 5] : .nan,
                scale > 0 ? mae / scale : .nan)
    }
}

extension Engine {
    /// Evaluates every window of `split` once and computes the task's metrics.
    /// - Parameter seasonality: the season length m of MASE's naive forecast (series).
    public func evaluationReport(_ split: DataSplit, seasonality: Int = 1) throws -> EvaluationReport {
        let plan = try BatchPlan.evaluation(dataset, split: split, batchSize: config.batchSize)
        let series = dataset as? SeriesDataset
        let classes = dataset.targetKind.isClassification ? dataset.outputSize : 0
        let columns = series.map { s in s.series.targetIndices.map { s.series.columns[$0] } } ?? []
        // sums: loss, correct, then per column ForecastSums.width sums, then the confusion
        // matrix, then with many series each part's column sums and its window count.
        let per = ForecastSums.width
        let parts = series?.series.hasManySeries == true ? series!.series.parts.count : 0
        let partBase = 2 + per * columns.count + classes * classes, partWidth = per * columns.count + 1
        var sums = [Double](repeating: 0, count: partBase + parts * partWidth)
        let pass = evaluationPass(plan, split: split) { out in
            let n = out.rows * out.outputSize
            if let series, let t = out.targetValues {
                var y = Array(UnsafeBufferPointer(start: out.outputs, count: n))
                var target = Array(UnsafeBufferPointer(start: t, count: n))
                let b = out.windows, width = out.outputSize
                // Each window's series: its values come back with that series' statistics.
                let seriesOf = (0..<b).map { j in out.windowIndices.map { series.place(split, $0[$0.startIndex + j]).piece.series } ?? 0 }
                y.withUnsafeMutableBufferPointer { yb in
                    target.withUnsafeMutableBufferPointer { tb in
                        for r in 0..<out.rows {
                            let s = seriesOf[r % b]
                            series.denormalizeTargets(UnsafeMutableBufferPointer(rebasing: yb[r * width ..< (r + 1) * width]), series: s)
                            series.denormalizeTargets(UnsafeMutableBufferPointer(rebasing: tb[r * width ..< (r + 1) * width]), series: s)
                        }
                    }
                }
                for i in 0..<n {
                    let c = i % columns.count, a = Double(target[i]), p = Double(y[i])
                    ForecastSums.add(&sums, at: 2 + per * c, actual: a, predicted: p)
                    if parts > 0 { ForecastSums.add(&sums, at: partBase + seriesOf[(i / width) % b] * partWidth + per * c, actual: a, predicted: p) }
                }
                if parts > 0 { for j in 0..<b { sums[partBase + seriesOf[j] * partWidth + partWidth - 1] += 1 } }
            } else if classes > 0, let t = out.targetTokens {
                let base = 2 + per * columns.count
                for j in 0..<out.rows where t[j] >= 0 {   // −1: a padded step
                    let row = out.outputs + j * classes
                    sums[base + Int(t[j]) * classes + Act.argmax(row, count: classes)] += 1
                }
            }
        }
        // `targets` is already global (the plan's counts); only the sums need reducing.
        sums[0] = pass.loss; sums[1] = pass.correct
        let targets = pass.targets
        comm.allreduceSum(&sums)
        let loss = sums[0] / targets
        var report = EvaluationReport(split: split.rawValue, windows: plan.windowCount, targets: Int(targets), loss: loss)
        switch dataset.targetKind {
        case .nextTokens, .lastToken:
            report.perplexity = Foundation.exp(loss)
            report.bitsPerToken = loss / Foundation.log(2.0)
            report.accuracy = sums[1] / targets
        case .classLabel, .stepClasses:
            report.accuracy = sums[1] / targets
            let base = 2 + per * columns.count
            report.confusion = (0..<classes).map { t in (0..<classes).map { p in Int(sums[base + t * classes + p]) } }
            report.classNames = (dataset as? LabelledSequences)?.classNames
            let scores = ClassScores.from(confusion: report.confusion!)
            report.perClass = scores.perClass; report.macro = scores.macro; report.weighted = scores.weighted
        case .nextValues, .lastValues:
            let perColumn = targets / Double(max(columns.count, 1))
            var rmse: [String: Double] = [:], mae: [String: Double] = [:]
            var mape: [String: Double] = [:], smape: [String: Double] = [:], mase: [String: Double] = [:]
            for (c, name) in columns.enumerated() {
                let scale = parts > 0 ? .nan : series.map { $0.seasonalNaiveMAE(targetColumn: c, seasonality: seasonality) } ?? .nan
                let m = ForecastSums.metrics(sums, at: 2 + per * c, count: perColumn, scale: scale)
                rmse[name] = m.rmse; mae[name] = m.mae; mape[name] = m.mape; smape[name] = m.smape; mase[name] = m.mase
            }
            if parts > 0, let series {
                // Parts of one name (a series again in a given split's file) are one series.
                var order: [String] = [], byName: [String: [Double]] = [:], first: [String: Int] = [:]
                for (k, part) in series.series.parts.enumerated() {
                    let own = Array(sums[partBase + k * partWidth ..< partBase + (k + 1) * partWidth])
                    if let sum = byName[part.name] { byName[part.name] = zip(sum, own).map(+) } else { order.append(part.name); byName[part.name] = own; first[part.name] = k }
                }
                var scored: [SeriesScores] = []
                for name in order {
                    let own = byName[name]!, windows = own[partWidth - 1]
                    guard windows > 0 else { continue }
                    var score = SeriesScores(name: name, windows: Int(windows), rmse: [:], mae: [:], mape: [:], smape: [:], mase: [:])
                    // Each window holds targetsPerWindow values, columns.count of them per target row.
                    let count = windows * Double(dataset.targetsPerWindow) / Double(max(columns.count, 1))
                    for (c, column) in columns.enumerated() {
                        let m = ForecastSums.metrics(own, at: per * c, count: count,
                                                     scale: series.seasonalNaiveMAE(targetColumn: c, seasonality: seasonality, series: first[name]!))
                        score.rmse[column] = m.rmse; score.mae[column] = m.mae; score.mape[column] = m.mape
                        score.smape[column] = m.smape; score.mase[column] = m.mase
                    }
                    scored.append(score)
                }
                report.perSeries = scored
                for column in columns {
                    let finite = scored.compactMap { $0.mase[column] }.filter(\.isFinite)
                    mase[column] = finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
                }
            }
            report.rmse = rmse; report.mae = mae
            report.mape = mape; report.smape = smape; report.mase = mase
            report.columns = columns
        }
        return report
    }
}
