// Optimizer state for checkpoints: state names and initial values as PyTorch creates them, and
// save → new optimizer → restore → continue, bitwise equal to an uninterrupted run.

import XCTest
import RecurKernels
@testable import RecurOptim

final class OptimizerStateTests: XCTestCase {
    private let everyConfig: [OptimizerConfig] = [
        .sgd(lr: 0.1), .sgd(lr: 0.1, momentum: 0.9, weightDecay: 0.01), .sgd(lr: 0.1, momentum: 0.9, nesterov: true),
        .adam(lr: 0.01, weightDecay: 0.1), .adam(lr: 0.01, amsgrad: true), .adamw(lr: 0.01),
        .rmsprop(momentum: 0.9, centered: true), .rmsprop(), .adagrad(lrDecay: 0.01, initialAccumulatorValue: 0.1),
    ]

    /// Deterministic gradients for update `k`, different at every step.
    private func gradients(step k: Int, count: Int) -> FloatBuffer {
        FloatBuffer((0..<count).map { i in sin(Float(i * 7 + k * 13)) * (1 + Float(k % 3)) })
    }

    func testStateNames_FollowPyTorch() {
        XCTAssertEqual(Optimizer.stateNames(for: .sgd()), [])
        XCTAssertEqual(Optimizer.stateNames(for: .sgd(momentum: 0.9)), ["momentum_buffer"])
        XCTAssertEqual(Optimizer.stateNames(for: .adam()), ["exp_avg", "exp_avg_sq"])
        XCTAssertEqual(Optimizer.stateNames(for: .adamw(amsgrad: true)), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
        XCTAssertEqual(Optimizer.stateNames(for: .rmsprop(momentum: 0.5, centered: true)),
                       ["square_avg", "momentum_buffer", "grad_avg"])
        XCTAssertEqual(Optimizer.stateNames(for: .adagrad()), ["sum"])
    }

    func testAdagrad_SumStartsAtInitialAccumulatorValue() {
        let optimizer = Optimizer(config: .adagrad(initialAccumulatorValue: 0.25), parameterCount: 3)
        XCTAssertEqual(optimizer.stateTensors.first?.buffer.array, [0.25, 0.25, 0.25])
    }

    func testSaveRestoreMidRun_ContinuesBitwiseIdentical() throws {
        let n = 29
        for config in everyConfig {
            let initial = (0..<n).map { Float($0) * 0.05 - 0.6 }
            let straight = FloatBuffer(initial), resumed = FloatBuffer(initial)
            let a = Optimizer(config: config, parameterCount: n)
            for k in 0..<5 { a.step(parameters: straight, gradients: gradients(step: k, count: n), learningRate: 0.01) }

            let b = Optimizer(config: config, parameterCount: n)
            for k in 0..<2 { b.step(parameters: resumed, gradients: gradients(step: k, count: n), learningRate: 0.01) }
            let saved = Dictionary(uniqueKeysWithValues: b.stateTensors.map { ($0.name, $0.buffer.array) })
            let savedParameters = resumed.array

            let c = Optimizer(config: config, parameterCount: n)
            try c.restoreState(stepCount: b.stepCount, tensors: saved)
            let restored = FloatBuffer(savedParameters)
            for k in 2..<5 { c.step(parameters: restored, gradients: gradients(step: k, count: n), learningRate: 0.01) }

            XCTAssertEqual(c.stepCount, 5)
            XCTAssertEqual(restored.array.map(\.bitPattern), straight.array.map(\.bitPattern), "\(config.kind)")
            for (x, y) in zip(a.stateTensors, c.stateTensors) {
                XCTAssertEqual(x.name, y.name)
                XCTAssertEqual(x.buffer.array.map(\.bitPattern), y.buffer.array.map(\.bitPattern), "\(config.kind) \(x.name)")
            }
        }
    }

    func testRestore_WrongTensorNamesOrLengths_FailAndLeaveStateUnchanged() {
        let optimizer = Optimizer(config: .adam(), parameterCount: 4)
        let ok = [Float](repeating: 1, count: 4)
        XCTAssertThrowsError(try optimizer.restoreState(stepCount: 3, tensors: ["exp_avg": ok])) {
            XCTAssertEqual("\($0)", "optimizer state lacks the tensor 'exp_avg_sq' that adam needs")
        }
        XCTAssertThrowsError(try optimizer.restoreState(stepCount: 3, tensors: ["exp_avg": ok, "exp_avg_sq": ok,
                                                                               "momentum_buffer": ok])) {
            XCTAssertEqual("\($0)", "optimizer state has a tensor 'momentum_buffer' that adam does not use "
                               + "(expected: exp_avg, exp_avg_sq)")
        }
        XCTAssertThrowsError(try optimizer.restoreState(stepCount: 3, tensors: ["exp_avg": ok, "exp_avg_sq": [1]])) {
            XCTAssertEqual("\($0)", "optimizer state tensor 'exp_avg_sq' has 1 values, expected 4")
        }
        XCTAssertEqual(optimizer.stepCount, 0)
        XCTAssertEqual(optimizer.stateTensors[0].buffer.array, [0, 0, 0, 0])
    }

    func testStep_CountsUpdatesAndSGDFirstStepSeedsMomentumWithGradient() {
        let optimizer = Optimizer(config: .sgd(lr: 0.5, momentum: 0.9, dampening: 0.5), parameterCount: 2)
        let p = FloatBuffer([1, 2]), g = FloatBuffer([0.5, -1])
        optimizer.step(parameters: p, gradients: g, learningRate: 0.5)
        XCTAssertEqual(optimizer.stepCount, 1)
        XCTAssertEqual(optimizer.stateTensors[0].buffer.array, [0.5, -1])  // no dampening on the first step
        XCTAssertEqual(p.array, [0.75, 2.5])
        optimizer.step(parameters: p, gradients: g, learningRate: 0.5)
        XCTAssertEqual(optimizer.stateTensors[0].buffer.array, [0.9 * 0.5 + 0.25, -0.9 - 0.5])
    }
}
