// PyTorch weights in: model.init_from takes a plain PyTorch state_dict saved with safetensors
// (no Recur metadata). From Tests/Reference/make_torch_init.py's weights, one SGD step on the
// same first batch lands on PyTorch's parameters; a state_dict of another model is refused with
// every difference listed.

import Foundation
import RecurTrain
import XCTest

final class TorchInitTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func setUpDir(_ name: String = #function, hidden: Int = 6, model: String = "", initFrom: String = "torch_init.safetensors") throws -> URL {
        let dir = try temporaryDirectory(name)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("torch_init_series.csv"), to: dir.appendingPathComponent("s.csv"))
        try """
        experiment: {name: torch-init}
        data: {kind: series, path: s.csv, columns: [value], seq_len: 5, target: last, normalize: none, shuffle: false,
               split: {train: 1, validation: 0, test: 0}}
        model: {cell: lstm, hidden_size: \(hidden)\(model), init_from: \(fixtures.appendingPathComponent(initFrom).path)}
        training: {steps: 1, batch_size: 8, optimizer: {kind: sgd, lr: 0.1}, clip: {norm: 0}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Trains one SGD step from `initFrom` and compares every parameter (in Recur's layout
    /// order, `names`) with PyTorch's after the same step, `after`.
    func assertOneSGDStepMatchesPyTorch(model: String = "", initFrom: String, after: String, names: [String],
                                        function: String = #function) throws {
        let dir = try setUpDir(function, model: model, initFrom: initFrom)
        let r = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1", "--parameters-out", "p.bin"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let ours = try Data(contentsOf: dir.appendingPathComponent("p.bin")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let theirs = try SafeTensorsFile.read(from: fixtures.appendingPathComponent(after))
        let expected = try names.flatMap { try XCTUnwrap(theirs[$0]?.floats, $0) }
        XCTAssertEqual(ours.count, expected.count)
        let before = try SafeTensorsFile.read(from: fixtures.appendingPathComponent(initFrom))
        let start = try names.flatMap { try XCTUnwrap(before[$0]?.floats) }
        XCTAssertGreaterThan(zip(start, expected).map { abs($0 - $1) }.max() ?? 0, 1e-3, "the step moves the parameters")
        let worst = zip(ours, expected).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-6, "largest difference from PyTorch after one SGD step")
    }

    func testPlainStateDict_OneSGDStep_MatchesPyTorch() throws {
        // Recur's layout order: rnn.weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, head.weight, head.bias.
        try assertOneSGDStepMatchesPyTorch(initFrom: "torch_init.safetensors", after: "torch_after_sgd.safetensors",
                                           names: ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                                                   "head.weight", "head.bias"])
    }

    /// A bidirectional 2-layer LSTM from PyTorch (nn.LSTM(bidirectional=True), head on
    /// h_n[-2] ‖ h_n[-1]): one SGD step lands on PyTorch's parameters too.
    func testPlainStateDict_Bidirectional_OneSGDStep_MatchesPyTorch() throws {
        // Recur's layout order: per layer, the forward direction's four tensors, then the reverse's.
        let names = (0..<2).flatMap { l in ["", "_reverse"].flatMap { d in
            ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map { "rnn.\($0)_l\(l)\(d)" } } } + ["head.weight", "head.bias"]
        try assertOneSGDStepMatchesPyTorch(model: ", layers: 2, bidirectional: true", initFrom: "torch_init_bi.safetensors",
                                           after: "torch_bi_after_sgd.safetensors", names: names)
    }

    func testStateDictOfAnotherModel_IsRefused_ListingEveryDifference() throws {
        let dir = try setUpDir(hidden: 8)
        let r = try runRecur(["train", "e.yaml", "--quiet"], in: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssert(r.stderr.contains("this state_dict does not fit the experiment's model"), r.stderr)
        for name in ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight"] {
            XCTAssert(r.stderr.contains("'\(name)' is ["), "\(name): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs").path))
    }
}
