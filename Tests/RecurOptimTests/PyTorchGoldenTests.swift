// Recur's optimizers against torch.optim: parameters after each of three updates and the final
// state tensors, from Tests/Reference/make_optim_golden.py. Tolerance per value: 1e-6 absolute
// plus 1e-5 relative (see Note [Rounding against PyTorch] for why not bitwise).

import Foundation
import XCTest
@testable import RecurOptim

struct OptimGoldenFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let config: OptimizerConfig
        let parameters: [[Float]]
        let state: [String: [Float]]

        /// The fixture writes every hyperparameter of its kind, named as torch.optim's.
        private struct Settings: Decodable {
            let kind: String, lr: Double, weight_decay: Double
            let momentum: Double?, dampening: Double?, nesterov: Bool?
            let beta1: Double?, beta2: Double?, eps: Double?, amsgrad: Bool?
            let alpha: Double?, centered: Bool?, lr_decay: Double?, initial_accumulator_value: Double?
        }
        private enum Keys: String, CodingKey { case name, config, parameters, state }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            name = try c.decode(String.self, forKey: .name)
            parameters = try c.decode([[Float]].self, forKey: .parameters)
            state = try c.decode([String: [Float]].self, forKey: .state)
            let s = try c.decode(Settings.self, forKey: .config)
            let algorithm: OptimizerConfig.Algorithm
            switch s.kind {
            case "sgd": algorithm = .sgd(momentum: s.momentum!, dampening: s.dampening!, nesterov: s.nesterov!)
            case "adam": algorithm = .adam(beta1: s.beta1!, beta2: s.beta2!, eps: s.eps!, amsgrad: s.amsgrad!)
            case "adamw": algorithm = .adamw(beta1: s.beta1!, beta2: s.beta2!, eps: s.eps!, amsgrad: s.amsgrad!)
            case "rmsprop": algorithm = .rmsprop(alpha: s.alpha!, eps: s.eps!, momentum: s.momentum!, centered: s.centered!)
            default: algorithm = .adagrad(lrDecay: s.lr_decay!, eps: s.eps!, initialAccumulatorValue: s.initial_accumulator_value!)
            }
            config = OptimizerConfig(algorithm: algorithm, lr: s.lr, weightDecay: s.weight_decay)
        }
    }
    let torch_version: String
    let shapes: [[Int]]
    let initial_parameters: [Float]
    let gradients: [[Float]]
    let cases: [Case]

    static let shared: OptimGoldenFixture = {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("optim_golden.json")
        return try! JSONDecoder().decode(OptimGoldenFixture.self, from: Data(contentsOf: url))
    }()
}

final class PyTorchGoldenTests: XCTestCase {
    /// Runs the fixture case `name` and checks every value; returns the largest |Δ| seen.
    @discardableResult
    private func assertMatchesPyTorch(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
        let fixture = OptimGoldenFixture.shared
        guard let golden = fixture.cases.first(where: { $0.name == name }) else {
            XCTFail("no fixture case '\(name)'", file: file, line: line)
            return .nan
        }
        XCTAssertNoThrow(try golden.config.validate(), file: file, line: line)
        let n = fixture.initial_parameters.count
        XCTAssertEqual(fixture.shapes.map { $0.reduce(1, *) }.reduce(0, +), n, file: file, line: line)
        var params = fixture.initial_parameters
        let optimizer = Optimizer(config: golden.config, parameterCount: n)
        var worst: Float = 0, worstULPs = 0
        func compare(_ got: [Float], _ want: [Float], _ what: String) {
            XCTAssertEqual(got.count, want.count, "\(name) \(what): length", file: file, line: line)
            for (i, (g, w)) in zip(got, want).enumerated() {
                let diff = abs(g - w)
                worst = max(worst, diff)
                worstULPs = max(worstULPs, abs(Int(g.bitPattern) - Int(w.bitPattern)))
                if !(diff <= 1e-6 + 1e-5 * abs(w)) {
                    XCTFail("\(name) \(what)[\(i)]: got \(g), PyTorch \(w)", file: file, line: line)
                }
            }
        }
        for (k, grads) in fixture.gradients.enumerated() {
            params.withUnsafeMutableBufferPointer { p in
                grads.withUnsafeBufferPointer { g in
                    optimizer.step(parameters: p.baseAddress!, gradients: g.baseAddress!, count: n,
                                   learningRate: Float(golden.config.lr))
                }
            }
            compare(params, golden.parameters[k], "parameters after step \(k + 1)")
        }
        XCTAssertEqual(optimizer.stepCount, 3, file: file, line: line)
        let names = optimizer.stateTensors.map(\.name)
        XCTAssertEqual(Set(names), Set(golden.state.keys), "\(name): state names", file: file, line: line)
        for (stateName, buffer) in optimizer.stateTensors {
            compare(buffer.array, golden.state[stateName] ?? [], "state \(stateName)")
        }
        print("PyTorchGolden \(name): max |Δ| = \(worst), max \(worstULPs) ulp")
        return worst
    }

    func testFixture_EveryCaseIsCovered() {
        let tested: Set = ["sgd_plain", "sgd_momentum", "sgd_momentum_dampening", "sgd_nesterov", "sgd_weight_decay",
                           "adam", "adam_weight_decay", "adam_amsgrad", "adam_small_beta1", "adamw",
                           "rmsprop_plain", "rmsprop_momentum", "rmsprop_centered", "rmsprop_centered_momentum",
                           "adagrad", "adagrad_decay"]
        XCTAssertEqual(Set(OptimGoldenFixture.shared.cases.map(\.name)), tested)
    }

    func testSGD_Plain_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("sgd_plain") }
    func testSGD_Momentum_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("sgd_momentum") }
    func testSGD_MomentumWithDampening_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("sgd_momentum_dampening") }
    func testSGD_Nesterov_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("sgd_nesterov") }
    func testSGD_WeightDecay_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("sgd_weight_decay") }
    func testAdam_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("adam") }
    func testAdam_WeightDecay_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("adam_weight_decay") }
    func testAdam_AMSGrad_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("adam_amsgrad") }
    func testAdam_Beta1BelowHalf_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("adam_small_beta1") }
    func testAdamW_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("adamw") }
    func testRMSprop_Plain_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("rmsprop_plain") }
    func testRMSprop_MomentumAndWeightDecay_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("rmsprop_momentum") }
    func testRMSprop_Centered_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("rmsprop_centered") }
    func testRMSprop_CenteredWithMomentum_FirstThreeUpdates_MatchPyTorch() {
        assertMatchesPyTorch("rmsprop_centered_momentum")
    }
    func testAdagrad_FirstThreeUpdates_MatchPyTorch() { assertMatchesPyTorch("adagrad") }
    func testAdagrad_LRDecayWeightDecayInitialAccumulator_FirstThreeUpdates_MatchPyTorch() {
        assertMatchesPyTorch("adagrad_decay")
    }
}
