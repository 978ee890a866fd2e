// Reduce-on-plateau against torch.optim.lr_scheduler.ReduceLROnPlateau: the rate after each of
// a fixed sequence of validation losses, for three settings (Tests/Reference/make_plateau_golden.py
// wrote the fixture), equal to the last bit; and the state survives its four-number round trip.

import Foundation
import XCTest
@testable import RecurOptim

final class PlateauScheduleTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            struct Settings: Decodable { let factor: Double, patience: Int, cooldown: Int, min_lr: Double, threshold: Double }
            let settings: Settings
            let lr: Double
            let rates: [Double]
        }
        let losses: [Double]
        let cases: [Case]
    }

    func testRates_MatchPyTorchsReduceLROnPlateau_Exactly() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("plateau_golden.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 3)
        for c in fixture.cases {
            let s = PlateauSettings(factor: c.settings.factor, patience: c.settings.patience, cooldown: c.settings.cooldown,
                                    minLR: c.settings.min_lr, threshold: c.settings.threshold)
            var state = PlateauState(learningRate: c.lr)
            var rates: [Double] = []
            for (i, loss) in fixture.losses.enumerated() {
                state.observe(loss, s)
                rates.append(state.learningRate)
                // Resuming from a checkpoint of any evaluation continues identically.
                state = try XCTUnwrap(PlateauState(values: state.values), "evaluation \(i)")
            }
            XCTAssertEqual(rates, c.rates, "\(c.settings)")
        }
    }
}
