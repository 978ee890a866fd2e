// The hidden state that stateful training carries from one window of a stream to the next,
// read and restored as one tensor in global stream order, so a checkpoint holds it the same way
// whatever the layout of ranks and threads that wrote or reads it.

import RecurPlan
import RecurKernels
import RecurParallel

extension Engine {
    /// Starts every training stream from zeros (at the start of each epoch).
    public func resetCarriedState() {
        replicas.forEach { $0.resetCarriedState(slot: 0) }
    }

    /// The carried training state of every stream, [L, B, H] in global stream order, on every
    /// rank (collective); `cell` for the cell state of cells that carry one (LSTM), else nil.
    public func carriedState(cell: Bool) -> [Float]? {
        let m = network.config, B = config.batchSize, H = m.hiddenSize, L = m.layers
        if cell && !m.carriesCellState { return nil }
        let global = FloatBuffer(count: L * B * H)
        for (t, r) in replicas.enumerated() {
            let own = positions(ofReplica: t, in: B)
            let src = (cell ? r.carriedCell : r.carriedHidden)[0].base, b = own.count
            for l in 0..<L { for j in 0..<b { Vec.copy(src + (l * b + j) * H, global.base + (l * B + own.lowerBound + j) * H, count: H) } }
        }
        comm.allreduceSum(global.base, count: global.count)
        return global.array
    }

    /// Restores what `carriedState(cell:)` returned (any layout may have written it).
    /// - Returns: false when `values` does not hold [L, B, H] for this model and batch.
    @discardableResult
    public func restoreCarriedState(_ values: [Float], cell: Bool) -> Bool {
        let m = network.config, B = config.batchSize, H = m.hiddenSize, L = m.layers
        guard values.count == L * B * H, !cell || m.carriesCellState else { return false }
        for (t, r) in replicas.enumerated() {
            let own = positions(ofReplica: t, in: B)
            let dst = (cell ? r.carriedCell : r.carriedHidden)[0].base, b = own.count
            for l in 0..<L { for j in 0..<b { for k in 0..<H { dst[(l * b + j) * H + k] = values[(l * B + own.lowerBound + j) * H + k] } } }
        }
        return true
    }
}
