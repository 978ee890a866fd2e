// MAPE, sMAPE and MASE of a forecaster (recur eval), against the values computed here by hand
// from the model's own predictions on the same split and the training rows of the file.

import Foundation
import XCTest
@testable import RecurTrain
import RecurEngine
import RecurParallel

final class ForecastMetricsTests: XCTestCase {
    func testMAPE_sMAPE_MASE_MatchHandComputedValues() throws {
        let dir = try temporaryDirectory()
        // Positive values away from 0, so every APE is defined; a season of 5 rows.
        var values: [Double] = []
        for i in 0..<200 {
            let season: Double = 3 * sin(Double(i) * 2 * Double.pi / 5)
            values.append(10 + season + Double(i % 7) * 0.25)
        }
        try ("t,value\n" + values.enumerated().map { "\($0.offset),\($0.element)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        let config = try ExperimentConfig.parse(yaml: """
            data: {kind: series, path: \(dir.appendingPathComponent("s.csv").path), columns: [value], seq_len: 6, target: last, seasonality: 5}
            model: {cell: gru, hidden_size: 6}
            training: {steps: 1, batch_size: 8}
            """, file: "m.yaml")
        let dataset = try config.loadDataset(configPath: nil)
        let engine = try Engine(config.engineConfig(for: dataset, threads: 1), dataset: dataset, comm: SingleProcessCommunicator())
        let report = try engine.evaluationReport(.test, seasonality: 5)
        let first = try XCTUnwrap(try engine.predictionTable(.test).firstTarget)
        let n = Double(first.actual.count)
        XCTAssertGreaterThan(n, 10)
        let errors = zip(first.predicted, first.actual).map { p, a in (p: p, a: a, d: abs(p - a)) }
        let mae = errors.map(\.d).reduce(0, +) / n
        let mape = 100 * errors.map { $0.d / abs($0.a) }.reduce(0, +) / n
        let smape = 100 * errors.map { 2 * $0.d / (abs($0.a) + abs($0.p)) }.reduce(0, +) / n
        // MASE's scale: the seasonal naive forecast's MAE on the training rows (80% of 200).
        let train = Array(values[0..<160])
        var scaleSum = 0.0
        for t in 5..<train.count { scaleSum += abs(train[t] - train[t - 5]) }
        let scale = scaleSum / Double(train.count - 5)
        // The report works in Float outputs and Double sums: agreement to float precision.
        XCTAssertEqual(report.mae!["value"]!, mae, accuracy: 1e-4 * mae)
        XCTAssertEqual(report.mape!["value"]!, mape, accuracy: 1e-4 * mape)
        XCTAssertEqual(report.smape!["value"]!, smape, accuracy: 1e-4 * smape)
        XCTAssertEqual(report.mase!["value"]!, mae / scale, accuracy: 1e-4 * mae / scale)
        XCTAssertEqual(report.columns, ["value"])
    }

    /// Targets are reported in the experiment's order, not alphabetically.
    func testEvalText_ListsTargetsInTheConfigsOrder() throws {
        let dir = try temporaryDirectory()
        let rows = (0..<150).map { i in "\(sin(Double(i) * 0.3)),\(cos(Double(i) * 0.3) + 2)" }
        try ("zeta,alpha\n" + rows.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: two}
        data: {kind: series, path: s.csv, columns: [zeta, alpha], seq_len: 6}
        model: {cell: gru, hidden_size: 6}
        training: {steps: 3, batch_size: 8}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        let eval = try runRecur(["eval", "runs/two"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let zeta = try XCTUnwrap(eval.stdout.range(of: "zeta: RMSE")), alpha = try XCTUnwrap(eval.stdout.range(of: "alpha: RMSE"))
        XCTAssertLessThan(zeta.lowerBound, alpha.lowerBound, eval.stdout)
        XCTAssert(eval.stdout.contains("MASE") && eval.stdout.contains("sMAPE"), eval.stdout)
    }
}
