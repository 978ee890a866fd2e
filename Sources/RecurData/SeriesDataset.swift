// A time series cut into windows of feature vectors with value targets (next per step, or
// last, with a horizon of k steps), and the inverse transform of predictions. It fills batches;
// it does not read files (TimeSeries) or choose which windows go where (BatchPlan).

import RecurKernels

/// Windows of a `TimeSeries`, each split windowed on its own (no window crosses a split).
public struct SeriesDataset: WindowedDataset {
    /// The loaded series.
    public let series: TimeSeries
    /// How its splits are cut into windows.
    public let windowing: Windowing

    /// - Throws: `DataError` for bad windowing, or a split (training, or any split with a
    ///   positive fraction) shorter than seq_len + horizon (per stream when stateful).
    public init(series: TimeSeries, windowing: Windowing) throws(DataError) {
        try windowing.validate()
        try windowing.checkSplitsHoldWindows(series.options.splits, file: series.path, unit: "rows",
                                             lower: "seq_len or horizon") { series.range($0).count }
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

    public func windowCount(_ split: DataSplit) -> Int { windowing.windowCount(length: series.range(split).count) }

    public func fill(_ split: DataSplit, windows: some Collection<Int>, into batch: BatchBuffers) {
        let b = windows.count
        precondition(b <= batch.capacity, "fill: \(b) windows exceed the batch capacity \(batch.capacity)")
        guard let inputs = batch.inputFeatures?.base, let targets = batch.targetValues?.base else {
            preconditionFailure("fill: series batches need inputFeatures and targetValues")
        }
        let range = series.range(split), n = range.count, count = windowing.windowCount(length: n)
        let l = windowing.seqLen, k = windowing.horizon, next = windowing.target == .next
        let c = series.columns.count, ko = outputSize
        let features = series.featureIndices, targetColumns = series.targetIndices
        let f = features.count, o = targetColumns.count
        series.values.withUnsafeBufferPointer { x in
            var j = 0
            for w in windows {
                precondition(w >= 0 && w < count, "fill: window \(w) outside 0..<\(count) of the \(split) split")
                let s = range.lowerBound + windowing.offset(of: w, length: n)
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

    /// Brings normalised target values (any buffer in a target layout: its innermost dimension is
    /// the target column) back to original units, in place.
    public func denormalizeTargets(_ values: UnsafeMutableBufferPointer<Float>) {
        series.normalization.denormalize(values, columns: series.targetIndices)
    }

    public var notes: [String] { series.notes }

    /// The mean |y_t − y_{t−m}| of target column `targetColumn` (0-based among the targets) over
    /// the training rows, in original units: the in-sample error of the seasonal naive forecast,
    /// MASE's scale. NaN when the training rows are no more than `seasonality`.
    public func seasonalNaiveMAE(targetColumn: Int, seasonality m: Int) -> Double {
        let rows = series.range(.train), C = series.columns.count, col = series.targetIndices[targetColumn]
        guard m >= 1, rows.count > m else { return .nan }
        var sum = 0.0
        for r in (rows.lowerBound + m)..<rows.upperBound {
            let a = series.normalization.denormalize(series.values[r * C + col], column: col)
            let b = series.normalization.denormalize(series.values[(r - m) * C + col], column: col)
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
        h.combine(array: series.values)
        windowing.hash(into: &h)
        return h.finalize()
    }

    public var manifest: DataManifest {
        DataManifest(kind: .series, normalization: series.normalization,
                     featureColumns: series.featureIndices.map { series.columns[$0] },
                     targetColumns: series.targetIndices.map { series.columns[$0] },
                     windowing: windowing)
    }
}
