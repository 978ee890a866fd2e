// Note [Run identity]
// A run directory holds one run: `run.json` gets a random id when the run is created, and every
// checkpoint it writes carries that id (`run_id` in training-state.safetensors). A checkpoint in
// a run's checkpoints/ with another id — copied in, swapped, reached through a symbolic link —
// is another run's: resume, eval, predict, sample and forecast of the run directory refuse it,
// naming both ids (pointing at the checkpoint directory itself, or starting a new run from it
// with model.init_from, is how to say it is meant). A checkpoints/ that is a symbolic link is
// refused outright, so that pruning can never delete another run's checkpoints. Runs and
// checkpoints written before ids existed have none and are accepted. A copied or moved run
// directory keeps its id, and is the same run.

import Foundation
import RecurKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum RunIdentity {
    public static let fileName = "run.json"
    /// The training-state metadata key of a checkpoint's run id.
    public static let metadataKey = "run_id"

    /// A new id: "run-" and 16 random hex digits.
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        let n = g.next() as UInt64
        let hex = String(n, radix: 16)
        return "run-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The id in `runDirectory/run.json`, or nil for a run written before ids.
    /// - Throws: `CheckpointError` (`.badContent`) for a run.json that is not Recur's.
    public static func read(_ runDirectory: URL) throws -> String? {
        let url = runDirectory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard FileKind.irregular(url.path) == nil, let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let id = object["id"] as? String,
              id.hasPrefix("run-") else {
            throw CheckpointError(.badContent, path: url.path, "is not the run identity file recur train writes",
                                  remedy: "Restore the run's run.json, or remove it to accept the run's checkpoints as they are.")
        }
        return id
    }

    /// Writes `runDirectory/run.json` atomically.
    public static func write(_ id: String, to runDirectory: URL) throws {
        try writeAtomically(Array("{\"id\": \(jsonQuoted(id))}\n".utf8), to: runDirectory.appendingPathComponent(fileName))
    }

    /// Refuses a run directory whose checkpoints/ is a symbolic link (pruning there would delete
    /// the checkpoints of the run it points into).
    /// - Throws: `CheckpointError` (`.otherRun`).
    public static func checkOwnCheckpoints(_ runDirectory: URL) throws {
        let path = runDirectory.appendingPathComponent("checkpoints").path
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return }
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
        throw CheckpointError(.otherRun, path: path, "is a symbolic link to \(target); a run's checkpoints must be its own, or pruning them would delete another run's",
                              remedy: "Replace the link with a copy of the checkpoints, or resume the run it points into.")
    }

    /// Refuses `checkpoint` (in `runDirectory`) when it carries another run's id.
    /// - Parameter state: the checkpoint's training state.
    /// - Throws: `CheckpointError` (`.otherRun`) naming both ids.
    public static func check(_ checkpoint: URL, state: TrainingState, belongsTo runDirectory: URL, id: String?) throws {
        guard let id, let other = state.metadata[metadataKey], other != id else { return }
        throw CheckpointError(.otherRun, path: checkpoint.path,
                              "belongs to run \(other), not to \(runDirectory.path) (run \(id)): it was copied, swapped or linked in from another run",
                              remedy: "To use it anyway, name the checkpoint directory itself (recur eval \(checkpoint.path)) or start a new run from it with model.init_from: \(checkpoint.path).")
    }
}
