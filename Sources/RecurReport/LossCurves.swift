// `recur plot`'s picture: one run's training loss (raw and smoothed), validation loss, baseline
// and best evaluation; or several runs' smoothed training and validation curves in one chart.
// Read from each run's metrics.jsonl.

import Foundation
import RecurKernels
import RecurStore

public enum LossCurves {
    /// A run directory's metrics records.
    /// - Throws: `RunOutputError` when the directory holds no metrics.jsonl or it is malformed.
    public static func records(ofRun directory: String) throws -> [MetricsRecord] {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("metrics.jsonl").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunOutputError(path: directory, line: nil, message: "holds no metrics.jsonl (give a directory that recur train wrote)")
        }
        return try MetricsLog.read(path: path)
    }

    /// The chart of one run or several (named by their directories' last components).
    public static func chart(runs: [(name: String, records: [MetricsRecord])], smoothing: Double, logScale: Bool) -> LineChart {
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
                series.append(.init(name: "", points: points(run.records, "validation"), style: .init(dash: .dashed, color: color)))
            }
            title = "\(runs.count) runs: training (solid, smoothed) and validation (dashed) loss"
        }
        return LineChart(title: title, xLabel: "step", yLabel: "loss", series: series, logScaleY: logScale, references: references)
    }
}
