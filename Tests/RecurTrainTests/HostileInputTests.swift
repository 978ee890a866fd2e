// What a hostile user tries, as a table: each case is a command (recur or launch/train), the
// exit status it must end with, a fragment its message must hold, and — for bad input — that
// nothing in its directory was written or changed. No case may end on a signal or with exit 1
// for bad input. The classes follow the reliability issue: crashes, run directories, integrity,
// config text, the launcher, messages that point at nothing, silent numerics, and labelled
// sequences of different lengths or labelled step by step (signals have
// their own tests in SignalTests).

import Foundation
import XCTest

final class HostileInputTests: XCTestCase {
    /// `shell`: args[0] is a bash script, with $RECUR the release binary (pipes, redirections, FIFOs).
    enum Program { case recur, launchTrain, shell }

    struct Case {
        var kind: String
        var args: [String]
        var status: Int32
        var fragment: String
        var program: Program = .recur
        /// Bad input changes nothing; cases that run on purpose may write.
        var mayWrite = false
        var prepare: (URL) throws -> Void = { _ in }
        /// Checked after the run (beyond status and fragment).
        var check: (URL, CommandResult) -> Void = { _, _ in }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let seriesYAML = """
    experiment: {name: e, seed: 2}
    data: {kind: series, path: s.csv, columns: [value], seq_len: 8}
    model: {cell: lstm, hidden_size: 8}
    training: {steps: 4, batch_size: 8, checkpoint_every: 2}
    """
    static let charsYAML = """
    experiment: {name: c}
    data: {kind: chars, path: t.txt, seq_len: 8}
    model: {cell: gru, hidden_size: 8, embedding_size: 4}
    training: {steps: 2, batch_size: 4}
    """

    /// A finished series run (`done`), trained once and copied into the cases that need one.
    static var trainedRun: URL?

    func fixture(_ name: String) throws -> URL {
        let dir = try temporaryDirectory("hostile-\(name)")
        try sineCSV(rows: 240).write(to: dir.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 60)
            .write(to: dir.appendingPathComponent("t.txt"), atomically: true, encoding: .utf8)
        try Self.seriesYAML.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        try Self.charsYAML.write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func trainedRun() throws -> URL {
        if let run = Self.trainedRun { return run }
        let dir = try fixture("trained")
        let r = try runRecur(["train", "e.yaml", "--quiet", "--set", "output.dir=done"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        Self.trainedRun = dir.appendingPathComponent("done")
        return Self.trainedRun!
    }

    /// Copies the trained run into `dir` as `done`.
    func withRun(_ dir: URL) throws {
        try FileManager.default.copyItem(at: try trainedRun(), to: dir.appendingPathComponent("done"))
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("done/.lock"))
    }

    func write(_ text: String, _ name: String) -> (URL) throws -> Void {
        { dir in try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    }

    /// Every file under `dir` (directories by name only) with its size and modification time.
    func snapshot(_ dir: URL) -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: dir.path) else { return out }
        while let rel = walker.nextObject() as? String {
            let a = (try? fm.attributesOfItem(atPath: dir.appendingPathComponent(rel).path)) ?? [:]
            out[rel] = (a[.type] as? FileAttributeType) == .typeDirectory ? "directory"
                : "\(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        }
        return out
    }

    func flipByte(_ path: String, fromEnd: Int) -> (URL) throws -> Void {
        { dir in
            let url = dir.appendingPathComponent(path)
            var bytes = [UInt8](try Data(contentsOf: url))
            bytes[bytes.count - fromEnd] ^= 0x04
            try Data(bytes).write(to: url)
        }
    }

    var cases: [Case] {
        let lastCheckpoint = "done/checkpoints/step-000004"
        var c: [Case] = []
        // 1. Crashes: numeric flags, resources. (The classes of the edges issue: HostileInputTests+Edges.swift.)
        c += [
            Case(kind: "crash", args: ["eval", "done", "--threads", "0"], status: 2, fragment: "--threads must be at least 1", prepare: withRun),
            Case(kind: "crash", args: ["eval", "done", "--threads", "-3"], status: 2, fragment: "--threads", prepare: withRun),
            Case(kind: "crash", args: ["eval", "done", "--split", "bogus"], status: 2, fragment: "--split must be train, validation or test", prepare: withRun),
            Case(kind: "crash", args: ["train", "e.yaml", "--threads", "0"], status: 2, fragment: "--threads must be at least 1"),
            Case(kind: "crash", args: ["bench", "tiny", "--threads", "0"], status: 2, fragment: "--threads must be at least 1"),
            Case(kind: "crash", args: ["bench", "tiny", "--steps", "0"], status: 2, fragment: "--steps must be at least 1"),
            Case(kind: "crash", args: ["sample", "done"], status: 2, fragment: "is not a text model", prepare: withRun),
            Case(kind: "crash", args: ["sample", "done", "--top-k", "0"], status: 2, fragment: "--top-k must be at least 1", prepare: withRun),
            Case(kind: "crash", args: ["forecast", "done", "--steps", "0"], status: 2, fragment: "--steps must be 1 to 1000000", prepare: withRun),
            Case(kind: "crash", args: ["config", "validate", "e.yaml", "--ranks", "0"], status: 2, fragment: "--ranks must be at least 1"),
            Case(kind: "crash", args: ["train", "e.yaml", "--set", "model.hidden_size=60000"], status: 2, fragment: "this run needs about"),
            Case(kind: "crash", args: ["train", "e.yaml", "--set", "model.hidden_size=5000", "--set", "model.layers=60"],
                 status: 2, fragment: "but this process can get only"),
            Case(kind: "crash", args: ["eval", "s.csv"], status: 2, fragment: "s.csv"),
            Case(kind: "crash", args: ["train", "e.yaml", "--set", "data.path=dir.csv"], status: 2, fragment: "is a directory",
                 prepare: { try FileManager.default.createDirectory(at: $0.appendingPathComponent("dir.csv"), withIntermediateDirectories: true) }),
            Case(kind: "crash", args: ["train", "e.yaml", "--set", "data.path=empty.csv"], status: 2, fragment: "the file is empty",
                 prepare: write("", "empty.csv")),
        ]
        // 2. Run directories.
        c += [
            Case(kind: "rundir", args: ["train", "e.yaml", "--set", "output.dir=\"\""], status: 2, fragment: "output.dir: must not be empty"),
            Case(kind: "rundir", args: ["train", "e.yaml", "--set", "output.dir=s.csv"], status: 2, fragment: "a file of that name exists"),
            Case(kind: "rundir", args: ["train", "e.yaml", "--set", "output.dir=/proc/recur-run"], status: 2, fragment: "kernel file system"),
            Case(kind: "rundir", args: ["train", "e.yaml", "--set", "output.dir=s.csv/run"], status: 2, fragment: "is a file, so no directory"),
            Case(kind: "rundir", args: ["train", "e.yaml", "--set", "output.dir=done"], status: 2, fragment: "already holds a run", prepare: withRun),
            Case(kind: "rundir", args: ["train", "--resume", "nowhere"], status: 2, fragment: "no such run directory"),
            Case(kind: "rundir", args: ["train", "--resume", "empty"], status: 2, fragment: "holds no run to resume",
                 prepare: { try FileManager.default.createDirectory(at: $0.appendingPathComponent("empty"), withIntermediateDirectories: true) }),
            Case(kind: "rundir", args: ["forecast", "done", "--plot", "missing/f.svg"], status: 2, fragment: "does not exist",
                 prepare: withRun, check: { _, r in XCTAssertEqual(r.stdout, "", "no CSV before the error") }),
            Case(kind: "rundir", args: ["plot", "done", "--output", "missing/loss.svg"], status: 2, fragment: "does not exist", prepare: withRun),
            Case(kind: "rundir", args: ["plot", "done", "--output", "done"], status: 2, fragment: "this is a directory", prepare: withRun),
            Case(kind: "rundir", args: ["plot", "."], status: 2, fragment: "holds no metrics.jsonl"),
            // A folder with notes in it is not a run: training into it works.
            Case(kind: "rundir", args: ["train", "e.yaml", "--quiet", "--set", "output.dir=notes"], status: 0, fragment: "", mayWrite: true,
                 prepare: { dir in
                     try FileManager.default.createDirectory(at: dir.appendingPathComponent("notes"), withIntermediateDirectories: true)
                     try "my notes".write(to: dir.appendingPathComponent("notes/notes.txt"), atomically: true, encoding: .utf8)
                 }, check: { dir, _ in
                     XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes/checkpoints/step-000004").path))
                     XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes/notes.txt").path))
                 }),
        ]
        // 3. Integrity of checkpoints.
        c += [
            Case(kind: "integrity", args: ["eval", lastCheckpoint], status: 2, fragment: "does not match its checksum",
                 prepare: { try self.withRun($0); try self.flipByte("\(lastCheckpoint)/model.safetensors", fromEnd: 3)($0) }),
            Case(kind: "integrity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "does not match its checksum",
                 prepare: { try self.withRun($0); try self.flipByte("\(lastCheckpoint)/training-state.safetensors", fromEnd: 9)($0) }),
            Case(kind: "integrity", args: ["eval", lastCheckpoint], status: 2, fragment: "model.safetensors",
                 prepare: { dir in
                     try self.withRun(dir)
                     let url = dir.appendingPathComponent("\(lastCheckpoint)/model.safetensors")
                     let bytes = try Data(contentsOf: url)
                     try bytes.prefix(bytes.count / 2).write(to: url)
                 }),
            Case(kind: "integrity", args: ["eval", "\(lastCheckpoint)/model.safetensors"], status: 2, fragment: "not a safetensors file",
                 prepare: { try self.withRun($0); try self.write("not a tensor file at all", "\(lastCheckpoint)/model.safetensors")($0) }),
            Case(kind: "integrity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "holds no complete checkpoint",
                 prepare: { dir in
                     try self.withRun(dir)
                     for step in ["step-000002", "step-000004"] {
                         try FileManager.default.removeItem(at: dir.appendingPathComponent("done/checkpoints/\(step)/training-state.safetensors"))
                     }
                 }),
        ]
        // 4. Config text.
        let base = Self.seriesYAML
        c += [
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "model.hidden_size: appears twice",
                 prepare: write(base.replacingOccurrences(of: "hidden_size: 8}", with: "hidden_size: 8, hidden_size: 16}"), "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "model: appears twice",
                 prepare: write(base + "\nmodel: {layers: 2}\n", "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "holds a tab",
                 prepare: write("data:\n\tkind: series\n", "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "a '[' list is not closed",
                 prepare: write(base.replacingOccurrences(of: "columns: [value]", with: "columns: [value"), "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "a '{' mapping is not closed",
                 prepare: write("model: {cell: lstm, hidden_size: 8\ndata: {kind: series}\n", "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "the file is empty", prepare: write("", "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "the file is empty", prepare: write("# nothing yet\n\n", "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "must be a mapping of sections", prepare: write("- a\n- b\n", "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "did you mean 'model.hidden_size'",
                 prepare: write(base.replacingOccurrences(of: "hidden_size", with: "hiden_size"), "x.yaml")),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "did you mean 'training'",
                 prepare: write(base.replacingOccurrences(of: "training:", with: "trainig:"), "x.yaml")),
            Case(kind: "config", args: ["train", "e.yaml", "--set", "model.layers=two"], status: 2, fragment: "expected an integer, found 'two'"),
            Case(kind: "config", args: ["train", "e.yaml", "--set", "model.dropout=1.5"], status: 2, fragment: "model.dropout: must be less than 1"),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "cannot be read as UTF-8",
                 prepare: { try Data([0xFF, 0xFE, 0x00, 0x41]).write(to: $0.appendingPathComponent("x.yaml")) }),
            Case(kind: "config", args: ["train", "."], status: 2, fragment: "is a directory"),
            Case(kind: "config", args: ["train", "e.yaml", "--set", "model.layers"], status: 2, fragment: "is not key.path=value"),
            Case(kind: "config", args: ["train", "e.yaml", "--set", "model.layers=[2"], status: 2, fragment: "is not valid YAML"),
            Case(kind: "config", args: ["train", "x.yaml"], status: 2, fragment: "model.cell is required",
                 prepare: write(base.replacingOccurrences(of: "cell: lstm, ", with: ""), "x.yaml")),
            Case(kind: "config", args: ["config", "validate", "missing.yaml"], status: 2, fragment: "no such file"),
        ]
        // 5. The launcher.
        c += [
            Case(kind: "launcher", args: ["--help"], status: 0, fragment: "", program: .launchTrain,
                 check: { _, r in XCTAssert(r.stdout.contains("--np") && r.stdout.contains("--hostfile") && r.stdout.contains("--resume"), r.stdout) }),
            Case(kind: "launcher", args: ["missing.yaml"], status: 2, fragment: "no such experiment file", program: .launchTrain),
            Case(kind: "launcher", args: ["e.yaml", "--np", "0"], status: 2, fragment: "--np must be a whole number", program: .launchTrain),
            Case(kind: "launcher", args: ["e.yaml", "--resume", "done"], status: 2, fragment: "not both", program: .launchTrain, prepare: withRun),
            // A relative config from another directory, and --resume, both work.
            Case(kind: "launcher", args: ["sub/e.yaml", "--quiet", "--set", "output.dir=relrun"], status: 0, fragment: "", program: .launchTrain,
                 mayWrite: true, prepare: { dir in
                     let sub = dir.appendingPathComponent("sub")
                     try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
                     try FileManager.default.copyItem(at: dir.appendingPathComponent("s.csv"), to: sub.appendingPathComponent("s.csv"))
                     try Self.seriesYAML.write(to: sub.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
                 }, check: { dir, _ in
                     XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("relrun/checkpoints/step-000004").path))
                 }),
            Case(kind: "launcher", args: ["--resume", "done", "--quiet", "--set", "training.steps=6"], status: 0, fragment: "", program: .launchTrain,
                 mayWrite: true, prepare: withRun, check: { dir, _ in
                     XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("done/checkpoints/step-000006").path))
                 }),
        ]
        // 6. Messages that name what exists; resumes that would change what a checkpoint holds.
        c += [
            Case(kind: "messages", args: ["train", "--resume", "done", "--set", "data.seq_len=12"], status: 2,
                 fragment: "data.seq_len: cannot change when resuming", prepare: withRun),
            Case(kind: "messages", args: ["train", "--resume", "done", "--set", "training.optimizer.kind=sgd"], status: 2,
                 fragment: "training.optimizer.kind: cannot change when resuming", prepare: withRun),
            Case(kind: "messages", args: ["train", "--resume", "done", "--set", "model.hidden_size=16"], status: 2,
                 fragment: "model.hidden_size: cannot change when resuming", prepare: withRun),
            Case(kind: "messages", args: ["train", "--resume", "done", "--set", "training.batch_size=4"], status: 2,
                 fragment: "training.batch_size: cannot change when resuming", prepare: withRun),
            Case(kind: "messages", args: ["train", "e.yaml", "--quiet", "--set", "optimizer.lr=1"], status: 2,
                 fragment: "optimizer.lr: unknown key (did you mean 'training.optimizer.lr'?)"),
            Case(kind: "messages", args: ["train", "e.yaml", "--set", "training.optimizer={kind: sgd, lr: 1e30}", "--set", "model.cell=rnn",
                                          "--set", "training.clip.norm=0", "--set", "training.checkpoint_every=1000", "--set", "training.steps=50"],
                 status: 1, fragment: "no checkpoint was written yet", mayWrite: true),
        ]
        // 7. Silent numerics and contradictions.
        c += [
            Case(kind: "numerics", args: ["train", "e.yaml", "--set", "data.stateful=true", "--set", "data.shuffle=true",
                                          "--set", "data.stride=8"], status: 2, fragment: "data.shuffle: stateful training reads every stream in order"),
            Case(kind: "numerics", args: ["train", "c.yaml", "--set", "data.vocabulary.lowercase=true"], status: 2,
                 fragment: "data.vocabulary.lowercase: applies to words data only, and data.kind is chars"),
            Case(kind: "numerics", args: ["train", "c.yaml", "--set", "data.vocabulary.min_count=2"], status: 2,
                 fragment: "applies to words data only"),
            Case(kind: "numerics", args: ["train", "e.yaml", "--set", "model.embedding_size=16"], status: 2,
                 fragment: "model.embedding_size: applies to text (chars, words) only"),
            Case(kind: "numerics", args: ["train", "e.yaml", "--set", "training.max_consecutive_skips=0"], status: 2,
                 fragment: "training.max_consecutive_skips: must be at least 1"),
            Case(kind: "numerics", args: ["train", "e.yaml", "--quiet", "--set", "training.on_nonfinite=skip", "--set", "model.cell=rnn",
                                          "--set", "training.optimizer={kind: sgd, lr: 1e30}", "--set", "training.clip.norm=0",
                                          "--set", "training.steps=50"], status: 1, fragment: "is intact", mayWrite: true),
            Case(kind: "numerics", args: ["train", "e.yaml"], status: 2, fragment: "nan.csv",
                 prepare: { dir in
                     let rows = (0..<60).map { "\($0),\($0 == 30 ? "nan" : "1.5")" }.joined(separator: "\n")
                     try ("t,value\n" + rows).write(to: dir.appendingPathComponent("nan.csv"), atomically: true, encoding: .utf8)
                     try self.write(Self.seriesYAML.replacingOccurrences(of: "s.csv", with: "nan.csv"), "e.yaml")(dir)
                 }),
        ]
        // 8. Sequences of different lengths and a class at every step (labelled sequences).
        let seqYAML = """
        data: {kind: sequences, path: v.csv, seq_len: 4, variable_length: true}
        model: {cell: gru, hidden_size: 4, bidirectional: true}
        training: {steps: 2, batch_size: 2}
        """
        func sequences(_ csv: String, _ yaml: String = seqYAML) -> (URL) throws -> Void {
            { dir in
                try csv.write(to: dir.appendingPathComponent("v.csv"), atomically: true, encoding: .utf8)
                try yaml.write(to: dir.appendingPathComponent("v.yaml"), atomically: true, encoding: .utf8)
            }
        }
        c += [
            Case(kind: "sequences", args: ["train", "v.yaml"], status: 2, fragment: "set data.variable_length: true",
                 prepare: sequences("1,2,3,0\n1,1\n", seqYAML.replacingOccurrences(of: ", variable_length: true", with: ""))),
            Case(kind: "sequences", args: ["train", "v.yaml"], status: 2, fragment: "v.csv:2: error: this sequence has 5 steps, more than data.seq_len (4)",
                 prepare: sequences("1,2,0\n1,2,3,4,5,1\n")),
            Case(kind: "sequences", args: ["train", "v.yaml"], status: 2, fragment: "v.csv:2:3: error: the label is missing",
                 prepare: sequences("1,2,0\n1,2,\n")),
            Case(kind: "sequences", args: ["train", "v.yaml", "--set", "data.length_column=n"], status: 2, fragment: "no column 'n' (data.length_column)",
                 prepare: sequences("a,b,c,d,label\n1,2,,,0\n")),
            Case(kind: "sequences", args: ["train", "v.yaml", "--set", "data.label_column=tag"], status: 2, fragment: "needs data.sequence_column",
                 prepare: sequences("x,tag\n1,0\n")),
            Case(kind: "sequences", args: ["train", "v.yaml", "--set", "data.label_column=tag", "--set", "data.sequence_column=id"], status: 2,
                 fragment: "sequence '1' continues here", prepare: sequences("id,x,tag\n1,0.5,0\n2,0.1,1\n1,0.2,1\n")),
            Case(kind: "sequences", args: ["train", "v.yaml", "--set", "data.sequence_column=id"], status: 2,
                 fragment: "data.sequence_column: groups rows into sequences labelled step by step", prepare: sequences("1,0\n")),
            Case(kind: "sequences", args: ["train", "v.yaml", "--set", "data.stateful=true"], status: 2,
                 fragment: "data.stateful: labelled sequences are independent examples", prepare: sequences("1,0\n")),
        ]
        return c
    }

    func testHostileCases_EachEndsWithItsStatusAndMessage_AndBadInputWritesNothing() throws {
        let all = cases + edgeCases + readerCases
        XCTAssertGreaterThanOrEqual(all.count, 150)
        var byKind: [String: Int] = [:]
        for (i, c) in all.enumerated() {
            byKind[c.kind, default: 0] += 1
            let dir = try fixture("case\(i)")
            try c.prepare(dir)
            let before = snapshot(dir)
            let r: CommandResult
            switch c.program {
            case .recur:
                r = try runProcess(try releaseRecurExecutable().path, c.args, in: dir, environment: [:], timeout: 120)
            case .launchTrain:
                r = try runProcess(Self.root.appendingPathComponent("launch/train").path, c.args, in: dir, environment: [:], timeout: 300)
            case .shell:
                r = try runProcess("/bin/bash", ["-c", c.args[0]], in: dir, environment: ["RECUR": try releaseRecurExecutable().path], timeout: 120)
            }
            let label = "case \(i) [\(c.kind)] \(c.args.joined(separator: " "))"
            XCTAssertEqual(r.status, c.status, "\(label): \(r.stderr)")
            if c.kind != "signals" { XCTAssertLessThan(r.status, 128, "\(label) ended on a signal") }
            if !c.fragment.isEmpty { XCTAssert(r.stderr.contains(c.fragment), "\(label): expected «\(c.fragment)» in\n\(r.stderr)") }
            if c.status == 2 {
                XCTAssert(r.stderr.contains("error") || r.stderr.contains("launch/train:"), "\(label): \(r.stderr)")
                // One message, with one "error:" in it.
                if c.program == .recur {
                    XCTAssertEqual(r.stderr.components(separatedBy: "error:").count, 2, "\(label): one 'error:' in \(r.stderr)")
                }
            }
            if !c.mayWrite {
                let after = snapshot(dir).filter { !$0.key.hasPrefix("err-") && !$0.key.hasPrefix("out-") }
                XCTAssertEqual(after, before.filter { !$0.key.hasPrefix("err-") && !$0.key.hasPrefix("out-") }, "\(label) wrote or changed files")
            }
            c.check(dir, r)
        }
        print("hostile cases by class: \(byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
    }

    /// A run directory belongs to one process: a resume while another process holds it is refused.
    func testResumeOfARunInUse_IsRefused_NamingTheProcess() throws {
        let dir = try fixture("locked")
        try withRun(dir)
        let lockPath = dir.appendingPathComponent("done/.lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        _ = "4242\n".withCString { pwrite(fd, $0, 5, 0) }
        let before = snapshot(dir)
        let r = try runProcess(try releaseRecurExecutable().path, ["train", "--resume", "done", "--set", "training.steps=6"],
                               in: dir, environment: [:], timeout: 60)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssert(r.stderr.contains("is in use by another recur process (pid 4242)"), r.stderr)
        XCTAssertEqual(snapshot(dir).filter { !$0.key.hasPrefix("err-") && !$0.key.hasPrefix("out-") },
                       before.filter { !$0.key.hasPrefix("err-") && !$0.key.hasPrefix("out-") })
    }
}
