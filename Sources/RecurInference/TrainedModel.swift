// A trained model found from what a user points at — a run directory (its best checkpoint,
// else its latest), a checkpoint directory, or a model.safetensors — with the experiment and
// the data manifest stored beside the parameters. Used by eval, sample and forecast.

import Foundation
import RecurExperiment
import RecurStore
import RecurData
import RecurModel

/// A trained model with what training stored beside it (the experiment, the vocabulary or the
/// normalisation), found from a run directory, a checkpoint directory or a model.safetensors.
/// Use it through `evaluate`, `predict`, `sample` and `forecast` (ModelUse.swift).
public struct TrainedModel {
    public let location: URL
    public let checkpoint: ModelCheckpoint
    public let experiment: ExperimentConfig
    public let manifest: DataManifest?
    public let network: RecurrentNetwork

    /// - Throws: `ConfigError` for a path that holds no model, `CheckpointError` for a damaged one.
    public static func locate(_ path: String) throws -> TrainedModel {
        let fm = FileManager.default
        var url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ConfigError(file: path, line: nil, key: "", message: "no such run directory, checkpoint or model file")
        }
        if isDir.boolValue && fm.fileExists(atPath: url.appendingPathComponent("checkpoints").path) {
            let run = url
            try RunIdentity.checkOwnCheckpoints(run)
            let dir = url.appendingPathComponent("checkpoints")
            guard let latest = try Checkpoint.latest(in: dir) else {
                throw ConfigError(file: path, line: nil, key: "", message: "holds no complete checkpoint yet")
            }
            url = latest
            let state = try? TrainingState.read(from: latest.appendingPathComponent(TrainingState.fileName))
            if let best = state?.metadata["best_checkpoint"], fm.fileExists(atPath: dir.appendingPathComponent(best).path) {
                url = dir.appendingPathComponent(best)
            }
            // The chosen checkpoint must be this run's own (Note [Run identity]).
            if let chosen = try? TrainingState.read(from: url) {
                try RunIdentity.check(url, state: chosen, belongsTo: run, id: try RunIdentity.read(run))
            }
        }
        let model = try ModelCheckpoint.read(from: url)
        guard let yaml = model.metadata["experiment"] else {
            throw ConfigError(file: url.path, line: nil, key: "", message: "holds no experiment metadata (was it written by recur train?)")
        }
        let experiment = try ExperimentConfig.parse(yaml: yaml, file: url.path + " (stored experiment)")
        let manifest = model.metadata["data_manifest"].flatMap { try? JSONDecoder().decode(DataManifest.self, from: Data($0.utf8)) }
        return TrainedModel(location: url, checkpoint: model, experiment: experiment, manifest: manifest,
                            network: try RecurrentNetwork(model.config))
    }
}
