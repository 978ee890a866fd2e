// OptimizerConfig: PyTorch's defaults and validate()'s messages. Reading optimizers from an
// experiment file is the schema's (RecurTrainTests' ExperimentSchemaTests and ConfigErrorTests).

import Foundation
import XCTest
@testable import RecurOptim

final class OptimizerConfigTests: XCTestCase {
    private func message(_ config: OptimizerConfig) -> String? {
        do { try config.validate(); return nil } catch { return error.description }
    }

    func testDefaults_ForEachKind_ArePyTorchs() throws {
        XCTAssertEqual(OptimizerConfig.defaults(for: .sgd),
                       OptimizerConfig(algorithm: .sgd(momentum: 0, dampening: 0, nesterov: false), lr: 1e-3, weightDecay: 0))
        XCTAssertEqual(OptimizerConfig.defaults(for: .adam),
                       OptimizerConfig(algorithm: .adam(beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false),
                                       lr: 1e-3, weightDecay: 0))
        XCTAssertEqual(OptimizerConfig.defaults(for: .adamw),
                       OptimizerConfig(algorithm: .adamw(beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false),
                                       lr: 1e-3, weightDecay: 1e-2))
        XCTAssertEqual(OptimizerConfig.defaults(for: .rmsprop),
                       OptimizerConfig(algorithm: .rmsprop(alpha: 0.99, eps: 1e-8, momentum: 0, centered: false),
                                       lr: 1e-2, weightDecay: 0))
        XCTAssertEqual(OptimizerConfig.defaults(for: .adagrad),
                       OptimizerConfig(algorithm: .adagrad(lrDecay: 0, eps: 1e-10, initialAccumulatorValue: 0),
                                       lr: 1e-2, weightDecay: 0))
        for kind in OptimizerConfig.Kind.allCases {
            XCTAssertNoThrow(try OptimizerConfig.defaults(for: kind).validate())
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
