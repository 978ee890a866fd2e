// Note [Run progress]: the run loop's counters are one record, saved whole in every checkpoint
// and restored in one call, so none restarts on resume; and Note [Best means evaluated].

import Foundation
import XCTest
@testable import RecurTrain
@testable import RecurStore

final class RunProgressTests: XCTestCase {
    func testRecord_EveryField_SurvivesACheckpointFile() throws {
        var p = RunProgress()
        p.step = 1234; p.lastCheckpointStep = 1200; p.skippedSteps = 7; p.consecutiveSkips = 3
        p.plateau = PlateauState(values: [0.001, .infinity, 2, 1])
        p.earlyStopping = .init(best: 0.25, step: 1000, since: 2)
        p.stoppedEarly = "validation_loss did not improve"
        p.lastValidationLoss = 0.3; p.bestValidationLoss = ScoredStep(value: 0.1 + 0.2, step: 900)
        p.best = ScoredStep(value: -0.875, step: 900)
        var state = TrainingState()
        p.save(into: &state)
        let url = try temporaryDirectory().appendingPathComponent(TrainingState.fileName)
        try state.write(to: url)
        let back = try RunProgress(from: try TrainingState.read(from: url), path: url.path)
        XCTAssertEqual(back, p)
        XCTAssertEqual(back.bestValidationLoss?.value.bitPattern, (0.1 + 0.2).bitPattern, "doubles round-trip exactly")
        XCTAssertEqual(back.bestCheckpointName, "step-000900")
    }

    func testCheckpointOfAnEarlierRecur_ReadsItsCommaJoinedState() throws {
        let state = TrainingState(counters: ["step": 40],
                                  metadata: ["plateau_state": "0.01,0.5,1,0", "early_stopping_state": "0.5,30,1",
                                             "best_evaluation": "0.5,30", "best_checkpoint": "step-000030", "best_loss": "0.5",
                                             "validation_loss": "0.6"])
        let p = try RunProgress(from: state, path: "x")
        XCTAssertEqual(p.step, 40)
        XCTAssertEqual(p.plateau, PlateauState(values: [0.01, 0.5, 1, 0]))
        XCTAssertEqual(p.earlyStopping, .init(best: 0.5, step: 30, since: 1))
        XCTAssertEqual(p.bestValidationLoss, ScoredStep(value: 0.5, step: 30))
        XCTAssertEqual(p.best, ScoredStep(value: 0.5, step: 30))
        XCTAssertEqual(p.lastValidationLoss, 0.6)
    }

    func testDamagedRecord_IsRefusedNamingTheFile() {
        let state = TrainingState(metadata: [RunProgress.metadataKey: "{\"step\": \"x\"}"])
        XCTAssertThrowsError(try RunProgress(from: state, path: "runs/r/checkpoints/step-000010")) { error in
            XCTAssert("\(error)".contains("runs/r/checkpoints/step-000010") && "\(error)".contains("run_progress"), "\(error)")
        }
    }

    /// Every step of this run is non-finite (a value near Float's limit overflows the squared
    /// error), so each is skipped. Stopped after 3 and resumed, the 4th skip in a row must reach
    /// max_consecutive_skips: 4; before the record, the count restarted at 0 on resume and the run
    /// went on to step 7.
    func testConsecutiveSkips_CountOnAcrossResume() throws {
        let dir = try temporaryDirectory()
        let rows = ["value"] + (0..<40).map { $0 == 20 ? "3e38" : String(Double($0 % 7)) }
        try (rows.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: skip}
        data: {kind: series, path: s.csv, seq_len: 4, normalize: none, shuffle: false, split: {train: 1, validation: 0, test: 0}}
        model: {cell: rnn, hidden_size: 4}
        training: {steps: 3, batch_size: 64, optimizer: {kind: sgd, lr: 0.01}, on_nonfinite: skip, max_consecutive_skips: 4, checkpoint_every: 1}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let first = try runRecur(["train", "e.yaml", "--quiet"], in: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let latest = try XCTUnwrap(try Checkpoint.latest(in: dir.appendingPathComponent("runs/skip/checkpoints")))
        let saved = try RunProgress(from: try TrainingState.read(from: latest), path: latest.path)
        XCTAssertEqual(saved.step, 3)
        XCTAssertEqual(saved.skippedSteps, 3, "every step of the first run is skipped")
        XCTAssertEqual(saved.consecutiveSkips, 3)
        let resumed = try runRecur(["train", "--resume", "runs/skip", "--set", "training.steps=10", "--quiet"], in: dir)
        XCTAssertEqual(resumed.status, 1, resumed.stderr)
        XCTAssert(resumed.stderr.contains("steps 1–4: 4 steps in a row"), resumed.stderr)
    }
}
