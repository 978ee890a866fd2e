// Per-column normalisation fitted on the training split only, applied to every split, and
// inverted for predictions: x' = (x − shift) / scale. The statistics are Codable so that they
// are stored with the model; fitting never looks at validation or test rows.

/// How values are scaled before training (`normalize:` in an experiment).
public enum NormalizationKind: String, Sendable, Codable, CaseIterable {
    /// Mean 0, standard deviation 1 on the training split (population standard deviation).
    case zscore
    /// The training split's minimum maps to 0 and its maximum to 1.
    case minmax
    /// Values are used as they are.
    case none
}

/// The fitted statistics of every column: `normalized = (x − shift) / scale`.
///
/// A column whose training values are all equal gets `scale` 1, so it maps to 0 (zscore,
/// minmax) instead of dividing by zero.
public struct NormalizationStats: Codable, Sendable, Equatable {
    /// How the statistics were fitted.
    public var kind: NormalizationKind
    /// Column names, in the order of `shift` and `scale`.
    public var columns: [String]
    /// Subtracted first: mean (zscore), minimum (minmax) or 0.
    public var shift: [Double]
    /// Divided by next: standard deviation (zscore), range (minmax) or 1; never 0.
    public var scale: [Double]

    /// Statistics as given (checkpoints); `fit` computes them.
    public init(kind: NormalizationKind, columns: [String], shift: [Double], scale: [Double]) {
        precondition(columns.count == shift.count && shift.count == scale.count, "NormalizationStats: length mismatch")
        self.kind = kind
        self.columns = columns
        self.shift = shift
        self.scale = scale
    }

    /// Fits `kind` to columns of a row-major table `values` with `columns.count` values per row,
    /// using only `rows` (the training split). NaNs are skipped.
    public static func fit(_ kind: NormalizationKind, columns: [String], values: [Double], rows: Range<Int>) -> NormalizationStats {
        fit(kind, columns: columns, values: values, rows: [rows])
    }

    /// Fits over several row ranges together (the training rows of many series).
    public static func fit(_ kind: NormalizationKind, columns: [String], values: [Double], rows ranges: [Range<Int>]) -> NormalizationStats {
        let c = columns.count
        var shift = [Double](repeating: 0, count: c)
        var scale = [Double](repeating: 1, count: c)
        if kind != .none {
            for j in 0..<c {
                var n = 0.0, mean = 0.0, m2 = 0.0
                var lo = Double.infinity, hi = -Double.infinity
                for rows in ranges { for r in rows {
                    let x = values[r * c + j]
                    if x.isNaN { continue }
                    // Welford's update: stable for long series with a large offset.
                    n += 1
                    let d = x - mean
                    mean += d / n
                    m2 += d * (x - mean)
                    lo = min(lo, x)
                    hi = max(hi, x)
                } }
                guard n > 0 else { continue }
                switch kind {
                case .zscore:
                    let sd = (m2 / n).squareRoot()
                    shift[j] = mean
                    scale[j] = sd > 0 ? sd : 1
                case .minmax:
                    shift[j] = lo
                    scale[j] = hi > lo ? hi - lo : 1
                case .none: break
                }
            }
        }
        return NormalizationStats(kind: kind, columns: columns, shift: shift, scale: scale)
    }

    /// Normalises `x` of column `column`.
    @inline(__always)
    public func normalize(_ x: Double, column: Int) -> Float { Float((x - shift[column]) / scale[column]) }

    /// Brings a normalised value of column `column` back to the original units.
    @inline(__always)
    public func denormalize(_ y: Float, column: Int) -> Double { Double(y) * scale[column] + shift[column] }

    /// Brings normalised values back to original units in place: element `e` belongs to
    /// column `columns[e % columns.count]` (the layout of target buffers, whose innermost
    /// dimension is the target column).
    public func denormalize(_ values: UnsafeMutableBufferPointer<Float>, columns: [Int]) {
        precondition(!columns.isEmpty, "denormalize: no columns")
        let o = columns.count
        for e in 0..<values.count {
            let j = columns[e % o]
            values[e] = Float(Double(values[e]) * scale[j] + shift[j])
        }
    }

    /// The same statistics for a subset of columns, in the given order.
    public func selecting(_ indices: [Int]) -> NormalizationStats {
        NormalizationStats(kind: kind, columns: indices.map { columns[$0] },
                           shift: indices.map { shift[$0] }, scale: indices.map { scale[$0] })
    }
}
