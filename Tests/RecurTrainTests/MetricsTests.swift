// The reporting layer: metrics.jsonl round trips and survives a killed writer, TensorBoard event
// files carry correct CRCs and are read by the real `tensorboard` package (skipped without it),
// SVG charts are well-formed XML, and the progress reporter's three modes write what they should.

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import RecurTrain
@testable import RecurExperiment
@testable import RecurInference
@testable import RecurReport
@testable import RecurStore

final class MetricsTests: XCTestCase {
    private func scratchDirectory(_ name: String = #function) throws -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("recur-metrics-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }

    // MARK: - metrics.jsonl

    func testMetricsLog_RoundTrip_KeepsOrderAndTypes() throws {
        let path = try scratchDirectory() + "/metrics.jsonl"
        let log = try MetricsLog(path: path)
        try log.append(["kind": "train", "step": 1, "epoch": 1, "loss": 2.5, "lr": 0.003, "note": "a \"quoted\"\n\u{1}é",
                        "ok": true, "missing": nil])
        try log.append([("kind", .string("validation")), ("step", .int(1)), ("loss", .double(.nan)), ("whole", .double(5.0))])
        log.close()

        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 2)
        XCTAssertTrue(text.hasPrefix(#"{"kind":"train","step":1,"epoch":1,"loss":2.5,"lr":0.003,"#), text)
        // Every line is standard JSON that Foundation can read too.
        for line in text.split(separator: "\n") {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)))
        }

        let records = try MetricsLog.read(path: path)
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0].fields.map { $0.key }, ["kind", "step", "epoch", "loss", "lr", "note", "ok", "missing"])
        XCTAssertEqual(records[0]["note"], .string("a \"quoted\"\n\u{1}é"))
        XCTAssertEqual(records[0]["step"], .int(1))
        XCTAssertEqual(records[0]["lr"], .double(0.003))
        XCTAssertEqual(records[0]["ok"], .bool(true))
        XCTAssertEqual(records[0]["missing"], .null)
        XCTAssertEqual(records[1].kind, "validation")
        XCTAssertEqual(records[1]["loss"], .null, "NaN is written as null")
        XCTAssertEqual(records[1]["whole"], .double(5.0), "5.0 stays a double")
    }

    func testMetricsLog_TruncatedLastLine_IsSkippedAndAppendStartsClean() throws {
        let path = try scratchDirectory() + "/metrics.jsonl"
        let log = try MetricsLog(path: path)
        for step in 1...3 { try log.append(["kind": "train", "step": .int(step), "loss": .double(1 / Double(step))]) }
        log.close()
        // A killed run: half a line, no newline.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"kind":"train","step":4,"lo"#.utf8))
        handle.closeFile()

        XCTAssertEqual(try MetricsLog.read(path: path).map { $0.step }, [1, 2, 3])

        let reopened = try MetricsLog(path: path)
        try reopened.append(["kind": "train", "step": 4, "loss": 0.25])
        reopened.close()
        XCTAssertEqual(try MetricsLog.read(path: path).map { $0.step }, [1, 2, 3, 4])
    }

    func testMetricsLog_MalformedInnerLine_ThrowsWithLineNumber() throws {
        let path = try scratchDirectory() + "/metrics.jsonl"
        try Data("{\"step\":1}\n{\"step\":oops}\n{\"step\":3}\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try MetricsLog.read(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(path):2: malformed record"), "\(error)")
        }
    }

    func testMetricsLog_ResumeTruncatesAfterStep_NoDuplicatedSteps() throws {
        let path = try scratchDirectory() + "/metrics.jsonl"
        let log = try MetricsLog(path: path)
        try log.append(["kind": "config", "name": "run"])  // no step: kept
        for step in 1...10 {
            try log.append(["kind": "train", "step": .int(step)])
            if step % 5 == 0 { try log.append(["kind": "validation", "step": .int(step)]) }
        }
        log.close()

        // The last checkpoint was at step 5; the run died after step 10 and resumes from 5.
        let resumed = try MetricsLog(path: path, truncatingAfterStep: 5)
        for step in 6...7 { try resumed.append(["kind": "train", "step": .int(step)]) }
        resumed.close()
        let records = try MetricsLog.read(path: path)
        XCTAssertEqual(records.first?.kind, "config")
        let trainSteps = records.filter { $0.kind == "train" }.compactMap { $0.step }
        XCTAssertEqual(trainSteps, [1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(records.filter { $0.kind == "validation" }.compactMap { $0.step }, [5])

        try MetricsLog.truncate(path: path, afterStep: 2)
        XCTAssertEqual(try MetricsLog.read(path: path).compactMap { $0.step }, [1, 2])
    }

    // MARK: - TensorBoard

    func testCRC32C_KnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)   // RFC 3720 B.4
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
    }

    func testTensorBoard_Records_ParseWithValidCRCs() throws {
        let dir = try scratchDirectory()
        let writer = try TensorBoardWriter(directory: dir, wallTime: Date(timeIntervalSince1970: 1_700_000_000), hostname: "host/a")
        try writer.add(tag: "train/loss", value: 1.5, step: 10, wallTime: Date(timeIntervalSince1970: 1_700_000_001))
        try writer.add(tag: "train/loss", value: 0.75, step: 20)
        writer.close()
        XCTAssertEqual((writer.path as NSString).lastPathComponent, "events.out.tfevents.1700000000.host_a")

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        let payloads = try TFRecord.payloads(bytes)
        XCTAssertEqual(payloads.count, 3)

        let first = ProtoFields(payloads[0])
        XCTAssertEqual(first.double(1), 1_700_000_000)
        XCTAssertEqual(first.varint(2), 0)
        XCTAssertEqual(first.bytes(3).map { String(decoding: $0, as: UTF8.self) }, "brain.Event:2")

        let second = ProtoFields(payloads[1])
        XCTAssertEqual(second.double(1), 1_700_000_001)
        XCTAssertEqual(second.varint(2), 10)
        let value = ProtoFields(try XCTUnwrap(ProtoFields(try XCTUnwrap(second.bytes(5))).bytes(1)))
        XCTAssertEqual(value.bytes(1).map { String(decoding: $0, as: UTF8.self) }, "train/loss")
        XCTAssertEqual(value.float(2), 1.5)

        // A half-written last record is not an error; a flipped bit is.
        XCTAssertEqual(try TFRecord.payloads(Array(bytes.dropLast(3))).count, 2)
        bytes[bytes.count - 6] ^= 0x01
        XCTAssertThrowsError(try TFRecord.payloads(bytes))
    }

    func testTensorBoard_EventsReadByTensorBoard() throws {
        guard let python = tensorboardPython() else {
            throw XCTSkip("no Python with the tensorboard package: set RECUR_TORCH_PYTHON, or install tensorboard for /opt/torchref/bin/python or python3")
        }
        let dir = try scratchDirectory()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let writer = try TensorBoardWriter(directory: dir, wallTime: start)
        for step in 0..<10 {
            try writer.add(tag: "train/loss", value: 1 / Double(step + 1), step: step)
            try writer.add(tag: "train/lr", value: 0.001, step: step)
        }
        writer.close()
        // A resumed run: a later file restarts at step 5 with different values.
        let resumed = try TensorBoardWriter(directory: dir, wallTime: start.addingTimeInterval(60))
        try resumed.markRestart(atStep: 5)
        for step in 5..<10 { try resumed.add(tag: "train/loss", value: 100 + Double(step), step: step) }
        resumed.close()

        let script = """
        import json, sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        ea = EventAccumulator(sys.argv[1]); ea.Reload()
        out = {tag: [[e.step, e.value] for e in ea.Scalars(tag)] for tag in ea.Tags()["scalars"]}
        print(json.dumps(out))
        """
        let (status, output, errors) = try runProcess(python, ["-c", script, dir])
        XCTAssertEqual(status, 0, errors)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [[Double]]], output)
        let loss = try XCTUnwrap(parsed["train/loss"])
        XCTAssertEqual(loss.map { Int($0[0]) }, Array(0..<10))
        for (step, value) in loss.map({ (Int($0[0]), $0[1]) }) {
            let expected = step < 5 ? 1 / Double(step + 1) : 100 + Double(step)
            XCTAssertEqual(value, Double(Float(expected)), accuracy: 1e-6, "step \(step)")
        }
        XCTAssertEqual(parsed["train/lr"]?.count, 5, "points from step 5 on were purged by the restart")
    }

    private func tensorboardPython() -> String? {
        var candidates: [String] = []
        if let p = ProcessInfo.processInfo.environment["RECUR_TORCH_PYTHON"], !p.isEmpty { candidates.append(p) }
        candidates.append("/opt/torchref/bin/python")
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        candidates += path.split(separator: ":").map { "\($0)/python3" }
        for python in candidates where FileManager.default.isExecutableFile(atPath: python) {
            if let r = try? runProcess(python, ["-c", "import tensorboard.backend.event_processing.event_accumulator"]), r.status == 0 {
                return python
            }
        }
        return nil
    }

    private func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    // MARK: - SVG

    func testSVG_LossChart_IsWellFormedWithNamesAndLogTicks() throws {
        let train = (1...200).map { (x: Double($0), y: 3 * exp(-Double($0) / 50) + 0.05) }
        let validation = stride(from: 20, through: 200, by: 20).map { (x: Double($0), y: 3.1 * exp(-Double($0) / 55) + 0.07) }
        let chart = LineChart(title: "Loss <char-lstm> & co", xLabel: "step", yLabel: "loss",
                              series: [.init(name: "training", points: train),
                                       .init(name: "validation", points: validation, style: .init(dash: .dashed, markers: true))],
                              logScaleY: true)
        let svg = chart.svg()
        let elements = try parseXML(svg)
        XCTAssertEqual(elements.first, "svg")
        XCTAssertTrue(svg.contains(">training<") && svg.contains(">validation<"))
        XCTAssertTrue(svg.contains("Loss &lt;char-lstm&gt; &amp; co"))
        XCTAssertTrue(svg.contains(">1<") && svg.contains(">0.1<"), "decade ticks on the log axis")
        XCTAssertEqual(elements.filter { $0 == "polyline" }.count, 2)
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
    }

    func testSVG_NaNConstantSingleAndEmpty_StayFinite() throws {
        let withGap = [(x: 0.0, y: 1.0), (x: 1, y: .nan), (x: 2, y: 2), (x: 3, y: 3), (x: .infinity, y: 1)]
        let cases: [LineChart] = [
            LineChart(title: "gap", xLabel: "t", yLabel: "v", series: [.init(name: "with gap", points: withGap)]),
            LineChart(title: "flat", xLabel: "t", yLabel: "v", series: [.init(name: "constant", values: [4, 4, 4, 4])]),
            LineChart(title: "flat log", xLabel: "t", yLabel: "v", series: [.init(name: "constant", values: [0.5, 0.5])], logScaleY: true),
            LineChart(title: "zero", xLabel: "t", yLabel: "v", series: [.init(name: "zeros", values: [0, 0])]),
            LineChart(title: "one", xLabel: "t", yLabel: "v", series: [.init(name: "single", points: [(x: 7, y: 3)])]),
            LineChart(title: "none", xLabel: "t", yLabel: "v", series: [.init(name: "empty", points: [])]),
            LineChart(title: "nothing", xLabel: "t", yLabel: "v", series: []),
            LineChart(title: "all bad", xLabel: "t", yLabel: "v", series: [.init(name: "nan", values: [.nan, .nan])], logScaleY: true),
        ]
        for chart in cases {
            let svg = chart.svg()
            let elements = try parseXML(svg)
            XCTAssertEqual(elements.first, "svg", chart.title)
            XCTAssertFalse(svg.lowercased().contains("nan") && chart.title != "all bad", chart.title)
            XCTAssertFalse(svg.contains("inf"), chart.title)
            for series in chart.series { XCTAssertTrue(svg.contains(">\(series.name)<"), chart.title) }
        }
        // The NaN splits the line: one isolated point (a dot) and one two-point polyline.
        let gap = try parseXML(cases[0].svg())
        XCTAssertEqual(gap.filter { $0 == "polyline" }.count, 1)
        XCTAssertEqual(gap.filter { $0 == "circle" }.count, 1)
        XCTAssertTrue(cases[5].svg().contains("no data"))
    }

    func testSVG_ForecastDivider_DrawnBetweenHistoryAndForecast() throws {
        let history = LineChart.Series(name: "history", values: (0..<50).map { sin(Double($0) / 5) })
        let forecast = LineChart.Series(name: "forecast", points: (49..<70).map { (x: Double($0), y: sin(Double($0) / 5)) },
                                        style: .dashed)
        let chart = LineChart(title: "Forecast", xLabel: "t", yLabel: "value", series: [history, forecast],
                              divider: .init(x: 49, leftLabel: "history", rightLabel: "forecast"))
        let svg = chart.svg()
        XCTAssertEqual(try parseXML(svg).first, "svg")
        XCTAssertTrue(svg.contains("class=\"divider\""))
        XCTAssertTrue(svg.contains("stroke-dasharray=\"7 4\""))
        XCTAssertNotEqual(LineChart.palette[0], LineChart.palette[1])
    }

    func testSVG_NiceTicks_AreOneTwoFiveSteps() {
        XCTAssertEqual(LinearAxis.niceStep(0.13), 0.2)
        XCTAssertEqual(LinearAxis.niceStep(3), 5)
        XCTAssertEqual(LinearAxis.niceStep(7), 10)
        XCTAssertEqual(LinearAxis.niceStep(100), 100)
        let axis = LinearAxis(values: [0.3, 9.7], padFraction: 0)
        XCTAssertEqual(axis.ticks(), [0, 2, 4, 6, 8, 10])
        let flat = LinearAxis(values: [3, 3], padFraction: 0)
        XCTAssertLessThan(flat.low, 3)
        XCTAssertGreaterThan(flat.high, 3)
    }

    /// Axes that fit the data: x ends at the last step (not the next round number), a linear y
    /// axis of non-negative data does not run below 0, and a narrow log range (a language
    /// model's 3.5 → 1.4) gets at least four labelled ticks, not only "2" and "3".
    func testSVG_AxesFitTheData_AndNarrowLogRangesReadWell() throws {
        let x = LinearAxis(values: [10, 900], padFraction: 0, tight: true)
        XCTAssertEqual(x.low, 10); XCTAssertEqual(x.high, 900)
        XCTAssertEqual(x.ticks().last, 800)
        let y = LinearAxis(values: [2, 190], padFraction: 0.05, floor: 0)
        XCTAssertEqual(y.low, 0)
        XCTAssertGreaterThanOrEqual(y.high, 190)
        let narrow = LinearAxis(logValues: [log10(1.4), log10(3.5)])
        let labels = narrow.logTicks().map { String(format: "%g", pow(10, $0)) }
        XCTAssertGreaterThanOrEqual(labels.count, 4, "\(labels)")
        XCTAssertTrue(labels.contains("2") && labels.contains("3"), "\(labels)")
        // A reference line (the baseline) is drawn and labelled, and widens the y range to show it.
        let chart = LineChart(title: "t", xLabel: "step", yLabel: "loss", series: [.init(name: "v", values: [0.3, 0.2, 0.25])],
                              logScaleY: true, references: [.init(y: 1.08, label: "baseline 1.08")])
        let svg = chart.svg()
        XCTAssertEqual(try parseXML(svg).first, "svg")
        XCTAssertTrue(svg.contains("class=\"reference\"") && svg.contains(">baseline 1.08<"))
        XCTAssertTrue(svg.contains(">1<"), "the y axis reaches the baseline")
        // An unnamed series (the faint raw curve) has no legend entry; long names are shortened.
        let legend = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [
            .init(name: "", values: [1, 2], style: .init(opacity: 0.3)),
            .init(name: String(repeating: "a", count: 60), values: [1, 2])]).svg()
        XCTAssertTrue(legend.contains("stroke-opacity=\"0.30\""))
        XCTAssertTrue(legend.contains(String(repeating: "a", count: 31) + "…<"))
        XCTAssertFalse(legend.contains(String(repeating: "a", count: 60) + "</text>"), "the full name stays in the tooltip only")
    }

    /// recur plot: one run gets smoothed training over faint raw values, validation, the best
    /// step and the baseline; several runs share one figure; the smoothing is TensorBoard's.
    func testPlotCommand_OneRunAndSeveral() throws {
        let dir = try temporaryDirectory()
        try sineCSV(rows: 200).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        for (name, lr) in [("a", "0.01"), ("b", "0.003")] {
            try """
            experiment: {name: \(name)}
            data: {kind: series, path: s.csv, columns: [value], seq_len: 8}
            model: {cell: gru, hidden_size: 8}
            training: {steps: 60, batch_size: 8, eval_every: 10, log_every: 5, optimizer: {kind: adam, lr: \(lr)}}
            """.write(to: dir.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
            XCTAssertEqual(try runRecur(["train", "\(name).yaml", "--quiet"], in: dir).status, 0)
        }
        let one = try runRecur(["plot", "runs/a"], in: dir)
        XCTAssertEqual(one.status, 0, one.stderr)
        let svg = try String(contentsOf: dir.appendingPathComponent("runs/a/loss.svg"), encoding: .utf8)
        XCTAssertEqual(try parseXML(svg).first, "svg")
        for fragment in ["training (smoothed)", ">validation<", "best: ", "at step ", "class=\"reference\"", ">baseline ", "stroke-opacity"] {
            XCTAssertTrue(svg.contains(fragment), "«\(fragment)» missing from the one-run plot")
        }
        let several = try runRecur(["plot", "runs/a", "runs/b", "--output", "both.svg"], in: dir)
        XCTAssertEqual(several.status, 0, several.stderr)
        let both = try String(contentsOf: dir.appendingPathComponent("both.svg"), encoding: .utf8)
        XCTAssertTrue(both.contains(">a<") && both.contains(">b<") && both.contains("2 runs"))
        XCTAssertEqual(try parseXML(both).filter { $0 == "polyline" }.count >= 4, true)
        XCTAssertEqual(try runRecur(["plot", "runs/a", "nowhere"], in: dir).status, 2)
        XCTAssertEqual(try runRecur(["plot", "runs/a", "--smoothing", "1"], in: dir).status, 2)
        // Debiased EMA: a constant stays constant from the first point; a step is followed smoothly.
        let flat = LineChart.smoothed([(x: 1, y: 2), (x: 2, y: 2), (x: 3, y: 2)], weight: 0.8)
        for y in flat.map(\.y) { XCTAssertEqual(y, 2, accuracy: 1e-12) }
        let step = LineChart.smoothed([(x: 1, y: 0), (x: 2, y: 1), (x: 3, y: 1)], weight: 0.5)
        XCTAssertEqual(step.map(\.y)[1], (0.5 * 0.5 * 0 + 0.5 * 1) / 0.75, accuracy: 1e-12)
    }

    private struct XMLFailure: Error, CustomStringConvertible { var description: String }

    /// Parses `text` as XML and returns the element names in document order.
    private func parseXML(_ text: String) throws -> [String] {
        final class Collector: NSObject, XMLParserDelegate {
            var names: [String] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) { names.append(name) }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            throw XMLFailure(description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        return collector.names
    }

    // MARK: - Progress reporter

    private final class Capture {
        var out = ""
        var progress = ""
        var sinks: ProgressReporter.Sinks { .init(out: { self.out += $0 }, progress: { self.progress += $0 }) }
    }

    private final class FakeClock {
        var now = 100.0
    }

    private func trainEvent(_ step: Int, total: Int = 100) -> ProgressReporter.Event {
        .init(kind: .train, step: step, totalSteps: total, epoch: 1, loss: 1.0 / Double(step), learningRate: 0.003,
              gradientNorm: 0.5, sequencesPerSecond: 1234, tokensPerSecond: 56_789)
    }

    func testProgress_PlainMode_PrintsAtCadenceWithETA() {
        let capture = Capture(), clock = FakeClock()
        let reporter = ProgressReporter(options: .init(isTerminal: false, plainEvery: 10), sinks: capture.sinks, clock: { clock.now })
        for step in 1...100 {
            clock.now += 2
            reporter.report(trainEvent(step))
            if step == 50 {
                clock.now += 30  // evaluation time does not count as step time
                reporter.report(.init(kind: .validation, step: 50, totalSteps: 100, epoch: 1, loss: 0.25,
                                      metrics: ["accuracy": 0.9125, "perplexity": 1.28]))
            }
        }
        reporter.report(.init(kind: .summary, step: 100, totalSteps: 100, loss: 0.01, elapsedSeconds: 3725))
        let lines = capture.progress.split(separator: "\n").map(String.init)
        XCTAssertEqual(capture.out, "")
        XCTAssertEqual(lines.count, 1 + 10 + 1 + 1, capture.progress)  // step 1, every 10th, validation, summary
        XCTAssertFalse(capture.progress.contains("\r"))
        XCTAssertTrue(lines[0].hasPrefix("step 1/100 (1%)  epoch 1  loss 1  lr 3.00e-03  |g| 0.5  1234 seq/s  56.8k tok/s"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("step 10/100 (10%)"), lines[1])
        XCTAssertTrue(lines[1].hasSuffix("ETA 0:03:00"), lines[1])  // 90 steps × 2 s
        XCTAssertTrue(lines.contains("step 50/100  epoch 1  validation loss 0.25  accuracy 0.9125  perplexity 1.28"), capture.progress)
        let afterValidation = lines.first { $0.hasPrefix("step 60/100") } ?? ""
        XCTAssertTrue(afterValidation.hasSuffix("ETA 0:01:20"), afterValidation)
        XCTAssertEqual(lines.last, "done: 100/100 steps in 1:02:05  loss 0.01")
    }

    /// The bar moves with every step (progress events, rate-limited), not only at log_every;
    /// plain lines and JSON keep the log cadence and never see progress events.
    func testProgressEvents_MoveTheBarRateLimited_PlainAndJSONIgnoreThem() {
        func progress(_ step: Int) -> ProgressReporter.Event {
            var e = trainEvent(step); e.kind = .progress; return e
        }
        let capture = Capture(), clock = FakeClock()
        let bar = ProgressReporter(options: .init(isTerminal: true, columns: 100, redrawInterval: 0.1), sinks: capture.sinks, clock: { clock.now })
        bar.report(trainEvent(1))
        for step in 2...40 { clock.now += 0.01; bar.report(progress(step)) }   // 0.39 s of 10 ms steps
        let draws = capture.progress.components(separatedBy: "\r").count - 1
        XCTAssertEqual(draws, 4, "drawn at the first step, then every 0.1 s: \(capture.progress.debugDescription)")
        XCTAssert(capture.progress.contains("31/100"), "the bar shows the latest steps, not only logged ones")
        for format in [ProgressReporter.Format.text, .json] {
            let c = Capture()
            let r = ProgressReporter(options: .init(format: format, isTerminal: false), sinks: c.sinks, clock: { clock.now })
            for step in 2...40 { r.report(progress(step)) }
            XCTAssertEqual(c.out + c.progress, "", "\(format) mode logs at log_every only")
        }
    }

    /// Plain lines keep to the terminal's width when it is known (launch/train --np passes it).
    func testPlainLines_KeepToTheWidth_SummaryWrappedWhole() {
        let capture = Capture()
        let reporter = ProgressReporter(options: .init(isTerminal: false, columns: 40), sinks: capture.sinks)
        reporter.report(trainEvent(1))
        var summary = ProgressReporter.Event(kind: .summary, step: 100, totalSteps: 100, loss: 0.01, elapsedSeconds: 10)
        summary.labels = ["run_dir": "runs/a-rather-long-run-directory-name", "best_checkpoint": "runs/x/checkpoints/step-000100"]
        reporter.report(summary)
        let lines = capture.progress.split(separator: "\n")
        XCTAssert(lines.allSatisfy { $0.count <= 40 }, capture.progress)
        XCTAssert(lines[0].hasSuffix("…"), "a step line is cut: \(lines[0])")
        XCTAssert(capture.progress.contains("runs/a-rather-long-run-directory-name"), "a summary is wrapped, never cut")
    }

    func testProgress_JSONMode_OneObjectPerEventOnStdout() throws {
        let capture = Capture(), clock = FakeClock()
        let reporter = ProgressReporter(options: .init(format: .json, isTerminal: true), sinks: capture.sinks, clock: { clock.now })
        clock.now += 1; reporter.report(trainEvent(1, total: 4))
        clock.now += 1; reporter.report(trainEvent(2, total: 4))
        reporter.report(.init(kind: .validation, step: 2, totalSteps: 4, loss: .nan, metrics: ["rmse": 0.5]))
        clock.now += 8; reporter.report(.init(kind: .summary, step: 4, totalSteps: 4))
        reporter.error("recur: loss became NaN at step 3")

        XCTAssertEqual(capture.progress, "recur: loss became NaN at step 3\n")
        let lines = capture.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        let objects = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(objects.map { $0["kind"] as? String }, ["train", "train", "validation", "summary", "error"])
        XCTAssertEqual(objects[1]["eta_s"] as? Double, 2)
        XCTAssertEqual(objects[1]["tok_per_s"] as? Double, 56_789)
        XCTAssertTrue(objects[2]["loss"] is NSNull)
        XCTAssertEqual(objects[2]["rmse"] as? Double, 0.5)
        XCTAssertEqual(objects[3]["elapsed_s"] as? Double, 10)
        XCTAssertTrue(lines[0].hasPrefix(#"{"kind":"train","step":1,"total_steps":4,"epoch":1,"loss":1.0,"lr":0.003,"#), String(lines[0]))
    }

    func testProgress_QuietMode_OnlyErrorsAndSummary() {
        for format in [ProgressReporter.Format.text, .json] {
            let capture = Capture()
            let reporter = ProgressReporter(options: .init(format: format, quiet: true, isTerminal: true), sinks: capture.sinks)
            for step in 1...5 { reporter.report(trainEvent(step, total: 5)) }
            reporter.report(.init(kind: .validation, step: 5, totalSteps: 5, loss: 0.5))
            reporter.report(.init(kind: .summary, step: 5, totalSteps: 5, loss: 0.2, elapsedSeconds: 1))
            reporter.error("boom")
            let all = capture.out + capture.progress
            XCTAssertFalse(all.contains("\"train\"") || all.contains("step 1/5") || all.contains("validation"), all)
            XCTAssertTrue(all.contains("boom"))
            XCTAssertTrue(format == .json ? capture.out.contains("\"summary\"") : capture.progress.contains("done: 5/5 steps in 0:00:01  loss 0.2"), all)
        }
    }

    func testProgress_TerminalMode_RedrawsOneLineAndKeepsValidationAbove() {
        let capture = Capture(), clock = FakeClock()
        let reporter = ProgressReporter(options: .init(isTerminal: true, barWidth: 10, columns: 160, redrawInterval: 0.5),
                                        sinks: capture.sinks, clock: { clock.now })
        for step in 1...10 {
            clock.now += 0.3  // faster than the redraw interval: every other step is drawn
            reporter.report(trainEvent(step, total: 10))
            if step == 5 { reporter.report(.init(kind: .validation, step: 5, totalSteps: 10, loss: 0.4)) }
        }
        reporter.report(.init(kind: .summary, step: 10, totalSteps: 10, loss: 0.1, elapsedSeconds: 3))

        let text = capture.progress
        XCTAssertEqual(capture.out, "")
        XCTAssertTrue(text.hasPrefix("\r1/10  █░░░░░░░░░   10%  loss 1  lr 3.0e-03  |g| 0.5  1234 seq/s  56.8k tok/s  ETA --:--:--\u{1B}[K"), text)
        XCTAssertTrue(text.contains("\r10/10  ██████████  100%"), text)
        XCTAssertTrue(text.contains("ETA 0:00:00"), text)
        XCTAssertTrue(text.contains("\r\u{1B}[Kstep 5/10  validation loss 0.4\n\r5/10  █████░░░░░   50%"), text)
        XCTAssertTrue(text.hasSuffix("\r\u{1B}[Kdone: 10/10 steps in 0:00:03  loss 0.1\n"), text)
        // Throttled: fewer bar draws than steps (1, 3, 5, 7, 9 and the last), plus one redraw after validation.
        XCTAssertEqual(text.components(separatedBy: "\u{1B}[K").count - 1, 6 + 1 + 1 + 1)
        // Only the summary and validation lines end with a newline; bars are redrawn in place.
        XCTAssertEqual(text.filter { $0 == "\n" }.count, 2)
    }

    /// In a narrow terminal the bar shortens and the least useful fields go first, never the
    /// step, the loss or the ETA, and the line never reaches the last column (it would wrap).
    func testProgress_TerminalMode_NarrowTerminalsDropFieldsNotTheETA() {
        for columns in [40, 80, 160] {
            let capture = Capture()
            let reporter = ProgressReporter(options: .init(isTerminal: true, columns: columns, redrawInterval: 0), sinks: capture.sinks)
            reporter.report(trainEvent(3, total: 10))
            reporter.finish()
            let drawn = String(capture.progress.dropFirst().prefix { $0 != "\u{1B}" })
            XCTAssertLessThanOrEqual(drawn.count, columns - 1, "\(columns): \(drawn)")
            for field in ["3/10", "loss", "ETA"] { XCTAssert(drawn.contains(field), "\(columns) columns: \(drawn)") }
            if columns >= 160 { XCTAssert(drawn.contains("tok/s") && drawn.contains("lr "), drawn) }
            XCTAssertTrue(capture.progress.hasSuffix("\u{1B}[K\n"))
        }
    }

    func testProgress_Formatting() {
        XCTAssertEqual(formatDuration(83), "0:01:23")
        XCTAssertEqual(formatDuration(3725.4), "1:02:05")
        XCTAssertEqual(formatDuration(.nan), "--:--:--")
        XCTAssertEqual(formatRate(3.44), "3.4")
        XCTAssertEqual(formatRate(812), "812")
        XCTAssertEqual(formatRate(12_345), "12.3k")
        XCTAssertEqual(formatRate(1_240_000), "1.24M")
        XCTAssertEqual(formatValue(.infinity), "inf")
    }
}

/// Reads protobuf fields by number (last occurrence wins), enough to check an Event by hand.
private struct ProtoFields {
    var varints: [Int: UInt64] = [:]
    var fixed64: [Int: UInt64] = [:]
    var fixed32: [Int: UInt32] = [:]
    var lengthDelimited: [Int: [UInt8]] = [:]

    init(_ bytes: [UInt8]) {
        var i = 0
        func varint() -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.count {
                let b = bytes[i]; i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { break }
                shift += 7
            }
            return v
        }
        while i < bytes.count {
            let key = varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: varints[field] = varint()
            case 1: fixed64[field] = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }; i += 8
            case 5: fixed32[field] = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }; i += 4
            case 2: let n = Int(varint()); lengthDelimited[field] = Array(bytes[i..<(i + n)]); i += n
            default: return
            }
        }
    }

    func varint(_ field: Int) -> UInt64? { varints[field] }
    func double(_ field: Int) -> Double? { fixed64[field].map { Double(bitPattern: $0) } }
    func float(_ field: Int) -> Float? { fixed32[field].map { Float(bitPattern: $0) } }
    func bytes(_ field: Int) -> [UInt8]? { lengthDelimited[field] }
}

extension MetricsTests {
    /// Per-class precision, recall and F1 with macro and weighted averages, as scikit-learn's
    /// classification_report gives them for this confusion matrix (worked by hand).
    func testClassScores_FromConfusion_MatchHandComputedValues() {
        // rows: true class, columns: predicted.
        let m = [[5, 1, 0], [2, 3, 0], [0, 0, 0]]
        let (per, macro, weighted) = ClassScores.from(confusion: m)
        XCTAssertEqual(per[0].precision, 5.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(per[0].recall, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(per[1].precision, 3.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(per[1].recall, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(per[1].f1, 2 * 0.75 * 0.6 / 1.35, accuracy: 1e-12)
        XCTAssertEqual(per[2], ClassScores(precision: 0, recall: 0, f1: 0, support: 0), "no examples, no predictions: 0")
        XCTAssertEqual(macro.recall, (5.0 / 6 + 0.6 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(weighted.recall, (6 * 5.0 / 6 + 5 * 0.6) / 11, accuracy: 1e-12)
        XCTAssertEqual(weighted.support, 11)
    }

    /// `recur metrics RUN` (CSV for spreadsheets): every field in first-appearance order, empty
    /// cells where a record has none (and for non-finite values), quoted text where needed.
    func testMetricsCSV_ColumnsInFirstAppearanceOrder_EmptyCellsAndQuoting() {
        let records = [MetricsRecord([(key: "kind", value: .string("train")), (key: "step", value: .int(1)), (key: "loss", value: .double(0.5))]),
                       MetricsRecord([(key: "kind", value: .string("validation")), (key: "step", value: .int(1)), (key: "loss", value: .double(.nan)),
                                      (key: "accuracy", value: .double(0.25))]),
                       MetricsRecord([(key: "kind", value: .string("note")), (key: "message", value: .string("a, \"quoted\" note"))])]
        XCTAssertEqual(MetricsLog.csv(records), """
            kind,step,loss,accuracy,message
            train,1,0.5,,
            validation,1,,0.25,
            note,,,,"a, ""quoted"" note"

            """)
    }
}
