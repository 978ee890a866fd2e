// What a reader does with an empty or non-numeric cell, and the gap-filling it implies.
// Filling works on one column of one split at a time, so no value crosses a split boundary;
// dropping rows is the reader's job because it changes the row count.

/// How empty or non-numeric cells are handled (`missing:` in an experiment).
public enum MissingValuePolicy: String, Sendable, Codable, CaseIterable {
    /// Stop with the cell's line and column (the default).
    case error
    /// Linear interpolation between the nearest values before and after; a gap at either end
    /// of the split takes the nearest value.
    case interpolate
    /// The last value before the gap; a gap at the start of the split takes the first value.
    case forwardFill = "forward_fill"
    /// Leave out every row (or labelled example) that has a missing cell.
    case drop
}

enum GapFill {
    /// Fills the NaNs of `values[range]`, read with `stride` (one column of a row-major table).
    /// - Returns: false when the range holds no value at all, so nothing can be filled.
    static func fill(_ values: inout [Double], range: Range<Int>, stride: Int, offset: Int,
                     policy: MissingValuePolicy) -> Bool {
        precondition(policy == .interpolate || policy == .forwardFill, "GapFill: \(policy) does not fill")
        @inline(__always) func at(_ r: Int) -> Int { r * stride + offset }
        var previous: Int? = nil   // last row with a value
        var sawGap = false
        for r in range {
            let v = values[at(r)]
            if v.isNaN { sawGap = true; continue }
            if sawGap {
                // Rows previous+1 ..< r are missing.
                let from = previous.map { $0 + 1 } ?? range.lowerBound
                for g in from..<r {
                    if let p = previous, policy == .interpolate {
                        let a = values[at(p)], t = Double(g - p) / Double(r - p)
                        values[at(g)] = a + (v - a) * t
                    } else if let p = previous {
                        values[at(g)] = values[at(p)]
                    } else {
                        values[at(g)] = v
                    }
                }
                sawGap = false
            }
            previous = r
        }
        guard let last = previous else { return range.isEmpty }
        if sawGap {
            for g in (last + 1)..<range.upperBound { values[at(g)] = values[at(last)] }
        }
        return true
    }
}
