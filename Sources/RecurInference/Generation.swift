// Using a trained model step by step: text sampling (temperature, top-k, seeded) and
// autoregressive forecasting in original units. Both run the same forward as training, one
// sequence at a time through RecurEngine's SequenceRunner, carrying the final state from call
// to call.

import Foundation
import RecurExperiment
import RecurStore
import RecurData
import RecurKernels
import RecurModel
import RecurEngine

extension TrainedModel {
    /// The most tokens one `sample` call generates.
    public static let maxSampleLength = 10_000_000

    /// Generates `length` tokens after `prime` (text models).
    /// - Throws: `DataError` when the prime holds a token the vocabulary lacks (and it has no <unk>).
    public func sample(prime: String, length: Int, temperature: Float, topK: Int?, seed: UInt64) throws -> String {
        var text = ""
        try sample(prime: prime, length: length, temperature: temperature, topK: topK, seed: seed) { text += $0 }
        return text
    }

    /// Generates `length` tokens after `prime`, handing each token's text to `emit` as soon as it
    /// is drawn (so output streams; an error from `emit` ends the generation).
    /// - Throws: `UsageError` for a length out of range or a model that is not a text model;
    ///   `DataError` for a prime token the vocabulary lacks; what `emit` throws.
    public func sample(prime: String, length: Int, temperature: Float, topK: Int?, seed: UInt64,
                       emit: (String) throws -> Void) throws {
        guard (1...Self.maxSampleLength).contains(length) else {
            throw UsageError("--length must be 1 to \(Self.maxSampleLength), got \(length)")
        }
        guard let vocabulary = manifest?.vocabulary, network.config.input != .features else {
            throw UsageError("\(location.path) is not a text model (it was trained on \(experiment.data.kind.rawValue) data); \(fittingCommands)")
        }
        var ids = try vocabulary.encode(prime)
        var rng = SeededRandom(seed: seed)
        if ids.isEmpty { ids = [Int32(rng.below(vocabulary.count))] }
        let c = network.config, V = c.outputSize
        var atLineStart = true
        func put(_ id: Int32) throws { try emit(vocabulary.decode(id, atLineStart: &atLineStart)) }
        var probs = [Float](repeating: 0, count: V)
        /// The next token from the last output row's logits: greedy at temperature 0, else drawn.
        func pick(_ logits: [Float]) -> Int32 {
            if temperature == 0 { return Int32(Act.argmax(logits, count: V)) }   // greedy: no draw
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
            let runner = SequenceRunner(network: network, parameters: checkpoint.parameters, maxSteps: L)
            var context = Array(ids.suffix(L))
            for _ in 0..<length {
                let next = pick(runner.run(tokens: context, carrying: false))
                try put(next)
                context.append(next)
                if context.count > L { context.removeFirst() }
            }
            return
        }
        // The prime first, then one token at a time from the carried state.
        let runner = SequenceRunner(network: network, parameters: checkpoint.parameters, maxSteps: max(ids.count, 1))
        var input = ids
        for _ in 0..<length {
            let next = pick(runner.run(tokens: input, carrying: true))
            try put(next)
            input = [next]
        }
    }

    /// Forecasts `steps` future rows of the target columns, in original units, from the last
    /// `seq_len` rows of series `part` of `series` (already normalised with the stored statistics).
    /// - Parameter emit: sees each row as soon as it is computed (so output streams).
    /// - Returns: one row per future step, one value per target column.
    public func forecast(_ series: TimeSeries, part: Int = 0, steps: Int, emit: ([Double]) throws -> Void = { _ in }) throws -> [[Double]] {
        let L = experiment.data.seqLen, k = experiment.data.horizon
        let features = series.featureIndices, targets = series.targetIndices
        let O = targets.count, C = series.columns.count
        let rows = series.parts[part].rows, stats = series.stats(series: part)
        let name = series.parts[part].name
        guard rows.count >= L else {
            throw ConfigError(file: series.path, line: nil, key: "", message: "\(name.isEmpty ? "has" : "series '\(name)' has") \(rows.count) rows; the model reads \(L) (seq_len) to forecast")
        }
        if steps > k && features != targets {
            throw ConfigError(file: series.path, line: nil, key: "", message: "forecasting \(steps) steps with a horizon of \(k) feeds predictions back as inputs, which needs the target columns to be the input columns; ask for at most \(k) steps")
        }
        // Rolling window of normalised feature rows.
        var window: [[Float]] = (rows.upperBound - L..<rows.upperBound).map { r in features.map { series.values[r * C + $0] } }
        let runner = SequenceRunner(network: network, parameters: checkpoint.parameters, maxSteps: L)
        var result: [[Double]] = []
        while result.count < steps {
            let y = runner.run(features: window.flatMap { $0 }, steps: L)   // last step: k·O values
            for h in 0..<k where result.count < steps {
                let row = (0..<O).map { o in y[h * O + o] }
                result.append(row.enumerated().map { o, v in stats.denormalize(v, column: targets[o]) })
                try emit(result[result.count - 1])
                window.removeFirst()
                window.append(row)
            }
        }
        return result
    }
}
