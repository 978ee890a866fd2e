// A series' time column (Note [Time axis]): each row's time as written, as a number for plot
// axes (dates as decimal years), and the times after the last row for forecasts, stepped by
// the data's own spacing (whole months for monthly dates, else the last interval).

// Note [Time axis]
// `data.time_column` names a column of dates (2024-01-31, 2024-01, 2024-01-31 12:00[:00],
// with T or a space, / or -) or numbers (1749, 0.5); without it a column named year, date,
// time, month, day, t, step or index that is not a feature is taken when it reads as times
// that increase within every series (and is left alone otherwise). It is never a feature. Its
// text is the first column of forecast, predict and eval's per-window output, and its values
// are plot axes; forecasts continue it by the data's spacing: whole months when consecutive
// dates are a whole number of months apart on the same day, else the last interval.

/// The time of every row of a series table.
public struct TimeAxis: Sendable, Equatable {
    /// The column's header name.
    public var name: String
    /// Each row's time as written.
    public var labels: [String]
    /// Each row's time as a number: the value itself, or a date as a decimal year.
    public var values: [Double]
    /// Whether the column holds dates (else numbers).
    public var isDate: Bool

    /// The times of the `count` steps after `row` (the last row of a series), in the column's
    /// own format, stepped by the spacing of the rows `previous` and `row` (nil: by 1 unit).
    public func labels(after row: Int, previous: Int?, count: Int) -> [String] {
        guard count > 0 else { return [] }
        if !isDate {
            let last = values[row], step = previous.map { values[row] - values[$0] } ?? 1
            let integral = labels[row].allSatisfy { $0.isNumber || $0 == "-" } && step == step.rounded()
            return (1...count).map { k in
                let v = last + Double(k) * step
                return integral ? String(Int64(v)) : "\(v)"
            }
        }
        guard let last = CivilTime(labels[row]) else { return (1...count).map { _ in "" } }
        if let previous, let before = CivilTime(labels[previous]) {
            let months = (last.year - before.year) * 12 + (last.month - before.month)
            if months > 0 && last.day == before.day && last.secondsOfDay == before.secondsOfDay {
                return (1...count).map { last.addingMonths(months * $0).formatted(like: last) }
            }
            let seconds = last.epochSeconds - before.epochSeconds
            return (1...count).map { CivilTime(epochSeconds: last.epochSeconds + seconds * Int64($0)).formatted(like: last) }
        }
        return (1...count).map { CivilTime(epochSeconds: last.epochSeconds + 86_400 * Int64($0)).formatted(like: last) }
    }

    /// The plot value of a label `labels(after:…)` made.
    public func value(of label: String) -> Double? {
        isDate ? CivilTime(label)?.decimalYear : Double(label)
    }

    /// Reads a cell as a time: a number, or a date. Nil when it is neither.
    static func read(_ text: String) -> (value: Double, isDate: Bool)? {
        if let t = CivilTime(text) { return (t.decimalYear, true) }
        if case .number(let v) = CSVReader.cell(text: text) { return (v, false) }
        return nil
    }
}

/// A calendar date and time of day, proleptic Gregorian, no time zone.
struct CivilTime: Equatable {
    var year: Int, month: Int, day: Int
    var hour = 0, minute = 0, second = 0
    /// How it was written: with a day, with a time of day, with seconds; "T" or " " between.
    var hasDay = true, hasTime = false, hasSeconds = false
    var separator: Character = "-", timeSeparator: Character = " "

    var secondsOfDay: Int { hour * 3600 + minute * 60 + second }

    /// Parses YYYY-MM, YYYY-MM-DD, YYYY-MM-DD[ T]HH:MM[:SS][Z] (or with / between date parts).
    init?(_ text: String) {
        let s = Array(text.trimmingSpaces().utf8)
        func number(_ a: Int, _ n: Int) -> Int? {
            guard a + n <= s.count else { return nil }
            var v = 0
            for i in a..<(a + n) { guard s[i] >= 48 && s[i] <= 57 else { return nil }; v = v * 10 + Int(s[i] - 48) }
            return v
        }
        guard s.count >= 7, let y = number(0, 4), s[4] == UInt8(ascii: "-") || s[4] == UInt8(ascii: "/"),
              let m = number(5, 2), (1...12).contains(m) else { return nil }
        year = y; month = m; day = 1
        separator = Character(Unicode.Scalar(s[4]))
        if s.count == 7 { hasDay = false; return }
        guard s.count >= 10, s[7] == s[4], let d = number(8, 2), d >= 1, d <= CivilTime.daysIn(month: m, year: y) else { return nil }
        day = d
        if s.count == 10 { return }
        guard s.count >= 16, s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: " "), let h = number(11, 2), h < 24,
              s[13] == UInt8(ascii: ":"), let mi = number(14, 2), mi < 60 else { return nil }
        hour = h; minute = mi; hasTime = true
        timeSeparator = Character(Unicode.Scalar(s[10]))
        var end = 16
        if s.count >= 19 && s[16] == UInt8(ascii: ":") {
            guard let sec = number(17, 2), sec < 60 else { return nil }
            second = sec; hasSeconds = true; end = 19
        }
        if end < s.count && s[end] == UInt8(ascii: "Z") { end += 1 }
        guard end == s.count else { return nil }
    }

    init(epochSeconds t: Int64) {
        var days = t / 86_400, rest = t % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        hour = Int(rest / 3600); minute = Int(rest % 3600 / 60); second = Int(rest % 60)
    }

    static func daysIn(month m: Int, year y: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    var epochDays: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    var epochSeconds: Int64 { epochDays * 86_400 + Int64(secondsOfDay) }

    /// The year plus the fraction of it elapsed (a plot axis).
    var decimalYear: Double {
        let start = CivilTime(year: year, month: 1, day: 1).epochSeconds
        let next = CivilTime(year: year + 1, month: 1, day: 1).epochSeconds
        return Double(year) + Double(epochSeconds - start) / Double(next - start)
    }

    private init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }

    func addingMonths(_ k: Int) -> CivilTime {
        var c = self
        let total = year * 12 + (month - 1) + k
        c.year = total / 12; c.month = total % 12 + 1
        c.day = min(day, CivilTime.daysIn(month: c.month, year: c.year))
        return c
    }

    /// Written as `model` was (the same parts and separators).
    func formatted(like model: CivilTime) -> String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let sep = String(model.separator)
        var s = String(year) + sep + two(month)
        guard model.hasDay else { return s }
        s += sep + two(day)
        guard model.hasTime else { return s }
        s += String(model.timeSeparator) + two(hour) + ":" + two(minute)
        if model.hasSeconds { s += ":" + two(second) }
        return s
    }
}
