// Recur against PyTorch: outputs, final states, loss and every gradient of fixtures written by
// Tests/Reference/make_golden.py (float64 reference from float32 inputs). Tolerance: 1e-5
// absolute or 1e-4 relative, per value.

import Foundation
import XCTest
import RecurKernels
@testable import RecurModel

struct GoldenFixture: Decodable {
    let name, cell, nonlinearity, reset, input, head, loss: String
    let layers, hidden, vocab, embed, features, output, batch, steps: Int
    let normalizer: Double
    let params: [String: [Float]]
    let inputs: [Double]
    let targets: [Double]
    let h0, c0: [Float]?
    let outputs: [Double]
    let h_n: [Double]
    let c_n: [Double]?
    let loss_value: Double
    let grads: [String: [Double]]
    let bidirectional: Bool?
    /// Each row's own length (PyTorch's pack_padded_sequence), or nil: every row has `steps`.
    let lengths: [Int32]?

    var config: ModelConfig {
        var c = ModelConfig(cell: CellKind(rawValue: cell)!, hiddenSize: hidden, layers: layers,
                            nonlinearity: Nonlinearity(rawValue: nonlinearity)!, gruReset: GRUReset(rawValue: reset)!,
                            input: InputKind(rawValue: input)!, vocabularySize: vocab, embeddingSize: embed,
                            featureCount: features, outputSize: output, head: HeadMode(rawValue: head)!)
        c.bidirectional = bidirectional ?? false
        return c
    }
}

final class GoldenTests: XCTestCase {
    static func fixtures() throws -> [GoldenFixture] {
        let dir = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map { try JSONDecoder().decode(GoldenFixture.self, from: Data(contentsOf: $0)) }
    }

    /// Largest |ours − reference| over a list, failing on the first value outside tolerance.
    @discardableResult
    func compare(_ ours: [Float], _ ref: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(ours.count, ref.count, "\(what): count", file: file, line: line)
        var worst = 0.0
        for (i, (a, r)) in zip(ours, ref).enumerated() {
            let dev = abs(Double(a) - r)
            worst = max(worst, dev)
            if dev > 1e-5 && dev > 1e-4 * abs(r) {
                XCTFail("\(what)[\(i)]: Recur \(a), PyTorch \(r)", file: file, line: line)
                return worst
            }
        }
        return worst
    }

    /// `values` laid out [blocks, b, width] with the batch rows reordered: row p takes row order[p].
    func permuted<V>(_ values: [V], rows b: Int, width: Int, _ order: [Int]) -> [V] {
        precondition(values.count % (b * width) == 0)
        var out = values
        for blk in 0..<(values.count / (b * width)) {
            for (p, j) in order.enumerated() {
                for k in 0..<width { out[(blk * b + p) * width + k] = values[(blk * b + j) * width + k] }
            }
        }
        return out
    }

    func testGolden_EveryFixture_MatchesPyTorch() throws {
        let fixtures = try Self.fixtures()
        XCTAssertGreaterThanOrEqual(fixtures.count, 23)
        XCTAssertGreaterThanOrEqual(fixtures.filter { $0.lengths != nil }.count, 12, "packed-sequence fixtures")
        XCTAssertGreaterThanOrEqual(fixtures.filter { $0.lengths != nil && $0.head == "every_step" }.count, 5, "packed every-step fixtures")
        var report: [String: Double] = [:]
        for fx in fixtures {
            report[fx.name] = try check(fx, order: Array(0..<fx.batch))
            if let lengths = fx.lengths {
                // The same batch longest first: steps then run only the sequences still going
                // (Note [Variable-length sequences]); the fixtures' own order is not sorted.
                let sorted = (0..<fx.batch).sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
                XCTAssertNotEqual(sorted, Array(0..<fx.batch), "\(fx.name): lengths come unsorted")
                report[fx.name + " (longest first)"] = try check(fx, order: sorted)
            }
        }
        if ProcessInfo.processInfo.environment["RECUR_VERBOSE"] != nil {
            for (k, v) in report.sorted(by: { $0.key < $1.key }) { print("golden \(k): largest deviation \(v)") }
        }
    }

    /// Runs `fx` with its batch rows in `order` (references reordered alike) and compares every
    /// output; returns the largest deviation.
    func check(_ fx: GoldenFixture, order: [Int]) throws -> Double {
        let net = try RecurrentNetwork(fx.config)
        let b = fx.batch, T = fx.steps, D = fx.bidirectional == true ? 2 : 1
        let name = order == Array(0..<b) ? fx.name : fx.name + " (rows \(order))"
        let params = FloatBuffer(count: net.parameterCount)
        for e in net.layout.entries {
            let values = try XCTUnwrap(fx.params[e.name], "\(fx.name): fixture lacks \(e.name)")
            XCTAssertEqual(values.count, e.count, "\(fx.name): \(e.name) size")
            for (i, v) in values.enumerated() { params[e.offset + i] = v }
        }
        XCTAssertEqual(Set(fx.params.keys), Set(net.layout.entries.map(\.name)), "\(fx.name): tensor names")
        let ws = NetworkWorkspace(network: net, maxBatch: b, maxSteps: T)
        let inputs = permuted(fx.inputs, rows: b, width: fx.input == "features" ? fx.features : 1, order)
        let tokens = Int32Buffer(inputs.map { Int32($0) })
        let features = FloatBuffer(inputs.map { Float($0) })
        let input: ModelInput = fx.input == "features" ? .features(features.base) : .tokens(tokens.base)
        let h0 = fx.h0.map { FloatBuffer(permuted($0, rows: b, width: fx.hidden, order)) }
        let c0 = fx.c0.map { FloatBuffer(permuted($0, rows: b, width: fx.hidden, order)) }
        let state = h0.map { InitialState(hidden: $0.base, cell: c0.map { UnsafePointer($0.base) }) }
        // Padded steps hold random inputs in the fixtures: they must not matter.
        let lengthList = fx.lengths.map { permuted($0, rows: b, width: 1, order) }
        let lengths = lengthList.map { Int32Buffer($0) }
        ws.forward(parameters: params.base, input: input, batch: b, steps: T, initialState: state,
                   lengths: lengths.map { UnsafePointer($0.base) })

        var worst = 0.0
        let outCount = ws.outputRows * fx.output
        var ours = Array(UnsafeBufferPointer(start: ws.outputs.base, count: outCount))
        var reference = permuted(fx.outputs, rows: b, width: fx.output, order)
        if let lengths = lengthList, fx.head == "every_step" {
            // Rows past a sequence's length are padding (PyTorch pads them with zeros): not compared.
            let valid = (0..<(T * b)).filter { $0 / b < Int(lengths[$0 % b]) }
            XCTAssertLessThan(valid.count, T * b, "\(fx.name): some rows are padding")
            ours = valid.flatMap { r in ours[r * fx.output ..< (r + 1) * fx.output] }
            reference = valid.flatMap { r in reference[r * fx.output ..< (r + 1) * fx.output] }
        }
        worst = max(worst, compare(ours, reference, "\(name) outputs"))
        let stateCount = fx.layers * D * b * fx.hidden
        worst = max(worst, compare(Array(UnsafeBufferPointer(start: ws.finalHidden, count: stateCount)),
                                   permuted(fx.h_n, rows: b, width: fx.hidden, order), "\(name) h_n"))
        if let cn = fx.c_n, let fc = ws.finalCell {
            worst = max(worst, compare(Array(UnsafeBufferPointer(start: fc, count: stateCount)),
                                       permuted(cn, rows: b, width: fx.hidden, order), "\(name) c_n"))
        }
        let normalizer = Float(fx.normalizer)
        let sums: LossSums
        if fx.loss == "cross_entropy" {
            let t = Int32Buffer(permuted(fx.targets, rows: b, width: 1, order).map { Int32($0) })
            sums = ws.crossEntropy(targets: t.base, normalizer: normalizer)
        } else {
            let t = FloatBuffer(permuted(fx.targets, rows: b, width: fx.output, order).map { Float($0) })
            sums = ws.squaredError(targets: t.base, normalizer: normalizer)
        }
        worst = max(worst, compare([Float(sums.loss / fx.normalizer)], [fx.loss_value], "\(name) loss"))
        let grads = FloatBuffer(count: net.parameterCount)
        ws.backward(parameters: params.base, gradients: grads.base)
        for e in net.layout.entries {
            let ref = try XCTUnwrap(fx.grads[e.name])
            worst = max(worst, compare(Array(grads.buffer[e.range]), ref, "\(name) d\(e.name)"))
        }
        return worst
    }
}
