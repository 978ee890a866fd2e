// A time series cut into windows of feature vectors with value targets (next per step, or
// last, with a horizon of k steps), and the inverse transform of predictions. It fills batches;
// it does not read files (TimeSeries) or choose which windows go where (BatchPlan).

import RecurKernels
import RecurFiles

/// Windows of a `TimeSeries`, each series' part of each split windowed on its own (no window
/// crosses a split or a series, Note [Many series]).
public struct SeriesDataset: WindowedDataset {
    /// The loaded series.
    public let series: TimeSeries
    /// How its splits are cut into windows.
    public let windowing: Windowing
    /// Per split: the first window of each piece, then the split's window count.
    private let firstWindows: [[Int]]

    /// - Throws: `DataError` for bad windowing, a split (training, or any split with a
    ///   positive fraction) without a window (shorter than seq_len + horizon, per stream when
    ///   stateful; with many series, in every series), or stateful training over many series.
    public init(series: TimeSeries, windowing: Windowing) throws(DataError) {
        try windowing.validate()
        if series.hasManySeries && windowing.streams != nil {
            throw DataError(.invalidSetting, file: series.path,
                            problem: "stateful training cuts one series into streams that carry their state, but data.series_column makes this table \(series.parts.count) series",
                            fix: "remove data.stateful (each window then starts from a zero state), or train one series at a time")
        }
        firstWindows = DataSplit.allCases.map { split in
            var starts = [0]
            for piece in series.pieces(split) { starts.append(starts.last! + windowing.windowCount(length: piece.rows.count)) }
            return starts
        }
        if series.hasManySeries {
            for split in DataSplit.allCases where (series.options.splits.fraction(split) > 0 || split == .train) && firstWindows[split.index].last! == 0 {
                let longest = series.pieces(split).map(\.rows.count).max() ?? 0
                throw DataError(.tooShort, file: series.path,
                                problem: "no series has a window in the \(split.name) split: its longest part there has \(longest) rows, and seq_len \(windowing.seqLen) + horizon \(windowing.horizon) needs \(windowing.minimumLength)",
                                fix: "lower seq_len or horizon, or give the \(split.name) split a larger fraction")
            }
        } else {
            try windowing.checkSplitsHoldWindows(series.options.splits, file: series.path, unit: "rows",
                                                 lower: "seq_len or horizon") { series.range($0).count }
        }
        self.series = series
        self.windowing = windowing
    }

    /// Target columns per step (O).
    public var targetColumnCount: Int { series.targetIndices.count }

    public var input: InputShape { .features(count: series.featureIndices.count) }
    public var targetKind: TargetKind { windowing.target == .next ? .nextValues : .lastValues }
    public var seqLen: Int { windowing.seqLen }
    public var horizon: Int { windowing.horizon }
    public var outputSize: Int { windowing.horizon * targetColumnCount }
    public var targetsPerWindow: Int { (windowing.target == .next ? windowing.seqLen : 1) * outputSize }
    public var streamCount: Int? { windowing.streams }

    public func windowCount(_ split: DataSplit) -> Int { firstWindows[split.index].last! }

    /// Window `w` of `split`: the piece (series' part of the split) it lies in, and its first row.
    public func place(_ split: DataSplit, _ w: Int) -> (piece: SeriesPiece, start: Int) {
        let starts = firstWindows[split.index], pieces = series.pieces(split)
        var lo = 0, hi = pieces.count - 1
        if pieces.count > 1 {
            // The last piece whose first window is at most w.
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if starts[mid] <= w { lo = mid } else { hi = mid - 1 }
            }
        }
        let piece = pieces[lo]
        return (piece, piece.rows.lowerBound + windowing.offset(of: w - starts[lo], length: piece.rows.count))
    }

    /// The row after window `w`'s last input row: the first (or only) row its last-step
    /// prediction is for.
    public func targetRow(_ split: DataSplit, _ w: Int) -> Int { place(split, w).start + windowing.seqLen }

    public func fill(_ split: DataSplit, windows: some Collection<Int>, into batch: BatchBuffers) {
        let b = windows.count
        precondition(b <= batch.capacity, "fill: \(b) windows exceed the batch capacity \(batch.capacity)")
        guard let inputs = batch.inputFeatures?.base, let targets = batch.targetValues?.base else {
            preconditionFailure("fill: series batches need inputFeatures and targetValues")
        }
        let count = windowCount(split)
        let l = windowing.seqLen, k = windowing.horizon, next = windowing.target == .next
        let c = series.columns.count, ko = outputSize
        let features = series.featureIndices, targetColumns = series.targetIndices
        let f = features.count, o = targetColumns.count
        series.values.withUnsafeBufferPointer { x in
            var j = 0
            for w in windows {
                precondition(w >= 0 && w < count, "fill: window \(w) outside 0..<\(count) of the \(split) split")
                let s = place(split, w).start
                for t in 0..<l {
                    let row = (s + t) * c, dst = (t * b + j) * f
                    for q in 0..<f { inputs[dst + q] = x[row + features[q]] }
                }
                // next: step t, horizon h reads row s+t+1+h; last: row s+L+h.
                for t in 0..<(next ? l : 1) {
                    let first = next ? s + t + 1 : s + l
                    let dst = (next ? t * b + j : j) * ko
                    for h in 0..<k {
                        let row = (first + h) * c
                        for q in 0..<o { targets[dst + h * o + q] = x[row + targetColumns[q]] }
                    }
                }
                j += 1
            }
        }
    }

    /// Brings normalised target values of one series (any buffer in a target layout: its
    /// innermost dimension is the target column) back to original units, in place.
    /// - Parameter seriesIndex: the series they belong to (an index into `series.parts`).
    public func denormalizeTargets(_ values: UnsafeMutableBufferPointer<Float>, series seriesIndex: Int = 0) {
        series.stats(series: seriesIndex).denormalize(values, columns: series.targetIndices)
    }

    public var notes: [String] { series.notes }

    /// The mean |y_t − y_{t−m}| of target column `targetColumn` (0-based among the targets) over
    /// the training rows of series `seriesIndex` (by its name: a given split's file holds the
    /// same series again), in original units: the in-sample error of the seasonal naive
    /// forecast, MASE's scale. NaN when the training rows are no more than `seasonality`.
    public func seasonalNaiveMAE(targetColumn: Int, seasonality m: Int, series seriesIndex: Int = 0) -> Double {
        let name = series.parts[seriesIndex].name
        guard let piece = series.pieces(.train).first(where: { series.parts[$0.series].name == name }) else { return .nan }
        let rows = piece.rows, C = series.columns.count, col = series.targetIndices[targetColumn]
        let stats = series.stats(series: piece.series)
        guard m >= 1, rows.count > m else { return .nan }
        var sum = 0.0
        for r in (rows.lowerBound + m)..<rows.upperBound {
            let a = stats.denormalize(series.values[r * C + col], column: col)
            let b = stats.denormalize(series.values[(r - m) * C + col], column: col)
            sum += abs(a - b)
        }
        return sum / Double(rows.count - m)
    }

    public func fingerprint() -> UInt64 {
        var h = StableHasher()
        h.combine("series")
        h.combine(series.rowCount)
        for name in series.columns { h.combine(name) }
        for i in series.featureIndices { h.combine(i) }
        h.combine(-1)
        for i in series.targetIndices { h.combine(i) }
        h.combine(series.normalization.kind.rawValue)
        h.combine(array: series.normalization.shift)
        h.combine(array: series.normalization.scale)
        h.combine(series.options.missing.rawValue)
        for s in DataSplit.allCases { h.combine(series.range(s).lowerBound); h.combine(series.range(s).upperBound) }
        if series.hasManySeries {
            h.combine("many series")
            for part in series.parts { h.combine(part.name); h.combine(part.rows.count) }
            for s in DataSplit.allCases { for p in series.pieces(s) { h.combine(p.rows.lowerBound); h.combine(p.rows.upperBound) } }
            for (name, stats) in (series.seriesNormalization ?? [:]).sorted(by: { $0.key < $1.key }) {
                h.combine(name); h.combine(array: stats.shift); h.combine(array: stats.scale)
            }
        }
        h.combine(array: series.values)
        windowing.hash(into: &h)
        return h.finalize()
    }

    public var manifest: DataManifest {
        var m = DataManifest(kind: .series, normalization: series.normalization,
                             featureColumns: series.featureIndices.map { series.columns[$0] },
                             targetColumns: series.targetIndices.map { series.columns[$0] },
                             windowing: windowing)
        m.seriesNormalization = series.seriesNormalization
        return m
    }
}
