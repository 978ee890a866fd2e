// Variable-length batches (Note [Variable-length sequences]): a padded batch with each
// sequence's length gives what running every sequence alone gives — outputs, final states and
// the summed gradients — for every cell, both directions, every input encoding and with dropout;
// and what sits in the padding never changes a bit. (PyTorch's packed sequences: GoldenTests.)

import XCTest
import RecurKernels
@testable import RecurModel

final class VariableLengthTests: XCTestCase {
    struct Result {
        var outputs: [Float], hidden: [Float], cell: [Float], grads: [Float]
    }

    /// Unsorted (every row runs every step), or longest first (steps run only the sequences
    /// still going): both orders are checked.
    var lengths: [Int32] = [4, 7, 1, 6, 3]
    static let orders: [[Int32]] = [[4, 7, 1, 6, 3], [7, 6, 4, 3, 1]]
    let T = 7

    func model(_ cell: CellKind, reset: GRUReset = .after, input: InputKind, bidirectional: Bool, dropout: Float = 0,
               head: HeadMode = .lastStep) -> ModelConfig {
        var c = ModelConfig(cell: cell, hiddenSize: 6, layers: 2, dropout: dropout, gruReset: reset, input: input,
                            vocabularySize: 7, embeddingSize: 4, featureCount: 3, outputSize: 4, head: head)
        c.bidirectional = bidirectional
        return c
    }

    /// Random inputs for B sequences of T steps (time-major), padding included.
    func inputs(_ c: ModelConfig, seed: UInt64) -> (tokens: [Int32], features: [Float]) {
        var rng = SeededRandom(seed: seed)
        let rows = T * lengths.count
        return ((0..<rows).map { _ in Int32(rng.below(c.vocabularySize)) },
                (0..<rows * c.featureCount).map { _ in rng.uniform(-1, 1) })
    }

    /// Forward, cross-entropy and backward of the padded batch with lengths.
    func batched(_ c: ModelConfig, _ params: FloatBuffer, tokens: [Int32], features: [Float], targets: [Int32],
                 dropout: DropoutSource?) throws -> Result {
        let net = try RecurrentNetwork(c), b = lengths.count
        let ws = NetworkWorkspace(network: net, maxBatch: b, maxSteps: T)
        let tok = Int32Buffer(tokens), x = FloatBuffer(features), len = Int32Buffer(lengths), t = Int32Buffer(targets)
        let input: ModelInput = c.input == .features ? .features(x.base) : .tokens(tok.base)
        ws.forward(parameters: params.base, input: input, batch: b, steps: T, dropout: dropout, lengths: len.base)
        _ = ws.crossEntropy(targets: t.base, normalizer: Float(b))
        if c.head == .everyStep {
            // Outputs of the real steps only, sequence by sequence (padded rows are not results).
            let O = c.outputSize
            let real = (0..<b).flatMap { j in (0..<Int(lengths[j])).flatMap { s in (0..<O).map { ws.outputs[(s * b + j) * O + $0] } } }
            let grads = FloatBuffer(count: net.parameterCount)
            ws.backward(parameters: params.base, gradients: grads.base)
            let states = c.layers * c.directions * b * c.hiddenSize
            return Result(outputs: real, hidden: Array(UnsafeBufferPointer(start: ws.finalHidden, count: states)),
                          cell: ws.finalCell.map { Array(UnsafeBufferPointer(start: $0, count: states)) } ?? [],
                          grads: Array(grads.buffer))
        }
        let grads = FloatBuffer(count: net.parameterCount)
        ws.backward(parameters: params.base, gradients: grads.base)
        let states = c.layers * c.directions * b * c.hiddenSize
        return Result(outputs: Array(ws.outputs.buffer[0..<(b * c.outputSize)]),
                      hidden: Array(UnsafeBufferPointer(start: ws.finalHidden, count: states)),
                      cell: ws.finalCell.map { Array(UnsafeBufferPointer(start: $0, count: states)) } ?? [],
                      grads: Array(grads.buffer))
    }

    /// The same, one sequence at a time (batch of one, its own steps, no lengths), gradients summed;
    /// states gathered into the batch's [L·D, B, H] layout.
    func alone(_ c: ModelConfig, _ params: FloatBuffer, tokens: [Int32], features: [Float], targets: [Int32],
               dropout: DropoutSource?) throws -> Result {
        let net = try RecurrentNetwork(c), b = lengths.count, F = c.featureCount, H = c.hiddenSize, O = c.outputSize
        let ws = NetworkWorkspace(network: net, maxBatch: 1, maxSteps: T)
        let grads = FloatBuffer(count: net.parameterCount)
        let states = c.layers * c.directions
        var stepOutputs: [Float] = []
        var r = Result(outputs: [Float](repeating: 0, count: b * O), hidden: [Float](repeating: 0, count: states * b * H),
                       cell: c.cell == .lstm ? [Float](repeating: 0, count: states * b * H) : [], grads: [])
        for j in 0..<b {
            let n = Int(lengths[j])
            let tok = Int32Buffer((0..<n).map { tokens[$0 * b + j] })
            let x = FloatBuffer((0..<n).flatMap { s in (0..<F).map { features[(s * b + j) * F + $0] } })
            let perStep = c.head == .everyStep
            let t = Int32Buffer(perStep ? (0..<n).map { targets[$0 * b + j] } : [targets[j]])
            let input: ModelInput = c.input == .features ? .features(x.base) : .tokens(tok.base)
            ws.forward(parameters: params.base, input: input, batch: 1, steps: n,
                       dropout: dropout.map { DropoutSource(seed: $0.seed, firstSequence: $0.firstSequence + j) })
            _ = ws.crossEntropy(targets: t.base, normalizer: Float(b))
            ws.backward(parameters: params.base, gradients: grads.base)
            if perStep {
                stepOutputs += (0..<(n * O)).map { ws.outputs[$0] }
            } else {
                for o in 0..<O { r.outputs[j * O + o] = ws.outputs[o] }
            }
            for k in 0..<states {
                for h in 0..<H {
                    r.hidden[(k * b + j) * H + h] = ws.finalHidden[k * H + h]
                    if let fc = ws.finalCell { r.cell[(k * b + j) * H + h] = fc[k * H + h] }
                }
            }
        }
        r.grads = Array(grads.buffer)
        if c.head == .everyStep { r.outputs = stepOutputs }
        return r
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String) {
        XCTAssertEqual(a.count, b.count, what)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > 1e-5 + 1e-4 * abs(y) {
            XCTFail("\(what)[\(i)]: batched \(x), one by one \(y)")
            return
        }
    }

    func testPaddedBatch_EqualsEachSequenceAlone_EveryCellDirectionAndInput() throws {
        var cases = 0
        for order in Self.orders {
            lengths = order
            for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
                for input in InputKind.allCases {
                    for bidirectional in [false, true] {
                        for dropout in [Float(0), 0.4] where dropout == 0 || input == .features {
                            let c = model(cell, reset: reset, input: input, bidirectional: bidirectional, dropout: dropout)
                            let net = try RecurrentNetwork(c)
                            let params = FloatBuffer(count: net.parameterCount)
                            net.initializeParameters(params.base, seed: 3)
                            let (tokens, features) = inputs(c, seed: 17)
                            let targets: [Int32] = [0, 3, 1, 2, 3]
                            let mask = dropout > 0 ? DropoutSource(seed: 9, firstSequence: 40) : nil
                            let name = "lengths \(lengths) \(cell) \(reset) \(input) bidirectional \(bidirectional) dropout \(dropout)"
                            let b = try batched(c, params, tokens: tokens, features: features, targets: targets, dropout: mask)
                            let a = try alone(c, params, tokens: tokens, features: features, targets: targets, dropout: mask)
                            assertClose(b.outputs, a.outputs, "\(name) outputs")
                            assertClose(b.hidden, a.hidden, "\(name) h_n")
                            assertClose(b.cell, a.cell, "\(name) c_n")
                            assertClose(b.grads, a.grads, "\(name) gradients")
                            XCTAssertGreaterThan(b.grads.map { abs($0) }.max() ?? 0, 1e-3, "\(name): gradients reach the parameters")
                            cases += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(cases, 64)
    }

    /// A class at every step: padded steps' targets are −1, so they add nothing to the loss and
    /// get no gradient; the result is each sequence alone, scored at each of its steps.
    func testPaddedBatch_EveryStepClasses_EqualsEachSequenceAlone() throws {
        for order in Self.orders {
            lengths = order
            let b = lengths.count
            var rng = SeededRandom(seed: 31)
            var targets = (0..<(T * b)).map { _ in Int32(rng.below(4)) }
            for s in 0..<T { for j in 0..<b where s >= Int(lengths[j]) { targets[s * b + j] = -1 } }
            for (cell, reset) in [(CellKind.rnn, GRUReset.after), (.gru, .after), (.gru, .before), (.lstm, .after)] {
                for input in [InputKind.features, .embedding] {
                    for bidirectional in [false, true] {
                        let c = model(cell, reset: reset, input: input, bidirectional: bidirectional, head: .everyStep)
                        let net = try RecurrentNetwork(c)
                        let params = FloatBuffer(count: net.parameterCount)
                        net.initializeParameters(params.base, seed: 4)
                        let (tokens, features) = inputs(c, seed: 19)
                        let name = "lengths \(lengths) every step \(cell) \(reset) \(input) bidirectional \(bidirectional)"
                        let batchedResult = try batched(c, params, tokens: tokens, features: features, targets: targets, dropout: nil)
                        let a = try alone(c, params, tokens: tokens, features: features, targets: targets, dropout: nil)
                        assertClose(batchedResult.outputs, a.outputs, "\(name) outputs")
                        assertClose(batchedResult.hidden, a.hidden, "\(name) h_n")
                        assertClose(batchedResult.grads, a.grads, "\(name) gradients")
                        XCTAssertEqual(batchedResult.outputs.count, Int(lengths.reduce(0, +)) * c.outputSize)
                    }
                }
            }
        }
    }

    func testPadding_ChangesNothing_Bitwise() throws {
        for order in Self.orders {
            lengths = order
            for bidirectional in [false, true] {
                for input in [InputKind.features, .embedding] {
                    let c = model(.lstm, input: input, bidirectional: bidirectional)
                    let net = try RecurrentNetwork(c)
                    let params = FloatBuffer(count: net.parameterCount)
                    net.initializeParameters(params.base, seed: 5)
                    var (tokens, features) = inputs(c, seed: 23)
                    let targets: [Int32] = [1, 0, 2, 3, 1]
                    let before = try batched(c, params, tokens: tokens, features: features, targets: targets, dropout: nil)
                    // New values in every padded step only.
                    var rng = SeededRandom(seed: 99)
                    let b = lengths.count
                    for s in 0..<T {
                        for j in 0..<b where s >= Int(lengths[j]) {
                            tokens[s * b + j] = Int32(rng.below(c.vocabularySize))
                            for f in 0..<c.featureCount { features[(s * b + j) * c.featureCount + f] = rng.uniform(-5, 5) }
                        }
                    }
                    let after = try batched(c, params, tokens: tokens, features: features, targets: targets, dropout: nil)
                    let name = "lengths \(lengths) bidirectional \(bidirectional) \(input)"
                    XCTAssertEqual(before.outputs, after.outputs, "\(name) outputs")
                    XCTAssertEqual(before.hidden, after.hidden, "\(name) h_n")
                    XCTAssertEqual(before.grads, after.grads, "\(name) gradients")
                }
            }
        }
    }
}
