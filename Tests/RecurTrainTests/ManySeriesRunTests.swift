// Many series through a whole run (Note [Many series], Note [Time axis]): one model over a long
// table of three series, eval reporting each series (text and JSON, the overall MASE their
// mean, the same at one and two threads), predict and forecast rows led by the time column and
// the series, and forecasts continuing each series' months.

import Foundation
import XCTest

final class ManySeriesRunTests: XCTestCase {
    func testThreeSeries_TrainEvalPredictForecast() throws {
        let dir = try temporaryDirectory()
        // Three series of 60 months at different scales, interleaved by month as retail data comes.
        var text = "month,shop,sales\n"
        for i in 0..<60 {
            for (k, shop) in ["north", "south", "west"].enumerated() {
                // A season and a trend, so the seasonal naive forecast has an error to scale by.
                let v = Double(10 * (k * k + 1)) * (2 + sin(Double(i) * 2 * .pi / 12 + Double(k)) + 0.02 * Double(i))
                text += String(format: "%04d-%02d,%@,%.3f\n", 2015 + i / 12, i % 12 + 1, shop, v)
            }
        }
        try text.write(to: dir.appendingPathComponent("long.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: shops}
        data: {kind: series, path: long.csv, series_column: shop, columns: [sales], normalize_per: series, seasonality: 12,
               seq_len: 6, split: {train: 0.6, validation: 0.2, test: 0.2}}
        model: {cell: gru, hidden_size: 8}
        training: {steps: 60, batch_size: 16, optimizer: {kind: adam, lr: 0.01}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let train = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)

        let eval = try runRecur(["eval", "runs/shops", "--split", "test"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssert(eval.stdout.contains("per series (3):"), eval.stdout)
        for shop in ["north", "south", "west"] { XCTAssert(eval.stdout.contains("  \(shop) sales: RMSE "), eval.stdout) }
        func report(_ threads: String) throws -> [String: Any] {
            let r = try runRecur(["eval", "runs/shops", "--split", "test", "--json", "--threads", threads], in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let one = try report("1"), two = try report("2")
        let perSeries = try XCTUnwrap(one["per_series"] as? [[String: Any]])
        XCTAssertEqual(perSeries.map { $0["name"] as? String }, ["north", "south", "west"], "in the file's order")
        // 12 test rows per series: 6 windows of 6 steps and a target each.
        XCTAssertEqual(perSeries.map { $0["windows"] as? Int }, [6, 6, 6])
        let mases = perSeries.compactMap { ($0["mase"] as? [String: Double])?["sales"] }
        XCTAssertEqual(mases.count, 3)
        XCTAssertEqual((one["mase"] as? [String: Double])?["sales"] ?? .nan, mases.reduce(0, +) / 3, accuracy: 1e-12, "the mean of the series' MASEs")
        // Two threads split the batches among replicas: each window still comes back with its own series' statistics.
        let perSeriesTwo = try XCTUnwrap(two["per_series"] as? [[String: Any]])
        for (a, b) in zip(perSeries, perSeriesTwo) {
            XCTAssertEqual((a["mae"] as? [String: Double])?["sales"] ?? .nan, (b["mae"] as? [String: Double])?["sales"] ?? -1, accuracy: 1e-4)
        }

        let predict = try runRecur(["predict", "runs/shops", "--input", "long.csv"], in: dir)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let rows = predict.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first, "month,series,window,predicted_sales,actual_sales")
        XCTAssertEqual(rows.count - 1, 3 * (60 - 6))
        XCTAssert(rows[1].hasPrefix("2015-07,north,0,"), String(rows[1]))
        XCTAssert(rows[55].hasPrefix("2015-07,south,54,"), "south's first window after north's 54: \(rows[55])")

        let forecast = try runRecur(["forecast", "runs/shops", "--steps", "2"], in: dir)
        XCTAssertEqual(forecast.status, 0, forecast.stderr)
        XCTAssertEqual(forecast.stdout.split(separator: "\n").map { $0.split(separator: ",").prefix(3).joined(separator: ",") },
                       ["month,series,step", "2020-01,north,1", "2020-02,north,2", "2020-01,south,1", "2020-02,south,2", "2020-01,west,1", "2020-02,west,2"])
        let svg = try String(contentsOf: dir.appendingPathComponent("runs/shops/forecast.svg"), encoding: .utf8)
        XCTAssert(svg.contains("series north") && svg.contains(">month</text>"), "the first series against its months")
    }

    /// Two targets: every output keeps the config's target order (not the file's), and each
    /// target gets its own panel in eval's and forecast's plots, against the dates.
    func testTwoTargets_InTheConfigsOrder_EachInItsOwnPanel() throws {
        let dir = try temporaryDirectory()
        var text = "date,a,b\n"
        for i in 0..<120 { text += String(format: "%04d-%02d-01,%.4f,%.4f\n", 2000 + i / 12, i % 12 + 1, sin(Double(i) / 4), cos(Double(i) / 6)) }
        try text.write(to: dir.appendingPathComponent("two.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: two}
        data: {kind: series, path: two.csv, columns: [b, a], seq_len: 8}
        model: {cell: gru, hidden_size: 8}
        training: {steps: 20, batch_size: 8}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRecur(["train", "e.yaml", "--quiet"], in: dir).status, 0)
        let forecast = try runRecur(["forecast", "runs/two", "--steps", "2"], in: dir)
        XCTAssertEqual(forecast.stdout.split(separator: "\n").first, "date,step,b,a")
        XCTAssert(forecast.stdout.contains("\n2010-01-01,1,"), "the monthly dates continue: \(forecast.stdout)")
        let predict = try runRecur(["predict", "runs/two", "--input", "two.csv"], in: dir)
        XCTAssertEqual(predict.stdout.split(separator: "\n").first, "date,window,predicted_b,predicted_a,actual_b,actual_a")
        let eval = try runRecur(["eval", "runs/two", "--plot", "ev.svg"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        for file in ["ev.svg", "runs/two/forecast.svg"] {
            let svg = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            XCTAssert(svg.contains("plot-area-0") && svg.contains("plot-area-1"), "\(file): a panel per target")
            XCTAssert(svg.contains(": b") && svg.contains(": a"), "\(file): each panel names its target")
            XCTAssert(svg.contains(">date</text>"), "\(file): against the dates")
        }
    }
}
