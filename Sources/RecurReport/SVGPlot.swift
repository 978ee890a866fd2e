// Small dependency-free SVG line charts for `recur plot` (loss curves) and `recur forecast`
// (history and forecast): axes with 1-2-5 ticks, a legend, optional log-scale y and a divider.
// It is not a plotting library: no bars, no dual axes, no interactivity, no date axes.

import Foundation
import RecurStore

/// A line chart rendered as a standalone SVG document.
///
/// Non-finite points are skipped and break the line where they were; on a log-scale y axis,
/// points at or below zero are skipped the same way.
public struct LineChart {
    /// How a series is drawn.
    public struct Style: Sendable {
        public enum Dash: Sendable { case solid, dashed, dotted }
        public var dash: Dash
        /// A CSS colour; nil picks the next colour of the palette.
        public var color: String?
        /// Whether to draw a dot at every point (isolated points always get one).
        public var markers: Bool
        public var lineWidth: Double
        /// 1 opaque; lower for a faint line under a stronger one (raw values under a smoothed curve).
        public var opacity: Double

        public init(dash: Dash = .solid, color: String? = nil, markers: Bool = false, lineWidth: Double = 1.8, opacity: Double = 1) {
            self.dash = dash
            self.color = color
            self.markers = markers
            self.lineWidth = lineWidth
            self.opacity = opacity
        }

        public static let solid = Style()
        public static let dashed = Style(dash: .dashed)
        public static let dotted = Style(dash: .dotted)
        public static let markers = Style(markers: true)
    }

    /// One named line.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var style: Style

        public init(name: String, points: [(x: Double, y: Double)], style: Style = .solid) {
            self.name = name
            self.points = points
            self.style = style
        }

        /// A series whose x values are 0, 1, 2, ….
        public init(name: String, values: [Double], style: Style = .solid) {
            self.init(name: name, points: values.enumerated().map { (x: Double($0.offset), y: $0.element) }, style: style)
        }
    }

    /// A vertical line at `x`, with labels for the regions before and after it.
    public struct Divider: Sendable {
        public var x: Double
        public var leftLabel: String?
        public var rightLabel: String?

        public init(x: Double, leftLabel: String? = nil, rightLabel: String? = nil) {
            self.x = x
            self.leftLabel = leftLabel
            self.rightLabel = rightLabel
        }
    }

    /// A horizontal line across the plot (a baseline), labelled at its right end.
    public struct Reference: Sendable {
        public var y: Double
        public var label: String
        public var color: String

        public init(y: Double, label: String, color: String = "#7f7f7f") {
            self.y = y
            self.label = label
            self.color = color
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Logarithmic y axis (for losses); ticks at 1, 2, 5 × powers of ten.
    public var logScaleY: Bool
    public var divider: Divider?
    public var references: [Reference]
    public var width: Double
    public var height: Double

    /// Tableau 10: distinct at a glance and for common colour-vision deficiencies.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, series: [Series],
                logScaleY: Bool = false, divider: Divider? = nil, references: [Reference] = [],
                width: Double = 800, height: Double = 480) {
        self.references = references
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logScaleY = logScaleY
        self.divider = divider
        self.width = width
        self.height = height
    }

    /// An exponential moving average with TensorBoard's debiasing (the first points are not
    /// pulled towards 0); non-finite values pass through unchanged.
    public static func smoothed(_ points: [(x: Double, y: Double)], weight: Double) -> [(x: Double, y: Double)] {
        var average = 0.0, count = 0.0
        return points.map { p in
            guard p.y.isFinite else { return p }
            average = weight * average + (1 - weight) * p.y
            count = weight * count + (1 - weight)
            return (x: p.x, y: average / count)
        }
    }

    /// Writes the SVG document to `path`.
    /// - Throws: The file system's error when the file cannot be written.
    public func write(to path: String) throws {
        try writeAtomically(Array(svg().utf8), to: URL(fileURLWithPath: path))
    }

    // MARK: Rendering

    /// The chart as a complete SVG document.
    public func svg() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element(clipID: "plot-area", y: nil)
    }

    /// The chart as one `<svg>` element: a document's root, or (`y`) a panel that far down in a
    /// `Figure`, its plot area clipped by `clipID` (unique per panel).
    func element(clipID: String, y: Double?) -> String {
        let usable = series.map { s in s.points.filter { isDrawable($0) } }
        let allPoints = usable.flatMap { $0 }
        let hasLegend = series.contains { !$0.name.isEmpty }
        // Legend text of about 7 px a character, at most 260 px: longer names are shortened with "…".
        let maxCharacters = 32
        func legendName(_ name: String) -> String { name.count <= maxCharacters ? name : String(name.prefix(maxCharacters - 1)) + "…" }
        let legendWidth = hasLegend ? min(260, 36 + 7.0 * Double(series.map { legendName($0.name).count }.max() ?? 0)) : 0
        let left = 78.0, right = 20.0 + legendWidth, top = 44.0, bottom = 58.0
        let plotWidth = max(40, width - left - right), plotHeight = max(40, height - top - bottom)

        var xs = allPoints.map { $0.x }
        if let d = divider, d.x.isFinite { xs.append(d.x) }
        // x: exactly the data's range (a step axis ends at the last step, not the next round number).
        let xAxis = LinearAxis(values: xs, padFraction: 0, tight: true)
        let referenceYs = references.map(\.y).filter { $0.isFinite && (!logScaleY || $0 > 0) }
        let yValues = (allPoints.map(\.y) + referenceYs).map { logScaleY ? log10($0) : $0 }
        // y: a little room around the data, never below zero for data that is not negative.
        let yAxis = logScaleY ? LinearAxis(logValues: yValues)
            : LinearAxis(values: yValues, padFraction: 0.05, floor: (yValues.min() ?? 0) >= 0 ? 0 : nil)

        func px(_ x: Double) -> Double { left + (x - xAxis.low) / (xAxis.high - xAxis.low) * plotWidth }
        func py(_ y: Double) -> Double {
            let v = logScaleY ? log10(y) : y
            return top + plotHeight - (v - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight
        }

        var out = """
        <svg\(y.map { " x=\"0\" y=\"\(f($0))\"" } ?? "") xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect x="0" y="0" width="\(f(width))" height="\(f(height))" fill="white"/>
        <defs><clipPath id="\(clipID)"><rect x="\(f(left))" y="\(f(top))" width="\(f(plotWidth))" height="\(f(plotHeight))"/></clipPath></defs>
        <text x="\(f(left + plotWidth / 2))" y="26" text-anchor="middle" font-size="16" font-weight="bold">\(xmlEscaped(title))</text>

        """

        // Grid and ticks.
        out += "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">\n"
        let xTicks = xAxis.ticks(), yTicks = logScaleY ? yAxis.logTicks() : yAxis.ticks()
        for t in xTicks { out += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + plotHeight))\"/>\n" }
        for t in yTicks {
            let y = top + plotHeight - (t - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\"/>\n"
        }
        out += "</g>\n<g class=\"tick-labels\" fill=\"#333\">\n"
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        for t in xTicks {
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(tickLabel(t, step: xStep))</text>\n"
        }
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for t in yTicks {
            let y = top + plotHeight - (t - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight
            let label = logScaleY ? String(format: "%g", pow(10, t)) : tickLabel(t, step: yStep)
            out += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        out += "</g>\n"

        // Axes and their labels.
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\n"
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(xmlEscaped(xLabel))</text>\n"
        let yLabelText = logScaleY ? yLabel + " (log scale)" : yLabel
        out += "<text x=\"18\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(top + plotHeight / 2)))\">\(xmlEscaped(yLabelText))</text>\n"
        if allPoints.isEmpty {
            out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n"
        }

        // Divider.
        if let d = divider, d.x.isFinite {
            let x = px(d.x)
            out += "<g class=\"divider\"><line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#555\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n"
            if let l = d.leftLabel {
                out += "<text x=\"\(f(x - 6))\" y=\"\(f(top + 14))\" text-anchor=\"end\" fill=\"#555\">\(xmlEscaped(l))</text>\n"
            }
            if let r = d.rightLabel {
                out += "<text x=\"\(f(x + 6))\" y=\"\(f(top + 14))\" text-anchor=\"start\" fill=\"#555\">\(xmlEscaped(r))</text>\n"
            }
            out += "</g>\n"
        }

        // Reference lines.
        for r in references where r.y.isFinite && (!logScaleY || r.y > 0) {
            let y = py(r.y), color = xmlEscaped(r.color)
            out += "<g class=\"reference\"><line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"\(color)\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\"/>\n"
            out += "<text x=\"\(f(left + plotWidth - 6))\" y=\"\(f(y - 5))\" text-anchor=\"end\" fill=\"\(color)\">\(xmlEscaped(r.label))</text></g>\n"
        }

        // Series, each broken into runs of drawable points.
        out += "<g class=\"series\" clip-path=\"url(#\(clipID))\" fill=\"none\">\n"
        for (index, s) in series.enumerated() {
            let color = xmlEscaped(s.style.color ?? LineChart.palette[index % LineChart.palette.count])
            let opacity = s.style.opacity < 1 ? " stroke-opacity=\"\(f(s.style.opacity))\"" : ""
            out += "<g stroke=\"\(color)\"\(opacity)><title>\(xmlEscaped(s.name))</title>\n"
            for run in drawableRuns(s.points) {
                if run.count > 1 {
                    let coordinates = run.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                    out += "<polyline points=\"\(coordinates)\" stroke-width=\"\(f(s.style.lineWidth))\"\(dashAttribute(s.style.dash)) stroke-linejoin=\"round\"/>\n"
                }
                if run.count == 1 || s.style.markers {
                    for p in run {
                        out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"\(f(max(2.5, s.style.lineWidth * 1.5)))\" fill=\"\(color)\" stroke=\"none\"/>\n"
                    }
                }
            }
            out += "</g>\n"
        }
        out += "</g>\n"

        // Legend, to the right of the plot so it never hides data.
        if hasLegend {
            let x0 = left + plotWidth + 14
            out += "<g class=\"legend\">\n"
            var row = 0.0
            for (index, s) in series.enumerated() where !s.name.isEmpty {
                let y = top + 10 + row * 20
                row += 1
                let color = xmlEscaped(s.style.color ?? LineChart.palette[index % LineChart.palette.count])
                out += "<line x1=\"\(f(x0))\" y1=\"\(f(y))\" x2=\"\(f(x0 + 22))\" y2=\"\(f(y))\" stroke=\"\(color)\" stroke-width=\"\(f(s.style.lineWidth))\"\(dashAttribute(s.style.dash))/>\n"
                out += "<text x=\"\(f(x0 + 28))\" y=\"\(f(y + 4))\">\(xmlEscaped(legendName(s.name)))</text>\n"
            }
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    private func isDrawable(_ p: (x: Double, y: Double)) -> Bool {
        p.x.isFinite && p.y.isFinite && (!logScaleY || p.y > 0)
    }

    /// Consecutive drawable points; a skipped point ends a run so the line shows the gap.
    private func drawableRuns(_ points: [(x: Double, y: Double)]) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = []
        var current: [(x: Double, y: Double)] = []
        for p in points {
            if isDrawable(p) { current.append(p) } else if !current.isEmpty { runs.append(current); current = [] }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    private func dashAttribute(_ dash: Style.Dash) -> String {
        switch dash {
        case .solid: return ""
        case .dashed: return " stroke-dasharray=\"7 4\""
        case .dotted: return " stroke-dasharray=\"2 3\" stroke-linecap=\"round\""
        }
    }
}

// MARK: - Axes

/// An axis range with 1-2-5 tick steps; on a log axis the range is in log10 units.
struct LinearAxis {
    var low: Double
    var high: Double
    private var step: Double

    /// A range covering `values` with nice ends; a constant or empty set gets a range around it.
    /// - Parameters:
    ///   - tight: end exactly at the values' range instead of the next multiples of the step.
    ///   - floor: a lowest end the range never goes below (0 for data that cannot be negative).
    init(values: [Double], padFraction: Double, tight: Bool = false, floor: Double? = nil) {
        var lo = values.min() ?? 0, hi = values.max() ?? 1
        if hi - lo <= abs(hi) * 1e-12 || hi == lo {
            let half = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= half
            hi += half
        } else {
            let pad = (hi - lo) * padFraction
            lo -= pad
            hi += pad
        }
        if let floor { lo = max(lo, floor) }
        step = LinearAxis.niceStep((hi - lo) / 5)
        low = tight ? lo : (lo / step).rounded(.down) * step
        high = tight ? hi : (hi / step).rounded(.up) * step
        if let floor { low = max(low, floor) }
    }

    /// A log10 range covering `logValues`, widened to whole decades when it spans less than one.
    init(logValues: [Double]) {
        var lo = logValues.min() ?? 0, hi = logValues.max() ?? 1
        if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.05
        low = lo - pad
        high = hi + pad
        step = 1
    }

    /// Tick positions at multiples of the step inside the range.
    func ticks() -> [Double] {
        var out: [Double] = []
        var k = (low / step).rounded(.up)
        while k * step <= high + step * 1e-9 && out.count < 50 {
            out.append(abs(k * step) < step * 1e-9 ? 0 : k * step)
            k += 1
        }
        return out
    }

    /// Log-axis ticks (in log10 units) at 1, 2 and 5 × powers of ten, or only powers of ten
    /// when the range spans more than three decades.
    func logTicks() -> [Double] {
        let multipliers: [Double] = high - low > 3 ? [1] : (high - low > 1 ? [1, 2, 5] : [1, 2, 3, 5])
        var out: [Double] = []
        var decade = low.rounded(.down)
        while decade <= high.rounded(.up) && out.count < 60 {
            for m in multipliers {
                let t = decade + log10(m)
                if t >= low - 1e-9 && t <= high + 1e-9 { out.append(t) }
            }
            decade += 1
        }
        if out.count < 4 {
            // A narrow range (a language model's loss from 3.5 to 1.4 gets only "2" and "3"):
            // plain 1-2-5 ticks in value space read better.
            let values = LinearAxis(values: [pow(10, low), pow(10, high)], padFraction: 0).ticks()
            out = values.filter { $0 > 0 }.map { log10($0) }.filter { $0 >= low - 1e-9 && $0 <= high + 1e-9 }
        }
        return out
    }

    /// The smallest of 1, 2, 5 × 10^k at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }
}

// MARK: - Text

/// A tick label with as many decimals as the step needs, or exponent form for extreme values.
func tickLabel(_ v: Double, step: Double) -> String {
    if v == 0 { return "0" }
    let magnitude = abs(v)
    if magnitude >= 1e6 || magnitude < 1e-4 { return String(format: "%.3g", v) }
    let decimals = step > 0 && step.isFinite ? max(0, Int((-log10(step)).rounded(.up))) : 2
    return String(format: "%.\(min(decimals, 6))f", v)
}

/// `s` with XML's special characters escaped, for text and attribute values.
func xmlEscaped(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // Control characters other than tab and newline are not allowed in XML 1.0.
            if c.value < 0x20 && c != "\t" && c != "\n" { out += " " } else { out.unicodeScalars.append(c) }
        }
    }
    return out
}

/// A coordinate with two decimals, enough for screen pixels.
private func f(_ v: Double) -> String { String(format: "%.2f", v) }

/// Charts stacked one above the other in one SVG document: one panel per target of a
/// forecaster, sharing the x axis's meaning.
public struct Figure {
    public var panels: [LineChart]

    public init(panels: [LineChart]) { self.panels = panels }

    /// The panels as one SVG document (each a nested `<svg>` at its own height).
    public func svg() -> String {
        guard panels.count != 1 else { return panels[0].svg() }
        let width = panels.map(\.width).max() ?? 800, height = panels.reduce(0) { $0 + $1.height }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\">\n"
        var y = 0.0
        for (i, panel) in panels.enumerated() {
            out += panel.element(clipID: "plot-area-\(i)", y: y)
            y += panel.height
        }
        return out + "</svg>\n"
    }

    /// Writes the SVG document to `path`.
    /// - Throws: The file system's error when the file cannot be written.
    public func write(to path: String) throws {
        try writeAtomically(Array(svg().utf8), to: URL(fileURLWithPath: path))
    }
}
