// The experiment seen from the engine: the model its data calls for and the narrow
// EngineConfig, and the persistence baseline reported next to series losses. The session, the
// benchmark and the use commands build engines through here and nowhere else.

import RecurData
import RecurEngine
import RecurModel

extension ExperimentConfig {
    /// The model this experiment and a data set call for: input and output sizes come from the data.
    public func modelConfig(for dataset: any WindowedDataset) -> ModelConfig {
        let m = model
        let head: HeadMode = dataset.targetKind.isPerStep ? .everyStep : .lastStep
        var c = ModelConfig(cell: m.cell, hiddenSize: m.hiddenSize, layers: m.layers, dropout: Float(m.dropout),
                            nonlinearity: m.nonlinearity, gruReset: m.gruReset, input: m.input,
                            vocabularySize: dataset.vocabularySize, embeddingSize: m.embeddingSize,
                            featureCount: dataset.featureCount, outputSize: dataset.outputSize, head: head,
                            forgetBias: m.forgetBias)
        c.bidirectional = m.bidirectional
        return c
    }

    /// The engine's configuration for `dataset` with `threads` replicas in this process.
    public func engineConfig(for dataset: any WindowedDataset, threads: Int) -> EngineConfig {
        var c = EngineConfig(model: modelConfig(for: dataset), batchSize: training.batchSize, optimizer: training.optimizer,
                             clipNorm: training.clipNorm, clipValue: training.clipValue, threads: threads,
                             bucketSize: parallel.bucketSize, seed: seed,
                             microShards: parallel.deterministic ? parallel.microShards : nil)
        c.overlap = parallel.overlap
        return c
    }
}

extension WindowedDataset {
    /// For series: the loss of predicting that every target equals its column's last input
    /// value ("previous value" persistence), over `split`, in the same units as the loss.
    /// nil when a target column is not among the inputs or the data is not a series.
    public func persistenceBaseline(_ split: DataSplit) -> Double? {
        guard let ds = self as? SeriesDataset else { return nil }
        let s = ds.series
        let inputOf = s.targetIndices.map { s.featureIndices.firstIndex(of: $0) }
        guard inputOf.allSatisfy({ $0 != nil }) else { return nil }
        let n = ds.windowCount(split)
        guard n > 0 else { return nil }
        let buffers = BatchBuffers(for: ds, capacity: 1)
        let L = ds.seqLen, F = ds.featureCount, O = s.targetIndices.count, K = ds.horizon
        let next = ds.targetKind == .nextValues
        var sum = 0.0, count = 0
        for w in 0..<n {
            ds.fill(split, windows: [w], into: buffers)
            let x = buffers.inputFeatures!.base, y = buffers.targetValues!.base
            for t in (next ? 0..<L : (L - 1)..<L) {
                let dst = (next ? t : 0) * K * O
                for h in 0..<K {
                    for o in 0..<O {
                        let d = Double(y[dst + h * O + o] - x[t * F + inputOf[o]!])
                        sum += d * d; count += 1
                    }
                }
            }
        }
        return sum / Double(count)
    }
}
