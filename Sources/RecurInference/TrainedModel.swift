// A trained model found from what a user points at — a run directory (its best checkpoint,
// else its latest), a checkpoint directory, or a model.safetensors — with the experiment and
// the data manifest stored beside the parameters. Used by eval, sample and forecast.

import Foundation
import RecurExperiment
import RecurStore
import RecurData
import RecurModel
import RecurKernels

/// A trained model with what training stored beside it (the experiment, the vocabulary or the
/// normalisation), found from a run directory, a checkpoint directory or a model.safetensors.
/// Use it through `evaluate`, `predict`, `sample` and `forecast` (ModelUse.swift).
public struct TrainedModel {
    public let location: URL
    public let checkpoint: ModelCheckpoint
    public private(set) var experiment: ExperimentConfig
    public let manifest: DataManifest?
    public let network: RecurrentNetwork
    /// The content fingerprint of the data the checkpoint was trained on, when it recorded one.
    public private(set) var trainedOnFingerprint: UInt64?
    /// Whether the data path was given (`--data`) rather than stored, and must be checked.
    public private(set) var dataMoved = false

    /// - Parameter data: the training data file where it is now, when it moved (Note [Portable
    ///   runs]); checked against the checkpoint's fingerprint when the data is read.
    /// - Throws: `ConfigError` for a path that holds no model, `CheckpointError` for a damaged one.
    public static func locate(_ path: String, data: String? = nil) throws -> TrainedModel {
        var model = try locate(path)
        if let data {
            guard FileManager.default.fileExists(atPath: data) else {
                throw UsageError("--data \(data) does not exist; give the path of the model's training data where it is now")
            }
            model.experiment.data.path = URL(fileURLWithPath: data).standardizedFileURL.path
            model.dataMoved = true
        }
        return model
    }

    /// The training data file: a stored relative path is taken from the run directory.
    public var dataPath: String {
        let p = experiment.data.path
        if p.hasPrefix("/") { return p }
        if let run = runDirectory { return run.appendingPathComponent(p).standardizedFileURL.path }
        return p
    }

    /// The data set the model was trained on (its splits), read through what training stored.
    /// - Throws: the data's errors; `CheckpointError` when a moved file (`--data`) holds other data.
    public func trainingData() throws -> any WindowedDataset {
        let dataset = try experiment.loadDataset(configPath: runDirectory?.appendingPathComponent("config.yaml").path, stored: manifest)
        if dataMoved, let recorded = trainedOnFingerprint, recorded != dataset.fingerprint() {
            throw CheckpointError(.differentModel, path: dataPath, "holds other data than the model was trained on (its content fingerprint differs)",
                                  remedy: "Give --data the file the model was trained on.")
        }
        return dataset
    }

    static func locate(_ path: String) throws -> TrainedModel {
        let fm = FileManager.default
        var url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ConfigError(file: path, line: nil, key: "", message: "no such run directory, checkpoint or model file")
        }
        var chosenState: TrainingState?
        if isDir.boolValue && fm.fileExists(atPath: url.appendingPathComponent("checkpoints").path) {
            let run = url
            try RunIdentity.checkOwnCheckpoints(run)
            let dir = url.appendingPathComponent("checkpoints")
            guard let latest = try Checkpoint.latest(in: dir) else {
                throw ConfigError(file: path, line: nil, key: "", message: "holds no complete checkpoint yet")
            }
            url = latest
            chosenState = try? TrainingState.read(from: latest)
            if let best = chosenState?.metadata["best_checkpoint"], best != latest.lastPathComponent,
               fm.fileExists(atPath: dir.appendingPathComponent(best).path) {
                url = dir.appendingPathComponent(best)
                chosenState = try? TrainingState.read(from: url)
            }
            // The chosen checkpoint must be this run's own (Note [Run identity]).
            if let chosenState { try RunIdentity.check(url, state: chosenState, belongsTo: run, id: try RunIdentity.read(run)) }
        } else if isDir.boolValue {
            chosenState = try? TrainingState.read(from: url)
        }
        let model = try ModelCheckpoint.read(from: url)
        guard let yaml = model.metadata["experiment"] else {
            throw ConfigError(file: url.path, line: nil, key: "", message: "holds no experiment metadata (was it written by recur train?)")
        }
        let experiment = try ExperimentConfig.parse(yaml: yaml, file: url.path + " (stored experiment)")
        let manifest = model.metadata["data_manifest"].flatMap { try? JSONDecoder().decode(DataManifest.self, from: Data($0.utf8)) }
        var found = TrainedModel(location: url, checkpoint: model, experiment: experiment, manifest: manifest,
                                 network: try RecurrentNetwork(model.config))
        found.trainedOnFingerprint = chosenState?.words["data_fingerprint"]?.first
        return found
    }
}
