// Trains a small LSTM forecaster on a sine wave written here, entirely through Recur's library
// API: ExperimentConfig(settings:) → TrainingSession (progress through onEvent) →
// TrainedModel.locate → evaluate, predict. Exits 1 when the model does not beat predicting the
// previous value, so launch/test checks that training from code really trains.

import Foundation
import RecurTrain

let work = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? NSTemporaryDirectory())
    .appendingPathComponent("train-from-code-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }
let csv = work.appendingPathComponent("sine.csv")
let rows = (0..<400).map { i in String(format: "%.6f", sin(Double(i) * 0.2) + 0.3 * sin(Double(i) * 0.05)) }
try (["t,value"] + rows.enumerated().map { "\($0.offset),\($0.element)" }).joined(separator: "\n").write(to: csv, atomically: true, encoding: .utf8)

let experiment = try ExperimentConfig(settings: [
    ("data.kind", "series"), ("data.path", csv.path), ("data.columns", "[value]"), ("data.seq_len", "16"),
    ("model.cell", "lstm"), ("model.hidden_size", "16"),
    ("training.steps", "150"), ("training.batch_size", "16"), ("training.optimizer.lr", "0.01"),
    ("training.eval_every", "50"), ("output.dir", work.appendingPathComponent("run").path),
], name: "sine-from-code")

let session = try TrainingSession(experiment: experiment, threads: 1)
var logged = 0
session.onEvent = { event in
    switch event.kind {
    case .train: logged += 1
    case .validation: print(String(format: "step %d: validation loss %.4f", event.step, event.loss ?? .nan))
    default: break
    }
}
try session.start()

let model = try TrainedModel.locate(session.runDirectory.path)
let report = try model.evaluate(.test, threads: 1)
let predictions = try model.predict(input: csv.path)
let rmse = report.rmse?["value"] ?? .nan
// The persistence baseline: predict each value by the previous one, on the same test rows.
let values = rows.compactMap(Double.init)
let testStart = Int(Double(values.count) * 0.9)
let persistence = (zip(values[testStart...].dropFirst(), values[testStart...]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                   / Double(values.count - testStart - 1)).squareRoot()
print(String(format: "trained from code: %d progress events, test RMSE %.4f (previous value: %.4f), %d prediction rows",
             logged, rmse, persistence, predictions.rows.count))
if !(rmse < persistence) || logged == 0 || predictions.rows.isEmpty { exit(1) }
