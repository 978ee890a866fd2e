// Checkpoints on disk: `model.safetensors` (parameters under PyTorch's names, loadable with
// tools/torch_model.py) and `training-state.safetensors` (optimizer moments, counters, 64-bit words,
// carried hidden states), saved together as one directory that appears atomically. It does not
// decide when to save or what the counters mean; the trainer does.

import Foundation
import RecurModel
import RecurOptim
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Model file

/// The parameters of one model with its config, as stored in `model.safetensors`.
///
/// Every layout tensor is stored as F32 under its PyTorch name and shape; the header metadata
/// holds `format` = `recur-checkpoint`, `format_version` = `1`, `model_config` (the
/// `ModelConfig` as JSON, its Codable key names) and whatever extra strings the caller adds
/// (vocabulary, normalisation …).
public struct ModelCheckpoint: Equatable, Sendable {
    public static let fileName = "model.safetensors"
    public static let format = "recur-checkpoint"
    public static let formatVersion = "1"
    /// Metadata keys the checkpoint itself writes; `metadata` may not use them.
    public static let reservedMetadataKeys: Set<String> = ["format", "format_version", "model_config"]

    public var config: ModelConfig
    public var layout: ParameterLayout
    /// The flat parameter buffer, `layout.totalCount` long.
    public var parameters: [Float]
    /// Extra header metadata (not the reserved keys).
    public var metadata: [String: String]

    /// - Precondition: `parameters.count == layout.totalCount`, and `metadata` uses no reserved key.
    public init(config: ModelConfig, layout: ParameterLayout, parameters: [Float], metadata: [String: String] = [:]) {
        precondition(parameters.count == layout.totalCount,
                     "ModelCheckpoint: \(parameters.count) parameters for a layout of \(layout.totalCount)")
        for key in metadata.keys {
            precondition(!Self.reservedMetadataKeys.contains(key), "ModelCheckpoint: metadata key '\(key)' is reserved")
        }
        self.config = config
        self.layout = layout
        self.parameters = parameters
        self.metadata = metadata
    }

    /// The safetensors contents: one F32 tensor per layout entry, in layout order.
    public var safeTensors: SafeTensorsFile {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let configJSON = String(decoding: try! encoder.encode(config), as: UTF8.self)
        var meta = metadata
        meta["format"] = Self.format
        meta["format_version"] = Self.formatVersion
        meta["model_config"] = configJSON
        let tensors = layout.entries.map {
            SafeTensor(name: $0.name, shape: $0.shape, floats: Array(parameters[$0.range]))
        }
        return SafeTensorsFile(tensors: tensors, metadata: meta)
    }

    /// Writes `model.safetensors` alone, atomically (for exports and `init_from` files; a
    /// training checkpoint is written whole with `Checkpoint.write(to:)`).
    /// - Parameter url: the file to write.
    /// - Throws: `FileError`.
    public func write(to url: URL) throws {
        try safeTensors.write(to: url)
    }

    /// Reads a model from a `model.safetensors` file or from a checkpoint directory (which must
    /// hold both checkpoint files).
    /// - Parameters:
    ///   - url: a model.safetensors file or a checkpoint directory.
    ///   - layout: the layout of the model the caller will load into; when given, a checkpoint
    ///     whose tensor names or shapes differ is refused, naming the first difference.
    /// - Throws: `CheckpointError`: a missing or malformed file (`SafeTensorsFile.parse`), a file
    ///   Recur did not write (`.badContent`), or a different model (`.differentModel`).
    public static func read(from url: URL, expecting layout: ParameterLayout? = nil) throws -> ModelCheckpoint {
        var file = url
        if isDirectory(url) {
            try Checkpoint.requireComplete(url)
            file = url.appendingPathComponent(fileName)
        }
        return try ModelCheckpoint(safeTensors: SafeTensorsFile.read(from: file), path: file.path, expecting: layout)
    }

    /// The parameters to start a run from (`model.init_from`): a Recur model.safetensors or
    /// checkpoint, or a plain PyTorch state_dict saved with safetensors (no Recur metadata) whose
    /// names and shapes are those of `layout` (PyTorch's state_dict names: `embedding.weight`,
    /// `rnn.weight_ih_l0`, …, `head.weight`, `head.bias`).
    /// - Throws: `CheckpointError` listing every missing, unexpected or misshapen tensor.
    public static func initialParameters(from url: URL, expecting layout: ParameterLayout) throws -> [Float] {
        var file = url
        if isDirectory(url) { file = url.appendingPathComponent(fileName) }
        let contents = try SafeTensorsFile.read(from: file)
        if contents.metadata["format"] != nil {
            return try ModelCheckpoint(safeTensors: contents, path: file.path, expecting: layout).parameters
        }
        var problems: [String] = []
        var parameters = [Float](repeating: 0, count: layout.totalCount)
        for entry in layout.entries {
            guard let t = contents[entry.name] else { problems.append("'\(entry.name)' \(entry.shape) is missing"); continue }
            guard t.shape == entry.shape else { problems.append("'\(entry.name)' is \(t.shape), the model needs \(entry.shape)"); continue }
            guard let values = t.floats else { problems.append("'\(entry.name)' is \(t.dtype.rawValue), not F32 (save float32 weights)"); continue }
            try requireFinite(values, tensor: entry.name, path: file.path)
            parameters.replaceSubrange(entry.range, with: values)
        }
        for t in contents.tensors where layout[t.name] == nil { problems.append("'\(t.name)' is not part of this model") }
        guard problems.isEmpty else {
            throw CheckpointError(.differentModel, path: file.path,
                                  "this state_dict does not fit the experiment's model: " + problems.joined(separator: "; "),
                                  remedy: "Give the experiment the model the weights were saved from (cell, hidden_size, layers, bidirectional, embedding_size, and the data's vocabulary or columns), and name the PyTorch modules embedding, rnn and head.")
        }
        return parameters
    }

    /// Interprets parsed safetensors contents as a model checkpoint.
    /// - Parameters:
    ///   - file: the parsed file.
    ///   - path: where it came from, for messages.
    ///   - expected: see `read(from:expecting:)`.
    public init(safeTensors file: SafeTensorsFile, path: String, expecting expected: ParameterLayout? = nil) throws {
        try checkFormat(file.metadata, format: Self.format, version: Self.formatVersion, path: path)
        guard let configJSON = file.metadata["model_config"] else {
            throw CheckpointError(.badContent, path: path, "the header metadata has no 'model_config'")
        }
        let config: ModelConfig
        let network: RecurrentNetwork
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: Data(configJSON.utf8))
            network = try RecurrentNetwork(config)
        } catch {
            throw CheckpointError(.badContent, path: path, "the 'model_config' metadata is not a valid model config (\(error))")
        }
        let stored = file.tensors.map { (name: $0.name, shape: $0.shape) }
        if let expected {
            if let difference = firstDifference(expected: expected, found: stored) {
                throw CheckpointError(.differentModel, path: path, "this checkpoint holds a different model: \(difference)")
            }
        }
        if let difference = firstDifference(expected: network.layout, found: stored) {
            throw CheckpointError(.badContent, path: path,
                                  "the tensors do not match the file's own model_config: \(difference)")
        }
        var parameters = [Float](repeating: 0, count: network.layout.totalCount)
        for entry in network.layout.entries {
            let tensor = file[entry.name]!
            guard let values = tensor.floats else {
                throw CheckpointError(.badContent, path: path, "tensor '\(entry.name)' is \(tensor.dtype.rawValue), not F32")
            }
            try requireFinite(values, tensor: entry.name, path: path)
            parameters.replaceSubrange(entry.range, with: values)
        }
        self.init(config: config, layout: network.layout, parameters: parameters,
                  metadata: file.metadata.filter { !Self.reservedMetadataKeys.contains($0.key) })
    }
}

// MARK: - Training state file

/// A float tensor kept in the training state (a carried hidden state, say).
public struct StoredTensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    /// - Precondition: `values.count` is the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "StoredTensor: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

/// Everything besides the parameters that an exact resume needs, as stored in
/// `training-state.safetensors`.
///
/// File names by kind: optimizer slots are F32 `optimizer.<slot>`; `tensors` are F32 under their
/// own names; `counters` are I64 scalars; `words` are U64 vectors. All names are unique across
/// the kinds. An I64 vector, which no Recur state is, is skipped on reading, so a file holding
/// one still loads.
public struct TrainingState: Equatable, Sendable {
    public static let fileName = "training-state.safetensors"
    public static let format = "recur-training-state"
    public static let formatVersion = "1"
    static let optimizerPrefix = "optimizer."
    /// The counter that holds the optimizer's `stepCount` (see `capture(_:)`).
    public static let optimizerStepCounter = "optimizer.step"

    /// Optimizer state by PyTorch slot name (`exp_avg` …), each as long as the parameters.
    public var optimizer: [String: [Float]]
    /// Other float tensors: carried hidden states and the like.
    public var tensors: [String: StoredTensor]
    /// Scalar counters: step, epoch, position in the epoch …
    public var counters: [String: Int64]
    /// Raw 64-bit words (the seed, the data's fingerprint).
    public var words: [String: [UInt64]]
    /// Header metadata (not `format` / `format_version`).
    public var metadata: [String: String]

    public init(optimizer: [String: [Float]] = [:], tensors: [String: StoredTensor] = [:],
                counters: [String: Int64] = [:], words: [String: [UInt64]] = [:], metadata: [String: String] = [:]) {
        self.optimizer = optimizer
        self.tensors = tensors
        self.counters = counters
        self.words = words
        self.metadata = metadata
    }

    /// Copies the optimizer's state tensors and its `stepCount` (as `optimizer.step`) in.
    public mutating func capture(_ optimizer: Optimizer) {
        self.optimizer = Dictionary(uniqueKeysWithValues: optimizer.stateTensors.map { ($0.name, $0.buffer.array) })
        counters[Self.optimizerStepCounter] = Int64(optimizer.stepCount)
    }

    /// Writes the saved optimizer state and step count back into `optimizer` (bitwise).
    /// - Parameter path: the file this state came from, for messages.
    /// - Throws: `CheckpointError` (`.differentModel`) when the slots or lengths differ; the
    ///   optimizer is then unchanged.
    public func restore(into optimizer: Optimizer, path: String = TrainingState.fileName) throws {
        guard let step = counters[Self.optimizerStepCounter] else {
            throw CheckpointError(.badContent, path: path, "there is no '\(Self.optimizerStepCounter)' counter")
        }
        do {
            try optimizer.restoreState(stepCount: Int(step), tensors: self.optimizer)
        } catch {
            throw CheckpointError(.differentModel, path: path, "the optimizer state does not fit: \(error)",
                                  remedy: "Resume with the optimizer settings the run was saved with.")
        }
    }

    /// The safetensors contents, tensors sorted by name within each kind.
    /// - Precondition: names are unique across kinds and no `tensors` name starts with `optimizer.`.
    public var safeTensors: SafeTensorsFile {
        var out: [SafeTensor] = []
        for name in optimizer.keys.sorted() {
            let values = optimizer[name]!
            out.append(SafeTensor(name: Self.optimizerPrefix + name, shape: [values.count], floats: values))
        }
        for name in tensors.keys.sorted() {
            precondition(!name.hasPrefix(Self.optimizerPrefix), "TrainingState: tensor name '\(name)' uses the optimizer. prefix")
            out.append(SafeTensor(name: name, shape: tensors[name]!.shape, floats: tensors[name]!.values))
        }
        for name in counters.keys.sorted() { out.append(SafeTensor(name: name, shape: [], int64s: [counters[name]!])) }
        for name in words.keys.sorted() { out.append(SafeTensor(name: name, shape: [words[name]!.count], uint64s: words[name]!)) }
        var meta = metadata
        meta["format"] = Self.format
        meta["format_version"] = Self.formatVersion
        return SafeTensorsFile(tensors: out, metadata: meta)
    }

    /// Writes `training-state.safetensors` alone, atomically.
    /// - Throws: `FileError`.
    public func write(to url: URL) throws {
        try safeTensors.write(to: url)
    }

    /// Reads a training state from its file or from a checkpoint directory (which must hold both
    /// checkpoint files).
    /// - Throws: `CheckpointError` for a missing, malformed or foreign file.
    public static func read(from url: URL) throws -> TrainingState {
        var file = url
        if isDirectory(url) {
            try Checkpoint.requireComplete(url)
            file = url.appendingPathComponent(fileName)
        }
        return try TrainingState(safeTensors: SafeTensorsFile.read(from: file), path: file.path)
    }

    /// Interprets parsed safetensors contents as a training state.
    public init(safeTensors file: SafeTensorsFile, path: String) throws {
        try checkFormat(file.metadata, format: Self.format, version: Self.formatVersion, path: path)
        self.init(metadata: file.metadata.filter { $0.key != "format" && $0.key != "format_version" })
        for t in file.tensors {
            switch t.dtype {
            case .F32 where t.name.hasPrefix(Self.optimizerPrefix):
                guard t.shape.count == 1 else {
                    throw CheckpointError(.badContent, path: path, "optimizer tensor '\(t.name)' has shape \(t.shape), not one dimension")
                }
                try requireFinite(t.floats!, tensor: t.name, path: path)
                optimizer[String(t.name.dropFirst(Self.optimizerPrefix.count))] = t.floats!
            case .F32:
                try requireFinite(t.floats!, tensor: t.name, path: path)
                tensors[t.name] = StoredTensor(shape: t.shape, values: t.floats!)
            case .I64 where t.shape.isEmpty:
                counters[t.name] = t.int64s![0]
            case .I64 where t.shape.count == 1:
                continue    // not a Recur state (see above): skipped
            case .U64 where t.shape.count == 1:
                words[t.name] = t.uint64s!
            default:
                throw CheckpointError(.badContent, path: path,
                                      "tensor '\(t.name)' (\(t.dtype.rawValue), shape \(t.shape)) is not part of a Recur training state")
            }
        }
    }
}

// MARK: - Checkpoint directory

/// A whole checkpoint: one directory such as `runs/NAME/checkpoints/step-000120/` holding
/// `model.safetensors` and `training-state.safetensors`.
///
/// Note [Atomic checkpoint directory]: `write(to:)` writes both files into the sibling
/// directory `.<name>.tmp-<pid>`, fsyncs each file and that directory, then renames it to
/// `<name>` and fsyncs the parent. Rename is atomic, so the directory appears complete or not
/// at all; a crash leaves at most a hidden `.tmp` sibling, which `list(in:)` ignores and
/// `pruneCheckpoints` removes. Replacing an existing `<name>` uses Linux's
/// `renameat2(RENAME_EXCHANGE)`, an atomic swap; where that is missing the old directory is
/// first moved to `.<name>.old-<pid>`, so a crash between the two renames leaves the old
/// checkpoint intact under that hidden name rather than under `<name>`.
public struct Checkpoint: Equatable, Sendable {
    public var model: ModelCheckpoint
    public var state: TrainingState

    public init(model: ModelCheckpoint, state: TrainingState) {
        self.model = model
        self.state = state
    }

    /// `step-000120` for step 120 (at least six digits; `list` sorts by number, not by name).
    public static func directoryName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The step of a `step-NNNNNN` directory name, or nil for any other name.
    public static func step(ofDirectoryName name: String) -> Int? {
        guard name.hasPrefix("step-") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// Saves the checkpoint as the directory `directory`, atomically as a whole
    /// (Note [Atomic checkpoint directory]). Parent directories are created as needed; an
    /// existing checkpoint of the same name is replaced.
    /// - Throws: `FileError`; the previous contents of `directory` are then intact.
    public func write(to directory: URL) throws {
        let modelBytes = model.safeTensors.serialized()
        let stateBytes = state.safeTensors.serialized()
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let name = directory.lastPathComponent
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw FileError.foundation("cannot create the checkpoints directory", path: parent.path, error)
        }
        let temporary = parent.appendingPathComponent(".\(name).tmp-\(getpid())")
        try? fm.removeItem(at: temporary)
        guard mkdir(temporary.path, 0o755) == 0 else {
            throw FileError.system("cannot create the temporary checkpoint directory", path: temporary.path)
        }
        do {
            try writeAndSyncFile(modelBytes, to: temporary.appendingPathComponent(ModelCheckpoint.fileName))
            try writeAndSyncFile(stateBytes, to: temporary.appendingPathComponent(TrainingState.fileName))
            try fsyncDirectory(temporary)
            try Self.moveIntoPlace(temporary, directory)
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
        try fsyncDirectory(parent)
    }

    /// Renames the complete `temporary` directory to `target`, replacing any existing one.
    private static func moveIntoPlace(_ temporary: URL, _ target: URL) throws {
        if rename(temporary.path, target.path) == 0 { return }
        guard errno == EEXIST || errno == ENOTEMPTY else {
            throw FileError.system("cannot rename \(temporary.lastPathComponent) to it", path: target.path)
        }
        if exchangeDirectories(temporary.path, target.path) {
            // `temporary` now holds the old checkpoint.
            try? FileManager.default.removeItem(at: temporary)
            return
        }
        let aside = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
        try? FileManager.default.removeItem(at: aside)
        guard rename(target.path, aside.path) == 0 else {
            throw FileError.system("cannot move the existing checkpoint aside to \(aside.lastPathComponent)", path: target.path)
        }
        guard rename(temporary.path, target.path) == 0 else {
            let error = FileError.system("cannot rename \(temporary.lastPathComponent) to it", path: target.path)
            _ = rename(aside.path, target.path)
            throw error
        }
        try? FileManager.default.removeItem(at: aside)
    }

    /// Reads both files of a checkpoint directory.
    /// - Parameters:
    ///   - directory: a checkpoint directory (`…/step-000120`).
    ///   - layout: see `ModelCheckpoint.read(from:expecting:)`.
    /// - Throws: `CheckpointError`: a missing file (`.missingFile`), a malformed one, or a
    ///   different model.
    public static func read(from directory: URL, expecting layout: ParameterLayout? = nil) throws -> Checkpoint {
        try requireComplete(directory)
        let model = try ModelCheckpoint.read(from: directory.appendingPathComponent(ModelCheckpoint.fileName), expecting: layout)
        let state = try TrainingState.read(from: directory.appendingPathComponent(TrainingState.fileName))
        return Checkpoint(model: model, state: state)
    }

    /// Refuses a path that is not a directory holding both checkpoint files.
    static func requireComplete(_ directory: URL) throws {
        guard isDirectory(directory) else {
            throw CheckpointError(.missingFile, path: directory.path, "is not a checkpoint directory (it does not exist or is a file)")
        }
        for file in [ModelCheckpoint.fileName, TrainingState.fileName] {
            let path = directory.appendingPathComponent(file).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CheckpointError(.missingFile, path: directory.path,
                                      "the checkpoint directory lacks \(file), so it is incomplete",
                                      remedy: "Use another checkpoint (the checkpoints directory lists them) or restore the file.")
            }
        }
    }

    /// The complete checkpoint directories (`step-N` holding both files) in `directory`, by
    /// ascending step. Hidden entries (interrupted saves) and other names are ignored.
    /// - Throws: `FileError` when `directory` exists but cannot be listed; a
    ///   missing directory lists as empty.
    public static func list(in directory: URL) throws -> [URL] {
        try stepDirectories(in: directory)
            .filter { (try? requireComplete($0.url)) != nil }
            .map(\.url)
    }

    /// The complete checkpoint with the highest step in `directory`, if any.
    public static func latest(in directory: URL) throws -> URL? {
        try list(in: directory).last
    }

    /// `step-N` directories in `directory`, complete or not, by ascending step.
    static func stepDirectories(in directory: URL) throws -> [(step: Int, url: URL)] {
        guard isDirectory(directory) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw FileError.foundation("cannot list the checkpoints", path: directory.path, error)
        }
        return names.compactMap { name in
            guard let step = step(ofDirectoryName: name) else { return nil }
            let url = directory.appendingPathComponent(name)
            return isDirectory(url) ? (step, url) : nil
        }.sorted { $0.step < $1.step }
    }
}

// MARK: - Pruning

/// Deletes old checkpoints in `directory`: every `step-N` directory except the `keepLast` with
/// the highest steps and the one named `best`; also the hidden leftovers of interrupted saves
/// by other processes (`.step-N.tmp-<pid>`, `.step-N.old-<pid>` with a pid not this one).
/// - Parameters:
///   - directory: the checkpoints directory (`runs/NAME/checkpoints`).
///   - keepLast: how many of the newest checkpoints to keep (at least 0).
///   - best: the directory name (or path) of the best checkpoint, kept whatever its age.
/// - Returns: the names removed, sorted.
/// - Throws: `FileError` when a directory cannot be listed or removed.
@discardableResult
public func pruneCheckpoints(in directory: URL, keepLast: Int, keep best: String?) throws -> [String] {
    precondition(keepLast >= 0, "pruneCheckpoints: keepLast must be at least 0, got \(keepLast)")
    let bestName = best.map { URL(fileURLWithPath: $0).lastPathComponent }
    let steps = try Checkpoint.stepDirectories(in: directory)
    var doomed = steps.dropLast(keepLast).map(\.url.lastPathComponent).filter { $0 != bestName }
    let ownSuffixes = [".tmp-\(getpid())", ".old-\(getpid())"]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
        guard name.hasPrefix(".step-"), name.contains(".tmp-") || name.contains(".old-"),
              !ownSuffixes.contains(where: name.hasSuffix) else { continue }
        doomed.append(name)
    }
    for name in doomed {
        let url = directory.appendingPathComponent(name)
        do {
            try FileManager.default.removeItem(at: url)
        } catch {
            throw FileError.foundation("cannot remove the old checkpoint", path: url.path, error)
        }
    }
    if !doomed.isEmpty { try fsyncDirectory(directory) }
    return doomed.sorted()
}

// MARK: - Helpers

/// Refuses metadata whose `format` or `format_version` is not the expected one.
/// Refuses a tensor holding NaN or an infinity: training never stores one (a non-finite step is
/// not applied), so it means damage or a file from elsewhere.
private func requireFinite(_ values: [Float], tensor: String, path: String) throws {
    if let i = values.firstIndex(where: { !$0.isFinite }) {
        throw CheckpointError(.badContent, path: path, "tensor '\(tensor)' holds \(values[i]) at element \(i); a checkpoint holds only finite values",
                              remedy: "Resume from an earlier checkpoint, or start a new run.")
    }
}

private func checkFormat(_ metadata: [String: String], format: String, version: String, path: String) throws {
    guard let found = metadata["format"] else {
        throw CheckpointError(.badContent, path: path, "the header metadata has no 'format', so this is not a Recur file (expected '\(format)')")
    }
    guard found == format else {
        throw CheckpointError(.badContent, path: path, "the file's format is '\(found)', expected '\(format)'",
                              remedy: "Pass the \(format == ModelCheckpoint.format ? ModelCheckpoint.fileName : TrainingState.fileName) file of the checkpoint.")
    }
    guard let foundVersion = metadata["format_version"], foundVersion == version else {
        throw CheckpointError(.badContent, path: path,
                              "format_version '\(metadata["format_version"] ?? "")' is not the version \(version) this Recur reads",
                              remedy: "Read it with the Recur version that wrote it.")
    }
}

/// The first of the differences between an expected layout and stored (name, shape) pairs,
/// with a count of the others; nil when names and shapes agree (order aside).
private func firstDifference(expected: ParameterLayout, found: [(name: String, shape: [Int])]) -> String? {
    let foundShapes = Dictionary(found.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
    let expectedNames = Set(expected.entries.map(\.name))
    var differences: [String] = []
    for e in expected.entries {
        if let shape = foundShapes[e.name] {
            if shape != e.shape {
                differences.append("tensor '\(e.name)' has shape \(shape) in the checkpoint but \(e.shape) in the model")
            }
        } else {
            differences.append("the checkpoint lacks tensor '\(e.name)' \(e.shape) that the model has")
        }
    }
    for f in found where !expectedNames.contains(f.name) {
        differences.append("the checkpoint has tensor '\(f.name)' \(f.shape) that the model does not")
    }
    guard let first = differences.first else { return nil }
    let more = differences.count - 1
    return more == 0 ? first : "\(first) (and \(more) more difference\(more == 1 ? "" : "s"))"
}

private func isDirectory(_ url: URL) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
}

/// Atomically swaps two directories with Linux's `renameat2(RENAME_EXCHANGE)`, looked up at run
/// time because Glibc's Swift overlay does not declare it. False where unavailable or refused.
private func exchangeDirectories(_ a: String, _ b: String) -> Bool {
    #if os(Linux)
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return false }
    let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
    let atCurrentDirectory: Int32 = -100 // AT_FDCWD
    let renameExchange: UInt32 = 2       // RENAME_EXCHANGE
    return renameat2(atCurrentDirectory, a, atCurrentDirectory, b, renameExchange) == 0
    #else
    return false
    #endif
}
