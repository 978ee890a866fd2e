// Learning-rate schedules against hand-computed values (warm-up boundaries included),
// their validation messages and their config decoding.

import Foundation
import XCTest
@testable import RecurOptim

final class LRScheduleTests: XCTestCase {
    private func rates(_ s: LRSchedule, base: Float, steps: [Int]) -> [Float] {
        steps.map { s.learningRate(baseLR: base, step: $0) }
    }

    func testConstant_ReturnsBaseAtEveryStep() {
        XCTAssertEqual(rates(.constant, base: 0.01, steps: [0, 1, 1000]), [0.01, 0.01, 0.01])
    }

    func testStep_DecaysByGammaEveryStepSize() {
        XCTAssertEqual(rates(.step(stepSize: 2, gamma: 0.5), base: 1, steps: [0, 1, 2, 3, 4, 5, 6]),
                       [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125])
    }

    func testExponential_IsGammaToTheStep() {
        XCTAssertEqual(rates(.exponential(gamma: 0.5), base: 2, steps: [0, 1, 3]), [2, 1, 0.25])
        XCTAssertEqual(LRSchedule.exponential(gamma: 0.9).learningRate(baseLR: 0.1, step: 10),
                       Float(0.1 * pow(0.9, 10.0)))
    }

    func testCosine_WarmupIsLinearFromLROverWarmup_ThenHalfCosineToMin() {
        let s = LRSchedule.cosine(warmupSteps: 4, totalSteps: 12, minLR: 0.1)
        // Warm-up: lr·(step+1)/4 at steps 0…3; step 4 starts the cosine at progress 0.
        XCTAssertEqual(rates(s, base: 1, steps: [0, 1, 2, 3, 4]), [0.25, 0.5, 0.75, 1, 1])
        // Progress (8 - 4)/(12 - 4) = 0.5: 0.1 + 0.9·(1 + cos(π/2))/2 = 0.55.
        XCTAssertEqual(s.learningRate(baseLR: 1, step: 8), 0.55, accuracy: 1e-7)
        // Progress 0.25: 0.1 + 0.9·(1 + √2/2)/2.
        let quarter: Double = 0.1 + 0.9 * (1 + 0.5.squareRoot()) / 2
        XCTAssertEqual(s.learningRate(baseLR: 1, step: 6), Float(quarter), accuracy: 1e-7)
        XCTAssertEqual(rates(s, base: 1, steps: [12, 13, 1000]), [0.1, 0.1, 0.1])
    }

    func testCosine_NoWarmup_StartsAtBaseLR() {
        let s = LRSchedule.cosine(warmupSteps: 0, totalSteps: 10, minLR: 0)
        XCTAssertEqual(s.learningRate(baseLR: 0.5, step: 0), 0.5)
        XCTAssertEqual(s.learningRate(baseLR: 0.5, step: 5), 0.25, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(baseLR: 0.5, step: 10), 0)
    }

    func testValidate_BadValues_NameTheKey() {
        func message(_ s: LRSchedule, baseLR: Double? = nil) -> String? {
            do { try s.validate(baseLR: baseLR); return nil } catch { return error.description }
        }
        XCTAssertNil(message(.constant))
        XCTAssertNil(message(.cosine(warmupSteps: 10, totalSteps: 10, minLR: 0)))
        XCTAssertEqual(message(.step(stepSize: 0, gamma: 0.5)), "schedule.step_size must be >= 1, got 0")
        XCTAssertEqual(message(.exponential(gamma: -1)), "schedule.gamma must be > 0, got -1.0")
        XCTAssertEqual(message(.cosine(warmupSteps: 5, totalSteps: 0, minLR: 0)),
                       "schedule.total_steps must be >= 1, got 0")
        XCTAssertEqual(message(.cosine(warmupSteps: 20, totalSteps: 10, minLR: 0)),
                       "schedule.warmup_steps must be in [0, total_steps = 10], got 20")
        XCTAssertEqual(message(.cosine(warmupSteps: 0, totalSteps: 10, minLR: 0.5), baseLR: 0.1),
                       "schedule.min_lr must not exceed the optimizer's lr 0.1, got 0.5")
    }
}
