// Rank 0's terminal output during training: a progress bar redrawn in place when stderr is a
// terminal, plain lines otherwise, `--quiet` and `--log-format json`. It writes to injected
// sinks and never to files (MetricsLog does that) and is not thread-safe: one caller, rank 0.

import Foundation
import RecurKernels

/// Turns training events into terminal text or JSON lines.
public final class ProgressReporter {
    // MARK: Types

    /// One thing worth telling the user: a logged step, an evaluation, or the end of the run.
    public struct Event {
        /// `progress`: every step, for the bar only (not logged, not recorded): the bar moves with
        /// each step, rate-limited, while `train` events come at `training.log_every`.
        public enum Kind: String, Sendable { case start, train, progress, validation, summary }
        public var kind: Kind
        /// Optimizer updates done (1-based for the step just finished).
        public var step: Int
        public var totalSteps: Int
        /// 1-based epoch, when the run counts epochs.
        public var epoch: Int?
        public var loss: Double?
        public var learningRate: Double?
        public var gradientNorm: Double?
        public var sequencesPerSecond: Double?
        public var tokensPerSecond: Double?
        /// Named extra values (accuracy, perplexity, rmse, baseline …), shown sorted by name.
        public var metrics: [String: Double]
        /// Seconds since the run started; for a summary the reporter fills it in when nil.
        public var elapsedSeconds: Double?
        /// Named text values (run directory, best checkpoint, model, layout), sorted by name.
        public var labels: [String: String] = [:]

        public init(kind: Kind, step: Int, totalSteps: Int, epoch: Int? = nil, loss: Double? = nil,
                    learningRate: Double? = nil, gradientNorm: Double? = nil, sequencesPerSecond: Double? = nil,
                    tokensPerSecond: Double? = nil, metrics: [String: Double] = [:], elapsedSeconds: Double? = nil) {
            self.kind = kind
            self.step = step
            self.totalSteps = totalSteps
            self.epoch = epoch
            self.loss = loss
            self.learningRate = learningRate
            self.gradientNorm = gradientNorm
            self.sequencesPerSecond = sequencesPerSecond
            self.tokensPerSecond = tokensPerSecond
            self.metrics = metrics
            self.elapsedSeconds = elapsedSeconds
        }

        /// Field names the event itself uses; a metric must not reuse one.
        public static let reservedNames: Set<String> = ["kind", "step", "total_steps", "epoch", "loss", "lr", "grad_norm",
                                                        "seq_per_s", "tok_per_s", "elapsed_s", "eta_s", "message"]

        /// The event as ordered fields, the same names in `--log-format json` and metrics.jsonl;
        /// absent values are left out and metrics follow, sorted by name.
        public var fields: [(String, MetricValue)] {
            var out: [(String, MetricValue)] = [("kind", .string(kind.rawValue)), ("step", .int(step)),
                                                ("total_steps", .int(totalSteps))]
            if let epoch { out.append(("epoch", .int(epoch))) }
            if let loss { out.append(("loss", .double(loss))) }
            if let learningRate { out.append(("lr", .double(learningRate))) }
            if let gradientNorm { out.append(("grad_norm", .double(gradientNorm))) }
            if let sequencesPerSecond { out.append(("seq_per_s", .double(sequencesPerSecond))) }
            if let tokensPerSecond { out.append(("tok_per_s", .double(tokensPerSecond))) }
            for name in metrics.keys.sorted() {
                precondition(!Event.reservedNames.contains(name), "metric name '\(name)' clashes with an event field")
                out.append((name, .double(metrics[name]!)))
            }
            for name in labels.keys.sorted() { out.append((name, .string(labels[name]!))) }
            if let elapsedSeconds { out.append(("elapsed_s", .double(elapsedSeconds))) }
            return out
        }
    }

    /// `--log-format`: human text, or one JSON object per event on standard output.
    public enum Format: String, Sendable { case text, json }

    /// How the reporter writes.
    public struct Options: Sendable {
        public var format: Format
        /// Only errors and the final summary.
        public var quiet: Bool
        /// Whether the progress stream (stderr) is a terminal: then a bar redrawn with `\r`.
        public var isTerminal: Bool
        /// Without a terminal, print every n-th step's train event (the first and last always).
        public var plainEvery: Int
        /// Characters in the bar itself.
        public var barWidth: Int
        /// Terminal width; nil asks the terminal at every redraw (it may be resized). A bar line
        /// never wraps (which breaks `\r`): its least useful fields go first.
        public var columns: Int?
        /// Minimum seconds between redraws of the bar, so fast steps do not flood the terminal.
        public var redrawInterval: Double

        public init(format: Format = .text, quiet: Bool = false, isTerminal: Bool = ProgressReporter.drawsBar,
                    plainEvery: Int = 1, barWidth: Int = 24,
                    columns: Int? = nil,
                    redrawInterval: Double = 0.1) {
            self.format = format
            self.quiet = quiet
            self.isTerminal = isTerminal
            self.plainEvery = max(1, plainEvery)
            self.barWidth = max(5, barWidth)
            self.columns = columns
            self.redrawInterval = redrawInterval
        }
    }

    /// Where text goes: `out` for JSON lines, `progress` for human text (standard error).
    public struct Sinks {
        public var out: (String) -> Void
        public var progress: (String) -> Void

        public init(out: @escaping (String) -> Void, progress: @escaping (String) -> Void) {
            self.out = out
            self.progress = progress
        }

        /// Standard output and standard error.
        public static var standard: Sinks { Sinks(out: Console.out, progress: Console.error) }
        /// Nowhere (other ranks, programs that follow events themselves).
        public static var none: Sinks { Sinks(out: { _ in }, progress: { _ in }) }
    }

    /// Whether standard error shows a bar redrawn in place: a terminal (not TERM=dumb), or rank 0
    /// of `launch/train --np` started on one (RECUR_PROGRESS_TERMINAL=1: mpirun pipes the ranks'
    /// output to the terminal, and forwards the bar's bytes as they are).
    public static var drawsBar: Bool {
        Console.drawsInPlace(2) || ProcessInfo.processInfo.environment["RECUR_PROGRESS_TERMINAL"] == "1"
    }

    /// A reporter that shows nothing: for programs that follow `TrainingSession.onEvent` instead.
    public static var silent: ProgressReporter { ProgressReporter(options: .init(quiet: true, isTerminal: false), sinks: .none) }

    // MARK: State

    public let options: Options
    private let sinks: Sinks
    private let clock: () -> Double
    private let startTime: Double
    private var lastTrain: (step: Int, time: Double)?
    private var smoothedStepSeconds: Double?
    private var lastBar: String?
    /// The newest step not drawn yet (rate limit): its bar is made only when it is drawn, so a
    /// step between redraws costs no string.
    private var undrawn: Event?
    private var lastDrawTime = -Double.infinity
    private var shownTrainEvents = 0
    private var totalStepsSeen = 0

    /// Weight of the newest step-time sample in the moving average behind the ETA.
    private static let smoothing = 0.2

    /// - Parameters:
    ///   - options: Format, quiet mode, terminal or not, cadence.
    ///   - sinks: Where the text goes; standard output and error by default.
    ///   - clock: Seconds on a monotonic clock; injectable so tests control the ETA.
    public init(options: Options, sinks: Sinks = .standard,
                clock: @escaping () -> Double = { MonotonicClock.seconds() }) {
        self.options = options
        self.sinks = sinks
        self.clock = clock
        plainWidth = options.columns ?? ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init)
        self.startTime = clock()
    }

    /// Seconds left by the smoothed step time, once two train events have been seen.
    public var estimatedSecondsRemaining: Double? {
        guard let per = smoothedStepSeconds, let last = lastTrain else { return nil }
        return per * Double(max(0, totalStepsSeen - last.step))
    }

    // MARK: Reporting

    /// Shows one event in the configured format.
    public func report(_ event: Event) {
        let now = clock()
        var event = event
        totalStepsSeen = event.totalSteps
        switch event.kind {
        case .train, .progress: updateStepTime(step: event.step, now: now)
        case .validation: if let last = lastTrain { lastTrain = (last.step, now) }  // evaluation time is not step time
        case .summary: if event.elapsedSeconds == nil { event.elapsedSeconds = now - startTime }
        case .start: break
        }
        if options.quiet && event.kind != .summary { return }
        // Per-step progress only moves a bar; logs and JSON keep the log_every cadence.
        if event.kind == .progress && (options.format != .text || !options.isTerminal) { return }

        switch options.format {
        case .json:
            var fields = event.fields
            if event.kind == .train, let eta = estimatedSecondsRemaining { fields.append(("eta_s", .double(eta))) }
            sinks.out(MetricsRecord(fields.map { (key: $0.0, value: $0.1) }).jsonLine + "\n")
        case .text:
            if options.isTerminal { reportOnTerminal(event, now: now) } else { reportPlain(event) }
        }
    }

    /// Shows an error; in JSON mode also as `{"kind":"error","message":…}` on standard output.
    public func error(_ message: String) {
        clearBar()
        if options.format == .json {
            sinks.out(MetricsRecord([(key: "kind", value: .string("error")), (key: "message", value: .string(message))]).jsonLine + "\n")
        }
        sinks.progress(message.hasSuffix("\n") ? message : message + "\n")
    }

    /// An informational line (run directory, resume point): text mode only, not when quiet.
    public func note(_ message: String) {
        guard !options.quiet else { return }
        if options.format == .json {
            sinks.out(MetricsRecord([(key: "kind", value: .string("note")), (key: "message", value: .string(message))]).jsonLine + "\n")
        } else {
            clearBar()
            sinks.progress("recur: " + message + "\n")
        }
    }

    /// Ends a bar left on screen with a newline, so the shell prompt starts on a fresh line.
    public func finish() {
        if lastBar != nil { sinks.progress("\n"); lastBar = nil }
    }

    private func updateStepTime(step: Int, now: Double) {
        if let last = lastTrain, step > last.step {
            let sample = (now - last.time) / Double(step - last.step)
            if let s = smoothedStepSeconds {
                smoothedStepSeconds = (1 - ProgressReporter.smoothing) * s + ProgressReporter.smoothing * sample
            } else {
                smoothedStepSeconds = sample
            }
        }
        lastTrain = (step, now)
    }

    private func reportPlain(_ event: Event) {
        switch event.kind {
        case .progress:
            return
        case .train:
            let due = shownTrainEvents == 0 || event.step % options.plainEvery == 0 || event.step >= event.totalSteps
            guard due else { return }
            shownTrainEvents += 1
            sinks.progress(cut(trainLine(event)) + "\n")
        case .validation:
            sinks.progress(cut(validationLine(event)) + "\n")
        case .summary:
            sinks.progress(wrapped(summaryLine(event)) + "\n")
        case .start:
            sinks.progress(wrapped(startLine(event)) + "\n")
        }
    }

    /// The width plain lines keep to: the terminal's, when known without one (an exported
    /// COLUMNS, as `launch/train --np` passes to the ranks), else none (log files).
    private let plainWidth: Int?

    /// `line` cut to the plain width, ending in "…" when cut.
    private func cut(_ line: String) -> String {
        guard let w = plainWidth, w > 1, line.count > w else { return line }
        return String(line.prefix(w - 1)) + "…"
    }

    /// `text` broken at spaces into lines of at most the plain width (nothing is lost).
    private func wrapped(_ text: String) -> String {
        guard let w = plainWidth, w > 10, text.count > w else { return text }
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !line.isEmpty && line.count + 1 + word.count > w { lines.append(line); line = "  " + word } else { line += (line.isEmpty ? "" : " ") + word }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    private func reportOnTerminal(_ event: Event, now: Double) {
        switch event.kind {
        case .train, .progress:
            let isLast = event.step >= event.totalSteps
            guard lastBar == nil || isLast || now - lastDrawTime >= options.redrawInterval else {
                undrawn = event   // remembered so a validation line can redraw the latest
                return
            }
            let bar = barLine(event)
            sinks.progress("\r" + bar + "\u{1B}[K")
            lastBar = bar
            undrawn = nil
            lastDrawTime = now
        case .validation:
            // Print above the bar: clear it, write the line, draw the bar again under it.
            let bar = undrawn.map(barLine) ?? lastBar
            if bar != nil { lastBar = bar; undrawn = nil }
            sinks.progress("\r\u{1B}[K" + validationLine(event) + "\n")
            if let bar { sinks.progress("\r" + bar + "\u{1B}[K") }
        case .summary:
            clearBar()
            sinks.progress(summaryLine(event) + "\n")
        case .start:
            sinks.progress(startLine(event) + "\n")
        }
    }

    private func clearBar() {
        if lastBar != nil && options.isTerminal && options.format == .text {
            sinks.progress("\r\u{1B}[K")
        }
        lastBar = nil
        undrawn = nil
    }

    // MARK: Lines

    private func barLine(_ event: Event) -> String {
        let fraction = event.totalSteps > 0 ? min(1, max(0, Double(event.step) / Double(event.totalSteps))) : 0
        let columns = options.columns ?? Console.columns(2) ?? 80
        // Narrow terminals get a shorter bar, then lose fields from the least useful up; the
        // step, the loss and the ETA stay to the last.
        let width = max(5, min(options.barWidth, (columns - 60) / 2))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        var fields: [(text: String, keep: Int)] = [("\(event.step)/\(event.totalSteps)", 9), (bar, 3), (String(format: "%3.0f%%", fraction * 100), 4)]
        if let loss = event.loss { fields.append(("loss " + formatValue(loss, digits: 5), 8)) }
        if let lr = event.learningRate { fields.append((String(format: "lr %.1e", lr), 2)) }
        if let g = event.gradientNorm { fields.append(("|g| " + formatValue(g, digits: 3), 1)) }
        if let s = event.sequencesPerSecond { fields.append((formatRate(s) + " seq/s", 5)) }
        if let t = event.tokensPerSecond { fields.append((formatRate(t) + " tok/s", 0)) }
        fields.append(("ETA " + (estimatedSecondsRemaining.map(formatDuration) ?? "--:--:--"), 7))
        func joined() -> String { fields.map(\.text).joined(separator: "  ") }
        while joined().count > columns - 1, let drop = fields.indices.min(by: { fields[$0].keep < fields[$1].keep }), fields.count > 1 {
            fields.remove(at: drop)
        }
        let line = joined()
        return line.count > columns - 1 ? String(line.prefix(max(1, columns - 1))) : line
    }

    private func trainLine(_ event: Event) -> String {
        let percent = event.totalSteps > 0 ? String(format: " (%.0f%%)", 100 * Double(event.step) / Double(event.totalSteps)) : ""
        var parts = ["step \(event.step)/\(event.totalSteps)\(percent)"]
        if let epoch = event.epoch { parts.append("epoch \(epoch)") }
        parts += valueParts(event)
        if let eta = estimatedSecondsRemaining { parts.append("ETA " + formatDuration(eta)) }
        return parts.joined(separator: "  ")
    }

    private func valueParts(_ event: Event) -> [String] {
        var parts: [String] = []
        if let loss = event.loss { parts.append("loss " + formatValue(loss)) }
        if let lr = event.learningRate { parts.append(String(format: "lr %.2e", lr)) }
        if let g = event.gradientNorm { parts.append("|g| " + formatValue(g, digits: 3)) }
        if let s = event.sequencesPerSecond { parts.append(formatRate(s) + " seq/s") }
        if let t = event.tokensPerSecond { parts.append(formatRate(t) + " tok/s") }
        return parts
    }

    private func validationLine(_ event: Event) -> String {
        var parts = ["step \(event.step)/\(event.totalSteps)"]
        if let epoch = event.epoch { parts.append("epoch \(epoch)") }
        if let loss = event.loss { parts.append("validation loss " + formatValue(loss)) }
        for name in event.metrics.keys.sorted() { parts.append(name + " " + formatValue(event.metrics[name]!)) }
        return parts.joined(separator: "  ")
    }

    /// "recur: NAME: model, parameters; data, steps; layout" (the start event in text).
    private func startLine(_ event: Event) -> String {
        "recur: " + ["experiment", "model", "data", "layout"].compactMap { event.labels[$0] }.joined(separator: "; ")
    }

    private func summaryLine(_ event: Event) -> String {
        var parts = ["done: \(event.step)/\(event.totalSteps) steps"]
        if let elapsed = event.elapsedSeconds { parts[0] += " in " + formatDuration(elapsed) }
        if let why = event.labels["stopped_early"] { parts[0] += ", stopped early: " + why }
        if let loss = event.loss { parts.append("loss " + formatValue(loss)) }
        var metrics = event.metrics
        if let best = metrics.removeValue(forKey: "best_validation_loss") {
            let step = metrics.removeValue(forKey: "best_step").map { " at step \(Int($0))" } ?? ""
            parts.append("best validation loss " + formatValue(best) + step)
            if let last = metrics.removeValue(forKey: "validation_loss") { parts.append("last " + formatValue(last)) }
        }
        if let checkpoint = event.labels["best_checkpoint"] { parts.append("best checkpoint " + checkpoint) }
        for name in metrics.keys.sorted() { parts.append(name + " " + formatValue(metrics[name]!)) }
        if let dir = event.labels["run_dir"] { parts.append("run " + dir) }
        return parts.joined(separator: "  ")
    }
}

// MARK: - Formatting

/// `h:mm:ss`, e.g. 83 s → "0:01:23"; "--:--:--" when unknown or absurd.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 1e8 else { return "--:--:--" }
    let total = Int(seconds.rounded())
    return String(format: "%d:%02d:%02d", total / 3600, (total / 60) % 60, total % 60)
}

/// A loss or metric with `digits` significant digits; "nan" and "inf" spelled out.
public func formatValue(_ v: Double, digits: Int = 6) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    return String(format: "%.\(digits)g", v)
}

/// A throughput in at most four or five characters: 3.4, 812, 12.3k, 1.24M.
func formatRate(_ v: Double) -> String {
    guard v.isFinite else { return "?" }
    if v < 100 { return String(format: "%.1f", v) }
    if v < 10_000 { return String(format: "%.0f", v) }
    if v < 1_000_000 { return String(format: "%.1fk", v / 1000) }
    return String(format: "%.2fM", v / 1_000_000)
}
