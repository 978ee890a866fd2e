// One sequence at a time through a trained network, outside training: text sampling and
// autoregressive forecasting. The same NetworkWorkspace forward as training at batch 1, with
// the final state carried from call to call when asked. Inference (RecurInference) uses this
// and never touches a workspace itself (docs/ARCHITECTURE.md, "Modules and what they may import").

import RecurKernels
import RecurModel

public final class SequenceRunner {
    public let network: RecurrentNetwork
    private let parameters: FloatBuffer
    private let workspace: NetworkWorkspace
    private let hidden: FloatBuffer
    private let cell: FloatBuffer
    private var tokens: Int32Buffer
    private var features: FloatBuffer
    /// Whether the next `run(carrying: true)` starts from the state the last one ended in.
    private var hasState = false

    /// - Parameters:
    ///   - maxSteps: the longest sequence one call may run.
    public init(network: RecurrentNetwork, parameters: [Float], maxSteps: Int) {
        precondition(parameters.count == network.parameterCount, "SequenceRunner: \(parameters.count) parameters for \(network.parameterCount)")
        self.network = network
        self.parameters = FloatBuffer(parameters)
        let steps = max(maxSteps, 1)
        workspace = NetworkWorkspace(network: network, maxBatch: 1, maxSteps: steps)
        let stateCount = network.config.layers * network.config.hiddenSize
        hidden = FloatBuffer(count: stateCount)
        cell = FloatBuffer(count: stateCount)
        tokens = Int32Buffer([Int32](repeating: 0, count: steps))
        features = FloatBuffer(count: steps * max(network.config.featureCount, 1))
    }

    /// Values per output row (vocabulary size, classes, or horizon × targets).
    public var outputSize: Int { network.config.outputSize }

    /// Forgets the carried state: the next run starts from zeros.
    public func reset() { hasState = false }

    /// Runs `ids` (at most `maxSteps`) and returns the last step's output row.
    /// - Parameter carrying: start from the state the previous carrying run ended in (zeros at
    ///   first or after `reset`) and keep the final state for the next; false runs from zeros.
    public func run(tokens ids: [Int32], carrying: Bool) -> [Float] {
        precondition(!ids.isEmpty && ids.count <= tokens.count, "SequenceRunner: \(ids.count) steps for at most \(tokens.count)")
        for (i, t) in ids.enumerated() { tokens[i] = t }
        return forward(.tokens(tokens.base), steps: ids.count, carrying: carrying)
    }

    /// Runs `steps` rows of `rows` (row-major, `featureCount` values each) from zeros and returns
    /// the last step's output row.
    public func run(features rows: [Float], steps: Int) -> [Float] {
        precondition(rows.count == steps * network.config.featureCount && steps <= tokens.count, "SequenceRunner: features do not fit")
        for (i, v) in rows.enumerated() { features[i] = v }
        return forward(.features(features.base), steps: steps, carrying: false)
    }

    private func forward(_ input: ModelInput, steps: Int, carrying: Bool) -> [Float] {
        let c = network.config, stateCount = c.layers * c.hiddenSize
        if carrying && hasState {
            workspace.forward(parameters: parameters.base, input: input, batch: 1, steps: steps,
                              initialState: InitialState(hidden: hidden.base, cell: c.carriesCellState ? UnsafePointer(cell.base) : nil))
        } else {
            workspace.forward(parameters: parameters.base, input: input, batch: 1, steps: steps)
        }
        if carrying {
            Vec.copy(workspace.finalHidden, hidden.base, count: stateCount)
            if let fc = workspace.finalCell { Vec.copy(fc, cell.base, count: stateCount) }
            hasState = true
        }
        let V = c.outputSize
        return Array(UnsafeBufferPointer(start: workspace.outputs.base + (workspace.outputRows - 1) * V, count: V))
    }
}
