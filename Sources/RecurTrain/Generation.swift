// Using a trained model step by step: text sampling (temperature, top-k, seeded) and
// autoregressive forecasting in original units. Both run the same NetworkWorkspace forward as
// training, one sequence at a time, carrying the final state from call to call.

import Foundation
import RecurData
import RecurKernels
import RecurModel

extension TrainedModel {
    /// Generates `length` tokens after `prime` (text models).
    /// - Throws: `DataError` when the prime holds a token the vocabulary lacks (and it has no <unk>).
    public func sample(prime: String, length: Int, temperature: Float, topK: Int?, seed: UInt64) throws -> String {
        guard let vocabulary = manifest?.vocabulary, network.config.input != .features else {
            throw ConfigError(file: location.path, line: nil, key: "", message: "is not a text model; use recur forecast or recur eval")
        }
        var ids = try vocabulary.encode(prime)
        var rng = SeededRandom(seed: seed)
        if ids.isEmpty { ids = [Int32(rng.below(vocabulary.count))] }
        let c = network.config, V = c.outputSize
        let params = FloatBuffer(checkpoint.parameters)
        var out: [Int32] = []
        var probs = [Float](repeating: 0, count: V)
        /// The next token from the last output row's logits: greedy at temperature 0, else drawn.
        func pick(_ logits: UnsafePointer<Float>) -> Int32 {
            if temperature == 0 {   // greedy: the most likely token, no draw
                var best = 0
                for k in 1..<V where logits[k] > logits[best] { best = k }
                return Int32(best)
            }
            for k in 0..<V { probs[k] = logits[k] / temperature }
            if let topK, topK < V {
                let cut = probs.sorted(by: >)[topK - 1]
                for k in 0..<V where probs[k] < cut { probs[k] = -.infinity }
            }
            probs.withUnsafeMutableBufferPointer { Act.softmax($0.baseAddress!, $0.baseAddress!, count: V) }
            var u = rng.uniformFloat(), next = V - 1
            for k in 0..<V { u -= probs[k]; if u < 0 { next = k; break } }
            return Int32(next)
        }
        if c.bidirectional {
            // A bidirectional model reads whole windows (Note [Bidirectional layers]): each token
            // comes from the last seq_len tokens read both ways from a zero state, as in training.
            let L = experiment.data.seqLen
            let ws = NetworkWorkspace(network: network, maxBatch: 1, maxSteps: L)
            var context = Array(ids.suffix(L))
            let input = Int32Buffer([Int32](repeating: 0, count: L))
            for _ in 0..<length {
                for (i, t) in context.enumerated() { input[i] = t }
                ws.forward(parameters: params.base, input: .tokens(input.base), batch: 1, steps: context.count)
                let next = pick(ws.outputs.base + (ws.outputRows - 1) * V)
                out.append(next)
                context.append(next)
                if context.count > L { context.removeFirst() }
            }
            return vocabulary.decode(out)
        }
        let ws = NetworkWorkspace(network: network, maxBatch: 1, maxSteps: max(ids.count, 1))
        let stateCount = c.layers * c.hiddenSize
        let h = FloatBuffer(count: stateCount), cell = FloatBuffer(count: stateCount)
        let input = Int32Buffer(ids)   // the prime first, then one token at a time in slot 0
        var steps = ids.count
        for _ in 0..<length {
            ws.forward(parameters: params.base, input: .tokens(input.base), batch: 1, steps: steps,
                       initialState: InitialState(hidden: h.base, cell: c.carriesCellState ? UnsafePointer(cell.base) : nil))
            Vec.copy(ws.finalHidden, h.base, count: stateCount)
            if let fc = ws.finalCell { Vec.copy(fc, cell.base, count: stateCount) }
            let next = pick(ws.outputs.base + (ws.outputRows - 1) * V)
            out.append(next)
            input[0] = next
            steps = 1
        }
        return vocabulary.decode(out)
    }

    /// Forecasts `steps` future rows of the target columns, in original units, from the last
    /// `seq_len` rows of `series` (already normalised with the stored statistics).
    /// - Returns: one row per future step, one value per target column.
    public func forecast(_ series: TimeSeries, steps: Int) throws -> [[Double]] {
        let c = network.config, L = experiment.data.seqLen, k = experiment.data.horizon
        let features = series.featureIndices, targets = series.targetIndices
        let F = features.count, O = targets.count, C = series.columns.count
        guard series.rowCount >= L else {
            throw ConfigError(file: series.path, line: nil, key: "", message: "has \(series.rowCount) rows; the model reads \(L) (seq_len) to forecast")
        }
        if steps > k && features != targets {
            throw ConfigError(file: series.path, line: nil, key: "", message: "forecasting \(steps) steps with a horizon of \(k) feeds predictions back as inputs, which needs the target columns to be the input columns; ask for at most \(k) steps")
        }
        // Rolling window of normalised feature rows.
        var window: [[Float]] = (series.rowCount - L..<series.rowCount).map { r in features.map { series.values[r * C + $0] } }
        let ws = NetworkWorkspace(network: network, maxBatch: 1, maxSteps: L)
        let params = FloatBuffer(checkpoint.parameters)
        let x = FloatBuffer(count: L * F)
        var result: [[Double]] = []
        while result.count < steps {
            for t in 0..<L { for f in 0..<F { x[t * F + f] = window[t][f] } }
            ws.forward(parameters: params.base, input: .features(x.base), batch: 1, steps: L)
            let y = ws.outputs.base + (ws.outputRows - 1) * c.outputSize   // last step: k·O values
            for h in 0..<k where result.count < steps {
                let row = (0..<O).map { o in y[h * O + o] }
                result.append(row.enumerated().map { o, v in series.normalization.denormalize(v, column: targets[o]) })
                window.removeFirst()
                window.append(row)
            }
        }
        return result
    }
}
