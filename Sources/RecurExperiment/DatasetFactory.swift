// Turns a config's data section into a windowed data set: resolves the path, reads the file
// once, and applies windows and splits. Which windows each replica gets is the Trainer's job.

import Foundation
import RecurData

extension ExperimentConfig {
    /// The data file's path: relative paths are taken from the experiment file's directory
    /// (so a config works from any working directory), then from the current directory.
    public func resolvedDataPath(configPath: String?) -> String {
        Self.resolved(data.path, configPath: configPath)
    }

    /// `p` resolved as a data path: a relative one from the experiment file's directory when
    /// the file is there, else as it is (from the current directory).
    static func resolved(_ p: String, configPath: String?) -> String {
        if p.hasPrefix("/") { return p }
        if let configPath {
            let dir = (configPath as NSString).deletingLastPathComponent
            let alt = ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent(p)
            if FileManager.default.fileExists(atPath: alt) { return alt }
        }
        return p
    }

    /// The experiment with every data file's path (data.path and the given splits' files)
    /// changed by `change`.
    public func mappingDataPaths(_ change: (String) throws -> String) rethrows -> ExperimentConfig {
        var c = self
        c.data.path = try change(data.path)
        c.data.validationPath = try data.validationPath.map(change)
        c.data.testPath = try data.testPath.map(change)
        return c
    }

    /// The experiment with every data file's path resolved (checked to exist) and absolute, as
    /// a new run stores them so it can be resumed from anywhere.
    /// - Throws: `ConfigError` at the key's line for a file that is not there.
    public func resolvingDataFiles(configPath: String?) throws -> ExperimentConfig {
        let given = try requireGivenFiles(configPath: configPath)
        var c = self
        c.data.path = try Self.absolute(requireDataFile(configPath: configPath))
        c.data.validationPath = given.first { $0.split == .validation }.map { Self.absolute($0.path) }
        c.data.testPath = given.first { $0.split == .test }.map { Self.absolute($0.path) }
        return c
    }

    private static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// The given splits' files, resolved (Note [Given splits]).
    /// - Throws: `ConfigError` at the key's line for a file that is not there.
    private func requireGivenFiles(configPath: String?) throws -> [(split: DataSplit, path: String)] {
        try data.givenFiles.map { ($0.split, try requireFile($0.path, key: $0.key, configPath: configPath)) }
    }

    // Note [Portable runs]
    // A run directory stores its data path relative to itself when the two share more than the
    // root (runs/x and data/s.csv under one project: "../../data/s.csv"), in config.yaml and in
    // the experiment every checkpoint carries; so a project moved or shared with its data still
    // evaluates and resumes, and no machine's absolute path is written into model.safetensors.
    // A stored relative path is taken from the run directory (its config.yaml's directory). A
    // data file that moved on its own is named with --data (eval, forecast, resume), and accepted
    // when its content fingerprint is the one the checkpoint recorded.

    /// This experiment as a run directory stores it: the data path relative to `runDirectory`
    /// when they share more than the root (Note [Portable runs]).
    public func storedForRun(at runDirectory: URL) -> ExperimentConfig {
        mappingDataPaths { Self.relativePath(of: $0, from: runDirectory) }
    }

    /// `path` (absolute) from `directory`, or `path` itself when they share only the root.
    static func relativePath(of path: String, from directory: URL) -> String {
        guard path.hasPrefix("/") else { return path }
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let base = directory.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        let resolvedTarget = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().pathComponents
        let t = resolvedTarget.count > 1 ? resolvedTarget : target
        var common = 0
        while common < min(t.count, base.count) && t[common] == base[common] { common += 1 }
        guard common > 1 else { return path }   // only "/" in common
        return (Array(repeating: "..", count: base.count - common) + t[common...]).joined(separator: "/")
    }

    /// Reads the data set this experiment trains on.
    /// - Parameter stored: what a checkpoint stored with the model (vocabulary, normalisation),
    ///   used instead of fitting them again so a resumed or evaluated model sees the same ids and units.
    /// - Throws: `DataError` naming file, line and column where there is one.
    public func loadDataset(configPath: String?, stored: DataManifest? = nil) throws -> any WindowedDataset {
        try readDataset(path: requireDataFile(configPath: configPath), given: requireGivenFiles(configPath: configPath),
                        stored: stored, newData: false)
    }

    /// The data file's resolved path.
    /// - Throws: `ConfigError` at data.path's file and line, saying the resolution rule it
    ///   followed, when no file is there.
    public func requireDataFile(configPath: String?) throws -> String {
        try requireFile(data.path, key: "data.path", configPath: configPath)
    }

    /// The resolved path of `p`, the data file that `key` names.
    /// - Throws: `ConfigError` at the key's file and line, saying the resolution rule it
    ///   followed, when no file is there.
    func requireFile(_ p: String, key: String, configPath: String?) throws -> String {
        let path = Self.resolved(p, configPath: configPath)
        if !FileManager.default.fileExists(atPath: path) {
            // Say the rule that was followed, not only the path that failed.
            let cwd = FileManager.default.currentDirectoryPath
            var rule = "an absolute path is taken as it is"
            if !p.hasPrefix("/") {
                let dir = configPath.map { (($0 as NSString).deletingLastPathComponent as NSString).isEqual(to: "") ? "." : ($0 as NSString).deletingLastPathComponent }
                rule = dir.map { "a relative \(key) is taken from the experiment file's directory (\($0)) first, then from the working directory (\(cwd)); neither holds it" }
                    ?? "a relative \(key) is taken from the working directory (\(cwd))"
            }
            let movedHint = configPath.map { ($0 as NSString).lastPathComponent == "config.yaml" } == true
                ? (key == "data.path" ? "; if the run's data moved, name it with --data PATH" : "; if it moved, put it back where \(key) says or edit the run's config.yaml")
                : "; fix \(key)"
            let given = origins[key]
            throw ConfigError(file: given?.file ?? configPath ?? "experiment", line: given?.line, key: key,
                              message: "'\(p)' does not exist: \(rule)\(movedHint)")
        }
        return path
    }

    /// New data for `recur predict`: `path` read as this experiment's data kind, through what the
    /// model stored (vocabulary, normalisation, columns, shapes), every window in the train split
    /// and in file order. Labelled sequences may omit their labels.
    /// - Throws: `DataError` as for training data, and when the file yields no window.
    public func loadPredictionDataset(path: String, stored: DataManifest?) throws -> any WindowedDataset {
        let dataset = try readDataset(path: path, stored: stored, newData: true)
        guard dataset.windowCount(.train) > 0 else {
            throw DataError(.emptyFile, file: path, problem: "holds no complete window of \(data.seqLen) steps",
                            fix: "give at least seq_len (\(data.seqLen)) steps and the targets after them")
        }
        return dataset
    }

    /// How this experiment reads a series table: its columns (`features`, `targets`: nil for
    /// the data section's), series and time columns, normalisation, missing values, header.
    public func seriesOptions(features: [String]?, targets: [String]?, splits: SplitFractions) -> SeriesOptions {
        let K = ExperimentSchema.keys
        var o = SeriesOptions(features: features, targets: targets, normalization: data.normalize, missing: data.missing,
                              splits: splits, header: data.header.mode)
        o.seriesColumn = self[optional: K.seriesColumn]
        o.timeColumn = self[optional: K.timeColumn]
        o.normalizePer = self[optional: K.normalizePer] ?? .all
        return o
    }

    /// The one place a data section becomes a data set. `newData`: the whole file in the train
    /// split, in file order, shaped by what the model stored, labels optional. `given`: the
    /// splits that come as files of their own (Note [Given splits]), read after `path` with
    /// what it fitted and appended as those splits.
    private func readDataset(path: String, given: [(split: DataSplit, path: String)] = [], stored: DataManifest?,
                             newData: Bool) throws -> any WindowedDataset {
        let d = data
        let whole = SplitFractions(train: 1, validation: 0, test: 0)
        let splits = newData ? whole : d.split.forTrainingFile(given: Set(given.map(\.split)))
        let windowing = Windowing(seqLen: d.seqLen, stride: d.stride, target: d.target, horizon: d.horizon,
                                  streams: d.stateful ? training.batchSize : nil)
        let dataset: any WindowedDataset
        switch d.kind {
        case .series:
            var series = try TimeSeries.load(path: path, options: seriesOptions(
                features: newData ? stored?.featureColumns ?? d.columns : d.columns,
                targets: newData ? stored?.targetColumns ?? d.targets : d.targets, splits: splits),
                normalization: stored?.normalization, seriesNormalization: stored?.seriesNormalization)
            for (split, file) in given {
                let part = try TimeSeries.load(path: file, options: seriesOptions(
                    features: series.featureIndices.map { series.columns[$0] }, targets: series.targetIndices.map { series.columns[$0] },
                    splits: whole), normalization: series.normalization, seriesNormalization: series.seriesNormalization)
                series = series.appending(part, as: split)
            }
            dataset = try SeriesDataset(series: series, windowing: windowing)
        case .chars, .words:
            func options(_ splits: SplitFractions) -> TextOptions {
                TextOptions(level: d.kind == .chars ? .chars : .words, splits: splits, unknownToken: d.unknownToken,
                            minCount: d.minCount, maxSize: d.maxSize, tokenizer: WordTokenizer(lowercase: d.lowercase))
            }
            var corpus = try TextCorpus.load(path: path, options: options(splits), vocabulary: stored?.vocabulary)
            for (split, file) in given {
                var part = options(whole)
                part.vocabularyFromTrainingFile = stored == nil
                corpus = corpus.appending(try TextCorpus.load(path: file, options: part, vocabulary: corpus.vocabulary), as: split)
            }
            dataset = try TokenDataset(corpus: corpus, windowing: windowing)
        case .sequences:
            // Examples are independent, so training data is shuffled (by its own seed) before the split.
            var options = LabelledOptions(steps: d.seqLen, features: d.features, header: d.header.mode, normalization: d.normalize,
                                          missing: d.missing, splits: splits, splitSeed: newData ? nil : d.splitSeed)
            options.classNames = stored?.classNames ?? d.classes
            options.variableLength = d.variableLength
            options.lengthColumn = d.lengthColumn
            options.labelColumn = d.labelColumn
            options.sequenceColumn = d.sequenceColumn
            if newData {
                options.steps = stored?.steps ?? d.seqLen
                options.features = stored?.featureColumns.count
                options.classCount = stored?.classCount
                options.labelsOptional = options.features != nil && options.classCount != nil
            }
            var examples = try LabelledSequences.load(path: path, options: options, normalization: stored?.normalization)
            for (split, file) in given {
                // The training file's classes and shapes; file order, every example in the split.
                var part = options
                part.splits = whole
                part.splitSeed = nil
                part.classNames = examples.classNames
                part.classCount = examples.classCount
                part.features = examples.featuresPerStep
                part.classesFromTraining = true
                examples = examples.appending(try LabelledSequences.load(path: file, options: part, normalization: examples.normalization), as: split)
            }
            dataset = examples
        }
        for (split, file) in given where dataset.windowCount(split) == 0 {
            throw DataError(.tooShort, file: file, problem: "holds no complete window of \(d.seqLen) steps\(d.kind == .series ? " and the \(d.horizon) after them" : "") for the \(split.name) split",
                            fix: "give the \(split.name) file at least seq_len\(d.kind == .series ? " + horizon" : "") steps, or lower data.seq_len")
        }
        return dataset
    }
}
