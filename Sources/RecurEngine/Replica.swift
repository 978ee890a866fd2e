// One replica (one thread): its model workspace, batch buffers, flat gradient buffer and, for
// stateful training, the hidden state it carries for the streams it owns. Allocated once;
// a step only fills buffers and runs forward, loss and backward over them.

import RecurData
import RecurPlan
import RecurKernels
import RecurModel

final class Replica: @unchecked Sendable {
    let workspace: NetworkWorkspace
    let gradients: FloatBuffer
    let batch: BatchBuffers
    /// Carried state for stateful runs, [L, b, H] each (b = this replica's streams); slot 0
    /// for training, slot 1 for evaluation, so evaluating mid-epoch leaves training's intact.
    let carriedHidden: [FloatBuffer]
    let carriedCell: [FloatBuffer]
    /// Sums of the last step (read by the main thread after the replicas finish).
    var sums = LossSums()
    /// Windows in the last step (outputs and batch targets hold that many).
    var lastCount = 0
    /// The windows of the last step, in batch order.
    var lastWindows: WindowList?

    /// - Parameter packs: the engine's W_hh packs (Note [W_hh packed once per region]), or nil.
    init(network: RecurrentNetwork, dataset: some WindowedDataset, capacity: Int, packs: PackedRecurrentWeights? = nil) {
        workspace = NetworkWorkspace(network: network, maxBatch: max(capacity, 1), maxSteps: dataset.seqLen, packs: packs)
        gradients = FloatBuffer(count: network.parameterCount)
        batch = BatchBuffers(for: dataset, capacity: max(capacity, 1))
        let state = Self.carriedStateCounts(network: network, capacity: capacity)
        carriedHidden = (0..<Self.carriedSlots).map { _ in FloatBuffer(count: state.hidden) }
        carriedCell = (0..<Self.carriedSlots).map { _ in FloatBuffer(count: state.cell) }
    }

    /// Carried-state slots: training's and evaluation's.
    static let carriedSlots = 2

    /// Floats of one slot of carried hidden and cell state, [L, b, H] (cell: 0 for cells without one).
    static func carriedStateCounts(network: RecurrentNetwork, capacity: Int) -> (hidden: Int, cell: Int) {
        let c = network.config, count = c.layers * max(capacity, 1) * c.hiddenSize
        return (count, c.carriesCellState ? count : 0)
    }

    /// Bytes a replica allocates for activations: its workspace and carried state, from the sizes
    /// `init` allocates (its gradient buffer is one more parameter buffer, and the engine's packs
    /// are counted once; Engine.checkMemory).
    static func activationBytes(network: RecurrentNetwork, capacity: Int, seqLen: Int, sharedPacks: Bool = false) -> Double {
        let state = carriedStateCounts(network: network, capacity: capacity)
        return NetworkWorkspace.estimatedBytes(network: network, maxBatch: max(capacity, 1), maxSteps: seqLen, sharedPacks: sharedPacks)
            + Double(carriedSlots * (state.hidden + state.cell) * MemoryLayout<Float>.stride)
    }

    func resetCarriedState(slot: Int) {
        carriedHidden[slot].zero()
        carriedCell[slot].zero()
    }

    /// Forward, loss and (when `train`) backward over `windows` of `split`. Gradients and loss
    /// sums are overwritten, or with `accumulate` added to (gradient accumulation).
    /// - Parameters:
    ///   - normalizer: the global count the loss is divided by (ARCHITECTURE.md §6).
    ///   - firstSequence: global index of the first window in this step's batch (dropout masks).
    ///   - stateful: start from, and keep, the carried state (slot 0 when training, 1 when not).
    func run(parameters: UnsafePointer<Float>, dataset: some WindowedDataset, split: DataSplit,
             windows: WindowList, normalizer: Float, train: Bool, dropoutSeed: UInt64?,
             firstSequence: Int, stateful: Bool, accumulate: Bool = false, finished: (Int) -> Void = { _ in }) {
        if !accumulate {
            gradients.zero()
            sums = LossSums()
        }
        let b = windows.count
        lastCount = b
        lastWindows = windows
        guard b > 0 else { return }
        dataset.fill(split, windows: windows, into: batch)
        let steps = dataset.batchSteps(split, windows: windows)
        let input: ModelInput = batch.inputTokens.map { .tokens(UnsafePointer($0.base)) }
            ?? .features(UnsafePointer(batch.inputFeatures!.base))
        let slot = train ? 0 : 1
        let state = stateful ? InitialState(hidden: UnsafePointer(carriedHidden[slot].base),
                                            cell: carriedCell[slot].count > 0 ? UnsafePointer(carriedCell[slot].base) : nil) : nil
        workspace.forward(parameters: parameters, input: input, batch: b, steps: steps, initialState: state,
                          dropout: train ? dropoutSeed.map { DropoutSource(seed: $0, firstSequence: firstSequence) } : nil,
                          lengths: batch.lengths.map { UnsafePointer($0.base) })
        let batchSums = batch.targetTokens.map { workspace.crossEntropy(targets: $0.base, normalizer: normalizer) }
            ?? workspace.squaredError(targets: batch.targetValues!.base, normalizer: normalizer)
        sums.loss += batchSums.loss; sums.correct += batchSums.correct; sums.count += batchSums.count
        if stateful {
            let c = workspace.network.config, n = c.layers * b * c.hiddenSize
            Vec.copy(workspace.finalHidden, carriedHidden[slot].base, count: n)
            if let fc = workspace.finalCell { Vec.copy(fc, carriedCell[slot].base, count: n) }
        }
        if train { workspace.backward(parameters: parameters, gradients: gradients.base, finished: finished) }
    }
}
