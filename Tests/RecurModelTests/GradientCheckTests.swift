// Finite-difference checks of every hand-written gradient: each cell and variant, each input
// encoding, both heads and both losses, stacked, with dropout and with a given initial state.
// Central differences on every parameter of a small model; the loss sum is accumulated in Double.

import XCTest
import RecurKernels
@testable import RecurModel

enum LossKind { case crossEntropy, squaredError }

struct GradientCase {
    var config: ModelConfig
    var batch = 3
    var steps = 4
    var loss: LossKind
    var givenState = false
    var dropout = false
    /// Finite-difference step; relu needs a small one so the stencil does not cross its kink.
    var eps: Float = 3e-2
    /// Each sequence's own length (variable-length batches), or nil: all `steps`.
    var lengths: [Int32]? = nil
}

final class GradientCheckTests: XCTestCase {

    /// Runs forward + loss + backward, then compares every parameter's gradient with a central
    /// difference. Returns the largest absolute deviation.
    @discardableResult
    func check(_ gc: GradientCase, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        let net = try RecurrentNetwork(gc.config)
        let c = gc.config, b = gc.batch, T = gc.steps
        let ws = NetworkWorkspace(network: net, maxBatch: b, maxSteps: T)
        let params = FloatBuffer(count: net.parameterCount)
        net.initializeParameters(params.base, seed: 7)
        // Make biases non-trivial so every path carries signal.
        var rng = SeededRandom(seed: 99)
        for e in net.layout.entries where e.name.contains("bias") {
            for i in e.range { params[i] = rng.uniform(-0.5, 0.5) }
        }
        let rows = T * b
        let tokens = Int32Buffer(count: rows)
        let features = FloatBuffer(count: rows * max(c.featureCount, 1))
        for i in 0..<rows { tokens[i] = Int32(rng.below(max(c.vocabularySize, 1))) }
        for i in 0..<features.count { features[i] = rng.uniform(-1, 1) }
        let outRows = c.head == .everyStep ? rows : b
        let classTargets = Int32Buffer(count: outRows)
        for i in 0..<outRows { classTargets[i] = Int32(rng.below(c.outputSize)) }
        let valueTargets = FloatBuffer(count: outRows * c.outputSize)
        for i in 0..<valueTargets.count { valueTargets[i] = rng.uniform(-1, 1) }
        let L = c.layers, H = c.hiddenSize
        let h0 = FloatBuffer(count: L * b * H), c0 = FloatBuffer(count: L * b * H)
        for i in 0..<h0.count { h0[i] = rng.uniform(-0.8, 0.8); c0[i] = rng.uniform(-0.8, 0.8) }
        let normalizer = Float(outRows * (gc.loss == .squaredError ? c.outputSize : 1)) + 1.5
        let lengths = gc.lengths.map { Int32Buffer($0) }
        if let l = gc.lengths, c.head == .everyStep {
            // Padded steps have no target (−1), as the data gives them.
            precondition(gc.loss == .crossEntropy, "every-step targets of variable-length batches are classes")
            for t in 0..<T { for j in 0..<b where t >= Int(l[j]) { classTargets[t * b + j] = -1 } }
        }

        func lossValue(_ p: UnsafePointer<Float>) -> Double {
            let input: ModelInput = c.input == .features ? .features(UnsafePointer(features.base)) : .tokens(UnsafePointer(tokens.base))
            let state = gc.givenState ? InitialState(hidden: UnsafePointer(h0.base), cell: UnsafePointer(c0.base)) : nil
            ws.forward(parameters: p, input: input, batch: b, steps: T, initialState: state,
                       dropout: gc.dropout ? DropoutSource(seed: 5, firstSequence: 11) : nil,
                       lengths: lengths.map { UnsafePointer($0.base) })
            let sums = gc.loss == .crossEntropy
                ? ws.crossEntropy(targets: classTargets.base, normalizer: normalizer)
                : ws.squaredError(targets: valueTargets.base, normalizer: normalizer)
            return sums.loss / Double(normalizer)
        }

        let grads = FloatBuffer(count: net.parameterCount)
        _ = lossValue(params.base)
        ws.backward(parameters: params.base, gradients: grads.base)

        // Per tensor: ‖analytic − fd‖ ≤ 1e-3 · ‖fd‖ + 2e-6 · √n (Float forward), and no
        // single element off by more than 1e-2 · max|fd| + 1e-4.
        var worst: Float = 0
        let eps = gc.eps
        for e in net.layout.entries {
            var errSq = 0.0, refSq = 0.0, maxRef: Float = 0
            var fds: [Float] = []
            for i in e.range {
                // Fourth-order central difference: truncation O(eps⁴) lets eps be large enough
                // that Float rounding in the forward pass stays near 1e-6.
                let saved = params[i]
                func at(_ d: Float) -> Double { params[i] = saved + d; return lossValue(params.base) }
                let fd = Float((8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / Double(12 * eps))
                params[i] = saved
                fds.append(fd)
                errSq += Double((fd - grads[i]) * (fd - grads[i]))
                refSq += Double(fd * fd)
                maxRef = max(maxRef, abs(fd))
            }
            let rel = Float((errSq.squareRoot()) / (refSq.squareRoot() + 1e-12))
            worst = max(worst, rel)
            if errSq.squareRoot() > 1e-3 * refSq.squareRoot() + 2e-6 * Double(e.count).squareRoot() {
                XCTFail("\(e.name): relative gradient error \(rel) (norm \(refSq.squareRoot()))", file: file, line: line)
            }
            for (n, i) in e.range.enumerated() where abs(fds[n] - grads[i]) > 1e-2 * maxRef + 1e-4 {
                XCTFail("\(e.name)[\(n)]: analytic \(grads[i]) vs finite difference \(fds[n])", file: file, line: line)
                break
            }
        }
        if ProcessInfo.processInfo.environment["RECUR_VERBOSE"] != nil { print("worst relative error \(worst) for \(c.cell) \(c.input)") }
        return worst
    }

    func model(_ cell: CellKind, input: InputKind = .features, layers: Int = 1, head: HeadMode = .everyStep,
               reset: GRUReset = .after, relu: Bool = false, out: Int = 3, dropout: Float = 0) -> ModelConfig {
        ModelConfig(cell: cell, hiddenSize: 5, layers: layers, dropout: dropout,
                    nonlinearity: relu ? .relu : .tanh, gruReset: reset, input: input,
                    vocabularySize: 6, embeddingSize: 4, featureCount: 3, outputSize: out, head: head)
    }

    // MARK: Cells and variants

    func testGradients_RNNTanh_MatchFiniteDifferences() throws {
        try check(GradientCase(config: model(.rnn), loss: .squaredError))
    }

    func testGradients_RNNRelu_MatchFiniteDifferences() throws {
        try check(GradientCase(config: model(.rnn, relu: true), loss: .squaredError, eps: 2e-3))
    }

    func testGradients_GRUResetAfter_MatchFiniteDifferences() throws {
        try check(GradientCase(config: model(.gru, reset: .after), loss: .squaredError))
    }

    func testGradients_GRUResetBefore_MatchFiniteDifferences() throws {
        try check(GradientCase(config: model(.gru, reset: .before), loss: .squaredError))
    }

    func testGradients_LSTM_MatchFiniteDifferences() throws {
        try check(GradientCase(config: model(.lstm), loss: .squaredError))
    }

    // MARK: Input encodings and losses

    /// More than NetworkWorkspace.fewFeatures inputs: the projection and dW_ih go through GEMMs
    /// instead of the per-step sums the 3-feature cases use (Note [Few input features]).
    func testGradients_ManyFeatures_GEMMInputPath_MatchFiniteDifferences() throws {
        var c = model(.lstm)
        c.featureCount = 11
        try check(GradientCase(config: c, loss: .squaredError))
    }

    func testGradients_EmbeddingCrossEntropy_EveryCell() throws {
        for cell in CellKind.allCases {
            try check(GradientCase(config: model(cell, input: .embedding, out: 6), loss: .crossEntropy))
        }
    }

    func testGradients_OneHotCrossEntropy_EveryCell() throws {
        for cell in CellKind.allCases {
            try check(GradientCase(config: model(cell, input: .oneHot, out: 6), loss: .crossEntropy))
        }
    }

    func testGradients_LastStepHead_ClassificationAndRegression() throws {
        for cell in CellKind.allCases {
            try check(GradientCase(config: model(cell, head: .lastStep, out: 4), loss: .crossEntropy))
            try check(GradientCase(config: model(cell, head: .lastStep, out: 2), loss: .squaredError))
        }
    }

    // MARK: Stacks, state, dropout

    func testGradients_TwoLayers_EveryCellAndVariant() throws {
        for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
            try check(GradientCase(config: model(cell, input: .embedding, layers: 2, reset: reset, out: 6), loss: .crossEntropy))
        }
    }

    func testGradients_GivenInitialState_EveryCellAndVariant() throws {
        for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
            try check(GradientCase(config: model(cell, layers: 2, reset: reset), loss: .squaredError, givenState: true))
        }
    }

    func testGradients_DropoutBetweenLayers_FixedMasks() throws {
        for cell in CellKind.allCases {
            try check(GradientCase(config: model(cell, input: .embedding, layers: 3, out: 6, dropout: 0.3),
                                   loss: .crossEntropy, dropout: true))
        }
    }

    // MARK: Bidirectional layers (Note [Bidirectional layers])

    func testGradients_Bidirectional_EveryCell_EveryInput_BothHeads() throws {
        for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
            for input in InputKind.allCases {
                for head in HeadMode.allCases {
                    var c = model(cell, input: input, layers: 2, head: head, reset: reset, out: input == .features ? 3 : 6)
                    c.bidirectional = true
                    try check(GradientCase(config: c, loss: input == .features ? .squaredError : .crossEntropy))
                }
            }
        }
    }

    func testGradients_Bidirectional_ManyFeatures_Dropout_OneStep() throws {
        var c = model(.lstm, layers: 3, head: .lastStep, out: 4, dropout: 0.3)
        c.featureCount = 11
        c.bidirectional = true
        try check(GradientCase(config: c, loss: .crossEntropy, dropout: true))
        try check(GradientCase(config: c, steps: 1, loss: .crossEntropy))
    }

    // MARK: Variable-length sequences (Note [Variable-length sequences])

    func testGradients_VariableLengths_EveryCell_BothDirections_EveryInput() throws {
        for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
            for input in InputKind.allCases {
                for bidirectional in [false, true] {
                    var c = model(cell, input: input, layers: 2, head: .lastStep, reset: reset, out: input == .features ? 3 : 6)
                    c.bidirectional = bidirectional
                    try check(GradientCase(config: c, batch: 4, steps: 5, loss: input == .features ? .squaredError : .crossEntropy,
                                           lengths: [3, 5, 1, 4]))
                    // Longest first: each step runs only the sequences still going.
                    try check(GradientCase(config: c, batch: 4, steps: 5, loss: input == .features ? .squaredError : .crossEntropy,
                                           lengths: [5, 4, 3, 1]))
                }
            }
        }
        var c = model(.lstm, layers: 3, head: .lastStep, out: 4, dropout: 0.3)
        c.bidirectional = true
        try check(GradientCase(config: c, batch: 3, steps: 6, loss: .crossEntropy, dropout: true, lengths: [2, 6, 5]))
    }

    /// A class at every step of sequences of different lengths (padded steps have no target).
    func testGradients_VariableLengths_EveryStepClasses_EveryCell_BothDirections() throws {
        for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
            for bidirectional in [false, true] {
                var c = model(cell, input: cell == .lstm ? .embedding : .features, layers: 2, head: .everyStep, reset: reset, out: 4)
                c.bidirectional = bidirectional
                try check(GradientCase(config: c, batch: 4, steps: 5, loss: .crossEntropy, lengths: [3, 5, 1, 4]))
                try check(GradientCase(config: c, batch: 4, steps: 5, loss: .crossEntropy, lengths: [5, 5, 2, 1]))
            }
        }
    }

    func testGradients_RaggedHiddenSize_BatchOfOne() throws {
        var c = model(.lstm, input: .embedding, layers: 2, out: 6)
        c.hiddenSize = 11   // one full SIMD lane and a ragged tail
        try check(GradientCase(config: c, batch: 1, steps: 3, loss: .crossEntropy))
        c.cell = .gru
        c.gruReset = .before
        try check(GradientCase(config: c, batch: 2, steps: 3, loss: .crossEntropy))
    }
}
