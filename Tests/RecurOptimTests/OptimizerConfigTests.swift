// OptimizerConfig: PyTorch's defaults, decoding from snake_case keys (missing keys take defaults,
// typos and keys of another kind fail), encoding round trips, and validate()'s messages.

import Foundation
import XCTest
@testable import RecurOptim

final class OptimizerConfigTests: XCTestCase {
    private func decode(_ json: String) throws -> OptimizerConfig {
        try JSONDecoder().decode(OptimizerConfig.self, from: Data(json.utf8))
    }

    private func message(_ config: OptimizerConfig) -> String? {
        do { try config.validate(); return nil } catch { return error.description }
    }

    func testDecoding_KindOnly_GivesPyTorchDefaults() throws {
        XCTAssertEqual(try decode(#"{"kind":"sgd"}"#),
                       OptimizerConfig(algorithm: .sgd(momentum: 0, dampening: 0, nesterov: false), lr: 1e-3, weightDecay: 0))
        XCTAssertEqual(try decode(#"{"kind":"adam"}"#),
                       OptimizerConfig(algorithm: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false),
                                       lr: 1e-3, weightDecay: 0))
        XCTAssertEqual(try decode(#"{"kind":"adamw"}"#),
                       OptimizerConfig(algorithm: .adamw(beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false),
                                       lr: 1e-3, weightDecay: 1e-2))
        XCTAssertEqual(try decode(#"{"kind":"rmsprop"}"#),
                       OptimizerConfig(algorithm: .rmsprop(alpha: 0.99, eps: 1e-8, momentum: 0, centered: false),
                                       lr: 1e-2, weightDecay: 0))
        XCTAssertEqual(try decode(#"{"kind":"adagrad"}"#),
                       OptimizerConfig(algorithm: .adagrad(lrDecay: 0, eps: 1e-10, initialAccumulatorValue: 0),
                                       lr: 1e-2, weightDecay: 0))
        for kind in OptimizerConfig.Kind.allCases {
            XCTAssertNoThrow(try OptimizerConfig.defaults(for: kind).validate())
        }
    }

    func testDecoding_GivenKeys_OverrideDefaults() throws {
        XCTAssertEqual(try decode(#"{"kind":"adam","lr":0.01,"beta2":0.98,"weight_decay":0.1,"amsgrad":true}"#),
                       .adam(lr: 0.01, beta2: 0.98, weightDecay: 0.1, amsgrad: true))
        XCTAssertEqual(try decode(#"{"kind":"sgd","lr":1,"momentum":0.9,"nesterov":true}"#),
                       .sgd(lr: 1, momentum: 0.9, nesterov: true))
        XCTAssertEqual(try decode(#"{"kind":"rmsprop","alpha":0.9,"centered":true,"momentum":0.5}"#),
                       .rmsprop(alpha: 0.9, momentum: 0.5, centered: true))
        XCTAssertEqual(try decode(#"{"kind":"adagrad","lr_decay":0.01,"initial_accumulator_value":0.1}"#),
                       .adagrad(lrDecay: 0.01, initialAccumulatorValue: 0.1))
    }

    func testDecoding_BadKeys_FailWithKeyName() {
        XCTAssertThrowsError(try decode(#"{"lr":0.1}"#)) {
            XCTAssertEqual("\($0)", "optimizer.kind is missing; expected one of sgd, adam, adamw, rmsprop, adagrad")
        }
        XCTAssertThrowsError(try decode(#"{"kind":"adamax"}"#)) {
            XCTAssertEqual("\($0)", "optimizer.kind must be one of sgd, adam, adamw, rmsprop, adagrad, got 'adamax'")
        }
        XCTAssertThrowsError(try decode(#"{"kind":"sgd","beta1":0.9}"#)) {
            XCTAssertEqual("\($0)", "optimizer.beta1 is not a setting for kind 'sgd'; "
                               + "known keys: kind, lr, weight_decay, momentum, dampening, nesterov")
        }
        XCTAssertThrowsError(try decode(#"{"kind":"adagrad","lr_decy":0.1}"#)) {
            XCTAssertTrue("\($0)".hasPrefix("optimizer.lr_decy is not a setting for kind 'adagrad'"))
        }
        XCTAssertThrowsError(try decode(#"{"kind":"adam","beta1":"high"}"#)) { XCTAssertTrue($0 is DecodingError) }
    }

    func testEncoding_WritesEveryKeyAndRoundTrips() throws {
        let configs: [OptimizerConfig] = [.sgd(lr: 0.1, momentum: 0.9, dampening: 0.1), .adam(amsgrad: true),
                                          .adamw(lr: 3e-4), .rmsprop(centered: true), .adagrad(lrDecay: 1e-3)]
        for config in configs {
            let data = try JSONEncoder().encode(config)
            XCTAssertEqual(try JSONDecoder().decode(OptimizerConfig.self, from: data), config)
            let keys = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            XCTAssertEqual(Set(keys.keys), Set(config.kind.configKeys))
        }
    }

    func testValidate_OutOfRangeValues_NameKeyAndValue() {
        XCTAssertEqual(message(.adam(beta1: 1.5)), "optimizer.beta1 must be in [0, 1), got 1.5")
        XCTAssertEqual(message(.adamw(beta2: 1)), "optimizer.beta2 must be in [0, 1), got 1.0")
        XCTAssertEqual(message(.adam(lr: 0)), "optimizer.lr must be > 0, got 0.0")
        XCTAssertEqual(message(.sgd(lr: .nan)), "optimizer.lr must be > 0, got nan")
        XCTAssertEqual(message(.sgd(weightDecay: -0.1)), "optimizer.weight_decay must be >= 0, got -0.1")
        XCTAssertEqual(message(.sgd(momentum: -0.9)), "optimizer.momentum must be >= 0, got -0.9")
        XCTAssertEqual(message(.sgd(nesterov: true)), "optimizer.nesterov needs momentum > 0, got momentum 0.0")
        XCTAssertEqual(message(.sgd(momentum: 0.9, dampening: 0.1, nesterov: true)),
                       "optimizer.nesterov needs dampening 0, got dampening 0.1")
        XCTAssertEqual(message(.sgd(momentum: 0.9, dampening: 2)), "optimizer.dampening must be in [0, 1], got 2.0")
        XCTAssertEqual(message(.adam(eps: 0)), "optimizer.eps must be > 0, got 0.0")
        XCTAssertEqual(message(.rmsprop(alpha: 1)), "optimizer.alpha must be in [0, 1), got 1.0")
        XCTAssertEqual(message(.rmsprop(momentum: -1)), "optimizer.momentum must be >= 0, got -1.0")
        XCTAssertEqual(message(.adagrad(lrDecay: -1)), "optimizer.lr_decay must be >= 0, got -1.0")
        XCTAssertEqual(message(.adagrad(initialAccumulatorValue: -1)),
                       "optimizer.initial_accumulator_value must be >= 0, got -1.0")
        XCTAssertEqual(OptimError(key: "optimizer.eps", "must be > 0, got 0.0").localizedDescription,
                       "optimizer.eps must be > 0, got 0.0")
    }
}
