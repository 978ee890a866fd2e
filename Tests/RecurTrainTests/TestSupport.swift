// Helpers for the training tests: temporary directories with small data files, and running
// the `recur` executable (the release build launch/test makes, or the debug build).

import Foundation
import XCTest

func temporaryDirectory(_ name: String = #function) throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("recur-tests-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A sine-plus-noise series as CSV text (header `t,value`).
func sineCSV(rows: Int) -> String {
    var s = "t,value\n"
    for i in 0..<rows { s += "\(i),\(sin(Double(i) * 0.3) + 0.1 * sin(Double(i) * 1.7))\n" }
    return s
}

/// Labelled sequences of 2…24 steps as ragged rows (two features per step, then the class):
/// example e has 2 + (7e mod 23) steps of a sine whose direction is its class (3 classes).
func raggedSequencesCSV(examples: Int) -> String {
    var s = ""
    for e in 0..<examples {
        let n = 2 + (7 * e) % 23, label = e % 3
        var values: [String] = []
        for t in 0..<n {
            let phase = Double(t) * 0.4 * Double(label - 1) + Double(e)
            values += [String(format: "%.4f", sin(phase)), String(format: "%.4f", cos(phase * 0.5))]
        }
        s += values.joined(separator: ",") + ",\(label)\n"
    }
    return s
}

/// Sequences labelled step by step, one row per step (columns `seq,a,b,tag`): sequence s has
/// 2 + (5s mod 17) steps; a step's tag (0–2) is the sign pattern of its values.
func stepTaggedCSV(sequences: Int) -> String {
    var s = "seq,a,b,tag\n"
    for q in 0..<sequences {
        for t in 0..<(2 + (5 * q) % 17) {
            let a = sin(Double(q) + 0.7 * Double(t)), b = cos(0.3 * Double(q * t))
            s += "\(q),\(String(format: "%.4f", a)),\(String(format: "%.4f", b)),\(a > 0.3 ? 1 : a < -0.3 ? 2 : 0)\n"
        }
    }
    return s
}

struct CommandResult { var status: Int32; var stdout: String; var stderr: String }

/// The `recur` executable to test: $RECUR_BIN, else the debug or release build in .build.
func recurExecutable() throws -> URL {
    if let p = ProcessInfo.processInfo.environment["RECUR_BIN"], FileManager.default.isExecutableFile(atPath: p) {
        return URL(fileURLWithPath: p)
    }
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    for c in [".build/debug/recur", ".build/release/recur"] {
        let u = here.appendingPathComponent(c)
        if FileManager.default.isExecutableFile(atPath: u.path) { return u }
    }
    throw XCTSkip("the recur executable is not built (swift build --product recur)")
}

/// The release build of `recur` ($RECUR_BIN, which launch/test sets, or .build/release/recur):
/// what users run, for claims about speed and allocations that a debug build does not keep.
func releaseRecurExecutable() throws -> URL {
    if let p = ProcessInfo.processInfo.environment["RECUR_BIN"], FileManager.default.isExecutableFile(atPath: p) {
        return URL(fileURLWithPath: p)
    }
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let u = here.appendingPathComponent(".build/release/recur")
    if FileManager.default.isExecutableFile(atPath: u.path) { return u }
    throw XCTSkip("the release build of recur is missing (launch/setup builds it)")
}

/// Runs `recur` with `arguments` in `directory`, with a time limit.
func runRecur(_ arguments: [String], in directory: URL? = nil, timeout: TimeInterval = 120) throws -> CommandResult {
    let p = Process()
    p.executableURL = try recurExecutable()
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box(), errBox = Box()
    let group = DispatchGroup()
    group.enter(); DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter(); DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate(); XCTFail("recur \(arguments) did not finish within \(timeout) s") }
    p.waitUntilExit()
    group.wait()
    return CommandResult(status: p.terminationStatus, stdout: String(decoding: outBox.data, as: UTF8.self),
                         stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// Open MPI's launcher, or a skip when it is not installed.
func mpirun() throws -> String {
    for p in ["/usr/bin/mpirun", "/usr/local/bin/mpirun"] where FileManager.default.isExecutableFile(atPath: p) { return p }
    throw XCTSkip("mpirun is not installed (launch/setup installs openmpi-bin)")
}


/// Runs an executable with a time limit, its output captured in files (no pipe deadlocks).
func runProcess(_ exe: String, _ args: [String], in dir: URL, environment: [String: String], timeout: TimeInterval) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.currentDirectoryURL = dir
    var env = ProcessInfo.processInfo.environment
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6)).txt")
    let err = dir.appendingPathComponent("err-\(UUID().uuidString.prefix(6)).txt")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL); XCTFail("\(exe) \(args) did not finish within \(timeout) s") }
    p.waitUntilExit()
    return CommandResult(status: p.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

