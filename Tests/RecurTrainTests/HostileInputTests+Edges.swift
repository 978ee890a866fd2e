// The hostile-input table's cases for the edges: every write checked, run identity, bounded
// work, special files and data text, portable runs, rules where a key does not apply, and
// messages (signals have their own tests in SignalTests). Each case is run by
// HostileInputTests.testHostileCases_… with the same promises: its exit status, a fragment of
// its message, nothing written for bad input, and never a signal.

import Foundation
import XCTest

extension HostileInputTests {
    func mkfifo(_ name: String) -> (URL) throws -> Void {
        { dir in XCTAssertEqual(Glibc.mkfifo(dir.appendingPathComponent(name).path, 0o644), 0) }
    }

    /// The trained run with its run.json claiming another id: its checkpoints are another run's.
    func withForeignCheckpoints(_ dir: URL) throws {
        try withRun(dir)
        try "{\"id\": \"run-00000000000000ff\"}\n".write(to: dir.appendingPathComponent("done/run.json"), atomically: true, encoding: .utf8)
    }

    /// The trained run with checkpoints/ a link into a copy of it ("other").
    func withLinkedCheckpoints(_ dir: URL) throws {
        try withRun(dir)
        let fm = FileManager.default
        try fm.copyItem(at: dir.appendingPathComponent("done"), to: dir.appendingPathComponent("other"))
        try fm.removeItem(at: dir.appendingPathComponent("done/checkpoints"))
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("done/checkpoints").path, withDestinationPath: "../other/checkpoints")
    }

    /// The trained run's config.yaml with `old` replaced by `new`.
    func withEditedConfig(_ old: String, _ new: String) -> (URL) throws -> Void {
        { dir in
            try self.withRun(dir)
            let url = dir.appendingPathComponent("done/config.yaml")
            let text = try String(contentsOf: url, encoding: .utf8)
            XCTAssert(text.contains(old), "config.yaml has no '\(old)': \(text)")
            try text.replacingOccurrences(of: old, with: new).write(to: url, atomically: true, encoding: .utf8)
        }
    }

    func csv(_ text: String, _ name: String = "x.csv") -> (URL) throws -> Void {
        { dir in try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
    }

    var edgeCases: [Case] {
        let e = ["train", "e.yaml"]
        var c: [Case] = []
        // 1. Every write is checked: full devices, closed pipes, outputs onto inputs or into other runs.
        c += [
            Case(kind: "writes", args: [#""$RECUR" predict done --input s.csv > /dev/full"#], status: 1, fragment: "standard output: cannot write: No space left on device",
                 program: .shell, prepare: withRun),
            Case(kind: "writes", args: [#""$RECUR" eval done > /dev/full"#], status: 1, fragment: "standard output: cannot write", program: .shell, prepare: withRun),
            Case(kind: "writes", args: [#""$RECUR" eval done --json > /dev/full"#], status: 1, fragment: "standard output: cannot write", program: .shell, prepare: withRun),
            Case(kind: "writes", args: [#""$RECUR" metrics done > /dev/full"#], status: 1, fragment: "standard output: cannot write", program: .shell, prepare: withRun),
            Case(kind: "writes", args: [#""$RECUR" config show e.yaml > /dev/full"#], status: 1, fragment: "standard output: cannot write", program: .shell),
            Case(kind: "writes", args: [#""$RECUR" config docs > /dev/full"#], status: 1, fragment: "standard output: cannot write", program: .shell),
            Case(kind: "writes", args: [#""$RECUR" config validate e.yaml > /dev/full"#], status: 1, fragment: "standard output: cannot write", program: .shell),
            Case(kind: "writes", args: [#""$RECUR" bench --list --json > /dev/full"#], status: 0, fragment: "", program: .shell),
            Case(kind: "writes", args: [#""$RECUR" forecast done --steps 200000 --plot f.svg | head -2 > /dev/null; exit ${PIPESTATUS[0]}"#], status: 1,
                 fragment: "standard output: cannot write: Broken pipe", program: .shell, prepare: withRun,
                 check: { dir, _ in XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("f.svg").path), "no plot of a forecast cut short") }),
            Case(kind: "writes", args: [#""$RECUR" predict done --input s.csv >&-"#], status: 1,
                 fragment: "standard output: cannot write: Bad file descriptor", program: .shell, prepare: withRun),
            Case(kind: "writes", args: [#""$RECUR" train e.yaml --log-format json --set output.dir=j > /dev/full"#], status: 1,
                 fragment: "cannot write the JSON events", program: .shell, mayWrite: true,
                 check: { dir, _ in XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("j/checkpoints/step-000004").path), "checkpoint written") }),
            Case(kind: "writes", args: ["predict", "done", "--input", "s.csv", "--output", "s.csv"], status: 2, fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["predict", "done", "--input", "s.csv", "--output", "./sub/../s.csv"], status: 2, fragment: "which this command reads",
                 prepare: { try self.withRun($0); try FileManager.default.createDirectory(at: $0.appendingPathComponent("sub"), withIntermediateDirectories: true) }),
            Case(kind: "writes", args: ["predict", "done", "--input", "s.csv", "--output", "link.csv"], status: 2, fragment: "which this command reads",
                 prepare: { try self.withRun($0); try FileManager.default.createSymbolicLink(atPath: $0.appendingPathComponent("link.csv").path, withDestinationPath: "s.csv") }),
            Case(kind: "writes", args: ["predict", "done", "--input", "s.csv", "--output", "other/p.csv"], status: 2, fragment: "is inside the run directory",
                 prepare: { try self.withRun($0); try FileManager.default.copyItem(at: $0.appendingPathComponent("done"), to: $0.appendingPathComponent("other")) }),
            Case(kind: "writes", args: ["predict", "done", "--input", "s.csv", "--output", "done/checkpoints/step-000004/model.safetensors"], status: 2,
                 fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["forecast", "done", "--input", "s.csv", "--plot", "s.csv"], status: 2, fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["forecast", "done", "--plot", "s.csv"], status: 2, fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["eval", "done", "--plot", "s.csv"], status: 2, fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["metrics", "done", "--output", "done/metrics.jsonl"], status: 2, fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["plot", "done", "--output", "done/metrics.jsonl"], status: 2, fragment: "which this command reads", prepare: withRun),
            Case(kind: "writes", args: ["plot", "done", "--output", "other/loss.svg"], status: 2, fragment: "is inside the run directory",
                 prepare: { try self.withRun($0); try FileManager.default.copyItem(at: $0.appendingPathComponent("done"), to: $0.appendingPathComponent("other")) }),
            Case(kind: "writes", args: ["predict", "done", "--input", "s.csv", "--output", "p.csv"], status: 0, fragment: "", mayWrite: true, prepare: withRun,
                 check: { dir, _ in XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("p.csv").path)) }),
        ]
        // 2. Signals (SignalTests holds resume after them): a closed pipe, a closed terminal, Ctrl-\\.
        func signalled(_ sig: String) -> String {
            #""$RECUR" train e.yaml --set training.steps=100000000 --set training.checkpoint_every=100000000 --set output.dir=h & p=$!; "#
                + #"for i in $(seq 600); do [ -s h/metrics.jsonl ] && break; sleep 0.05; done; sleep 0.3; kill -\#(sig) $p; wait $p"#
        }
        c += [
            Case(kind: "signals", args: [#""$RECUR" train e.yaml --set training.steps=300 --set training.log_every=1 2>&1 | head -1 > /dev/null; exit ${PIPESTATUS[0]}"#],
                 status: 0, fragment: "", program: .shell, mayWrite: true,
                 check: { dir, _ in XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs/e/checkpoints/step-000300").path), "the run went on to its end") }),
            Case(kind: "signals", args: [signalled("HUP")], status: 129, fragment: "stopped by SIGHUP at step", program: .shell, mayWrite: true),
            Case(kind: "signals", args: [signalled("QUIT")], status: 131, fragment: "stopped by SIGQUIT at step", program: .shell, mayWrite: true,
                 check: { _, r in XCTAssertFalse(r.stderr.contains("Backtrace") || r.stderr.contains("Crash"), "no crash report: \(r.stderr)") }),
        ]
        // 3. Run identity: checkpoints of another run, linked checkpoints, edits of fixed keys.
        c += [
            Case(kind: "identity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "belongs to run",
                 prepare: withForeignCheckpoints),
            Case(kind: "identity", args: ["eval", "done"], status: 2, fragment: "belongs to run", prepare: withForeignCheckpoints),
            Case(kind: "identity", args: ["forecast", "done", "--steps", "3"], status: 2, fragment: "belongs to run", prepare: withForeignCheckpoints),
            Case(kind: "identity", args: ["predict", "done", "--input", "s.csv"], status: 2, fragment: "belongs to run", prepare: withForeignCheckpoints),
            Case(kind: "identity", args: ["sample", "done"], status: 2, fragment: "belongs to run", prepare: withForeignCheckpoints),
            // Named directly, the checkpoint is meant: it works.
            Case(kind: "identity", args: ["eval", "done/checkpoints/step-000004"], status: 0, fragment: "", prepare: withForeignCheckpoints),
            Case(kind: "identity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "is a symbolic link",
                 prepare: withLinkedCheckpoints),
            Case(kind: "identity", args: ["eval", "done"], status: 2, fragment: "is a symbolic link", prepare: withLinkedCheckpoints),
            Case(kind: "identity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "is not the run identity file",
                 prepare: { try self.withRun($0); try "nonsense".write(to: $0.appendingPathComponent("done/run.json"), atomically: true, encoding: .utf8) }),
            Case(kind: "identity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "experiment.seed: cannot change when resuming",
                 prepare: withEditedConfig("seed: 2", "seed: 3")),
            Case(kind: "identity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "training.batch_size: cannot change when resuming",
                 prepare: withEditedConfig("batch_size: 8", "batch_size: 4")),
            Case(kind: "identity", args: ["train", "--resume", "done", "--set", "training.steps=6"], status: 2, fragment: "model.hidden_size: cannot change when resuming",
                 prepare: withEditedConfig("hidden_size: 8", "hidden_size: 12")),
            Case(kind: "identity", args: ["train", "--resume", "done", "--quiet"], status: 0, fragment: "", mayWrite: true,
                 prepare: withEditedConfig("steps: 4", "steps: 6"),
                 check: { dir, _ in XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("done/checkpoints/step-000006").path)) }),
            // A run directory reached through a link is the run it points to.
            Case(kind: "identity", args: ["train", "--resume", "alias", "--quiet", "--set", "training.steps=6"], status: 0, fragment: "", mayWrite: true,
                 prepare: { try self.withRun($0); try FileManager.default.createSymbolicLink(atPath: $0.appendingPathComponent("alias").path, withDestinationPath: "done") },
                 check: { dir, _ in XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("done/checkpoints/step-000006").path)) }),
        ]
        // 4. Bounded work and memory: every count has a limit checked before any work.
        c += [
            Case(kind: "bounds", args: e + ["--set", "training.epochs=9223372036854775000"], status: 2, fragment: "training.epochs: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "training.epochs=1000000001"], status: 2, fragment: "training.epochs: must be at most 1000000000"),
            Case(kind: "bounds", args: e + ["--set", "training.steps=9223372036854775807"], status: 2, fragment: "training.steps: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "training.steps=99999999999999999999999"], status: 2, fragment: "training.steps"),
            Case(kind: "bounds", args: e + ["--set", "training.batch_size=99999999999"], status: 2, fragment: "training.batch_size: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "data.seq_len=100000000"], status: 2, fragment: "data.seq_len: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "data.horizon=1000000000"], status: 2, fragment: "data.horizon: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "parallel.bucket_size=1000000000000000000"], status: 2, fragment: "parallel.bucket_size: must be at most"),
            Case(kind: "bounds", args: ["train", "c.yaml", "--set", "model.embedding_size=100000000"], status: 2, fragment: "model.embedding_size: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "model.layers=1000"], status: 2, fragment: "model.layers: must be at most"),
            Case(kind: "bounds", args: e + ["--set", "training.schedule={kind: step, step_size: 9223372036854775807}"], status: 2,
                 fragment: "training.schedule.step_size: must be at most"),
            Case(kind: "bounds", args: ["train", "deep.yaml"], status: 2, fragment: "nests 3000 levels deep",
                 prepare: write("a: " + String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000) + "\n", "deep.yaml")),
            Case(kind: "bounds", args: ["train", "deep.yaml"], status: 2, fragment: "levels deep",
                 prepare: write((0..<200).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n", "deep.yaml")),
            Case(kind: "bounds", args: e + ["--set", "model.hidden_size=" + String(repeating: "[", count: 5000)], status: 2, fragment: "levels deep"),
            Case(kind: "bounds", args: ["train", "big.yaml"], status: 2, fragment: "more than the 1048576 an experiment may have",
                 prepare: write(Self.seriesYAML + "\n#" + String(repeating: "x", count: 1_100_000) + "\n", "big.yaml")),
            Case(kind: "bounds", args: ["config", "validate", "deep.yaml"], status: 2, fragment: "levels deep",
                 prepare: write("a: " + String(repeating: "{b: ", count: 4000) + "1" + String(repeating: "}", count: 4000) + "\n", "deep.yaml")),
            Case(kind: "bounds", args: ["forecast", "done", "--steps", "1000000000"], status: 2, fragment: "--steps must be 1 to 1000000", prepare: withRun),
            Case(kind: "bounds", args: ["sample", "done", "--length", "1000000000"], status: 2, fragment: "--length must be 1 to 10000000", prepare: withRun),
            Case(kind: "bounds", args: ["eval", "done", "--threads", "100000"], status: 2, fragment: "--threads must be at most 1024", prepare: withRun),
            Case(kind: "bounds", args: e + ["--threads", "100000"], status: 2, fragment: "--threads must be at most 1024"),
            Case(kind: "bounds", args: ["bench", "tiny", "--steps", "1000000000000"], status: 2, fragment: "--steps must be at most 100000"),
            Case(kind: "bounds", args: ["bench", "tiny", "--warmup", "1000000000"], status: 2, fragment: "--warmup must be 0 to 100000"),
            Case(kind: "bounds", args: ["bench", "tiny", "--batch", "1000000000000"], status: 2, fragment: "--batch must be at most 16777216"),
            Case(kind: "bounds", args: ["bench", "tiny", "--micro-shards", "100000"], status: 2, fragment: "--micro-shards must be 1 to 4096"),
            Case(kind: "bounds", args: ["sweep", "e.yaml", "--grid", "model.hidden_size=[" + (1...200).map(String.init).joined(separator: ",") + "]",
                                        "--grid", "training.steps=[" + (1...200).map(String.init).joined(separator: ",") + "]"], status: 2,
                 fragment: "the grid makes 40000 runs"),
            // A class id of 10^9 is refused before anything is sized by it (under 2 GB of address space).
            Case(kind: "bounds", args: [#"ulimit -v 2000000; "$RECUR" train l.yaml"#], status: 2, fragment: "is more than a classifier's 65536 classes",
                 program: .shell, prepare: { dir in
                     try ("1,2,0\n3,4,1\n5,6,1000000000\n7,8,1\n").write(to: dir.appendingPathComponent("l.csv"), atomically: true, encoding: .utf8)
                     try "data: {kind: sequences, path: l.csv, seq_len: 2}\nmodel: {cell: gru, hidden_size: 4}\ntraining: {steps: 2, batch_size: 2}\n"
                         .write(to: dir.appendingPathComponent("l.yaml"), atomically: true, encoding: .utf8)
                 }),
        ]
        // 5. Special files and data text.
        c += [
            Case(kind: "files", args: e + ["--set", "data.path=fifo"], status: 2, fragment: "is a named pipe (FIFO)", prepare: mkfifo("fifo")),
            Case(kind: "files", args: ["predict", "done", "--input", "fifo"], status: 2, fragment: "is a named pipe (FIFO)",
                 prepare: { try self.withRun($0); try self.mkfifo("fifo")($0) }),
            Case(kind: "files", args: ["forecast", "done", "--input", "fifo"], status: 2, fragment: "is a named pipe (FIFO)",
                 prepare: { try self.withRun($0); try self.mkfifo("fifo")($0) }),
            Case(kind: "files", args: ["train", "fifo"], status: 2, fragment: "is a named pipe (FIFO)", prepare: mkfifo("fifo")),
            Case(kind: "files", args: ["config", "validate", "fifo"], status: 2, fragment: "is a named pipe (FIFO)", prepare: mkfifo("fifo")),
            Case(kind: "files", args: ["train", "/dev/stdin"], status: 2, fragment: "not a file"),
            Case(kind: "files", args: e + ["--set", "data.path=/dev/null"], status: 2, fragment: "is a character device"),
            Case(kind: "files", args: e + ["--set", "data.path=/dev/zero"], status: 2, fragment: "is a character device"),
            Case(kind: "files", args: ["predict", "done", "--input", "/dev/stdin"], status: 2, fragment: "not a regular file", prepare: withRun),
            Case(kind: "files", args: ["predict", "done", "--input", "."], status: 2, fragment: "this is a directory", prepare: withRun),
            Case(kind: "files", args: ["eval", "done/checkpoints/step-000004/model.safetensors"], status: 2, fragment: "is a named pipe (FIFO), not a checkpoint file",
                 prepare: { dir in
                     try self.withRun(dir)
                     try FileManager.default.removeItem(at: dir.appendingPathComponent("done/checkpoints/step-000004/model.safetensors"))
                     try self.mkfifo("done/checkpoints/step-000004/model.safetensors")(dir)
                 }),
            Case(kind: "files", args: ["plot", "done"], status: 2, fragment: "is a named pipe (FIFO), not the metrics file",
                 prepare: { dir in
                     try self.withRun(dir)
                     try FileManager.default.removeItem(at: dir.appendingPathComponent("done/metrics.jsonl"))
                     try self.mkfifo("done/metrics.jsonl")(dir)
                 }),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "holds '7\\u{0}0.25', which is not a number",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? "7\u{0}0.25" : "\($0)" }.joined(separator: "\n") + "\n")),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "holds '0x1p3', which is not a number",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? "0x1p3" : "\($0)" }.joined(separator: "\n") + "\n")),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "holds '1_000', which is not a number",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? "1_000" : "\($0)" }.joined(separator: "\n") + "\n")),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "holds '1e', which is not a number",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? "1e" : "\($0)" }.joined(separator: "\n") + "\n")),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "holds '.', which is not a number",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? "." : "\($0)" }.joined(separator: "\n") + "\n")),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "CR alone",
                 prepare: csv("value\r" + (0..<40).map { "\($0)" }.joined(separator: "\r") + "\r")),
            Case(kind: "files", args: e + ["--set", "data.path=x.csv"], status: 0, fragment: "", mayWrite: true,
                 prepare: csv("value\r\n" + (0..<160).map { "\($0 % 9).5e-1" }.joined(separator: "\r\n") + "\r\n")),
            Case(kind: "files", args: ["train", "l.yaml", "--set", "data.classes=[a, b]"], status: 2, fragment: "l.csv:1:3: error: the label '0' is not one of the classes (a, b)",
                 prepare: { dir in
                     try ("1,2,0\n3,4,0x1\n").write(to: dir.appendingPathComponent("l.csv"), atomically: true, encoding: .utf8)
                     try "data: {kind: sequences, path: l.csv, seq_len: 2}\nmodel: {cell: gru, hidden_size: 4}\ntraining: {steps: 2, batch_size: 2}\n"
                         .write(to: dir.appendingPathComponent("l.yaml"), atomically: true, encoding: .utf8)
                 }),
            // data.header: a header-less file is said to have its first row taken as the header
            // (auto), or read whole with columns named by position (false).
            Case(kind: "files", args: e + ["--set", "data.path=n.csv", "--set", "data.columns=null"], status: 0,
                 fragment: "n.csv:1: the first row (0.5) reads as numbers but was taken as the header", mayWrite: true,
                 prepare: csv((0..<160).map { "\(Double($0 % 7) + 0.5)" }.joined(separator: "\n") + "\n", "n.csv")),
            Case(kind: "files", args: e + ["--set", "data.path=n.csv", "--set", "data.header=false", "--set", "data.columns=[column1]", "--quiet"],
                 status: 0, fragment: "", mayWrite: true,
                 prepare: csv((0..<160).map { "\(Double($0 % 7) + 0.5)" }.joined(separator: "\n") + "\n", "n.csv")),
            Case(kind: "files", args: e + ["--set", "data.header=false"], status: 2, fragment: "feature column 'value' is not in the header"),
            Case(kind: "files", args: ["train", "c.yaml", "--set", "data.header=true"], status: 2, fragment: "data.header: applies to series, sequences data only"),
            Case(kind: "files", args: e + ["--set", "data.path=loop.csv"], status: 2, fragment: "loop.csv",
                 prepare: { try FileManager.default.createSymbolicLink(atPath: $0.appendingPathComponent("loop.csv").path, withDestinationPath: "loop.csv") }),
        ]
        // 6. Portable runs and data paths.
        c += [
            Case(kind: "portable", args: e + ["--set", "data.path=nope.csv"], status: 2,
                 fragment: "data.path: 'nope.csv' does not exist: a relative data.path is taken from the experiment file's directory"),
            Case(kind: "portable", args: ["train", "sub/e.yaml"], status: 2, fragment: "then from the working directory",
                 prepare: { dir in
                     try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
                     try Self.seriesYAML.replacingOccurrences(of: "s.csv", with: "gone.csv").write(to: dir.appendingPathComponent("sub/e.yaml"), atomically: true, encoding: .utf8)
                 }),
            Case(kind: "portable", args: ["eval", "done", "--data", "nope.csv"], status: 2, fragment: "--data nope.csv does not exist", prepare: withRun),
            Case(kind: "portable", args: ["eval", "done", "--data", "other.csv"], status: 2, fragment: "holds other data than the model was trained on",
                 prepare: { try self.withRun($0); try sineCSV(rows: 200).write(to: $0.appendingPathComponent("other.csv"), atomically: true, encoding: .utf8) }),
            Case(kind: "portable", args: ["train", "--resume", "done", "--data", "other.csv", "--set", "training.steps=6"], status: 2,
                 fragment: "was trained on different data",
                 prepare: { try self.withRun($0); try sineCSV(rows: 200).write(to: $0.appendingPathComponent("other.csv"), atomically: true, encoding: .utf8) }),
            Case(kind: "portable", args: e + ["--data", "s.csv"], status: 2, fragment: "--data: names where a run's data file moved, with --resume"),
            Case(kind: "portable", args: ["eval", "done", "--data", "moved.csv"], status: 0, fragment: "",
                 prepare: { try self.withRun($0); try FileManager.default.moveItem(at: $0.appendingPathComponent("s.csv"), to: $0.appendingPathComponent("moved.csv")) }),
        ]
        // 7. Keys refused where they do not apply (every schema rule: ApplicabilityRuleTests).
        c += [
            Case(kind: "rules", args: e + ["--set", "model.dropout=0.2"], status: 2, fragment: "model.dropout: applies to two or more layers"),
            Case(kind: "rules", args: e + ["--set", "model.dropout=0.2", "--set", "model.layers=2", "--quiet"], status: 0, fragment: "", mayWrite: true),
            Case(kind: "rules", args: e + ["--set", "training.early_stopping={patience: 2, metric: validation_accuracy}"], status: 2,
                 fragment: "a forecaster has no accuracy"),
            Case(kind: "rules", args: e + ["--set", "training.schedule={kind: constant, gamma: 0.5}"], status: 2, fragment: "training.schedule.gamma: applies to"),
            Case(kind: "rules", args: e + ["--set", "training.optimizer={kind: adam, momentum: 0.9}"], status: 2, fragment: "training.optimizer.momentum: applies to"),
            Case(kind: "rules", args: e + ["--set", "model.gru.reset=before"], status: 2, fragment: "model.gru.reset: applies to cell gru only"),
            Case(kind: "rules", args: e + ["--set", "model.forget_bias=true", "--set", "model.cell=gru"], status: 2, fragment: "model.forget_bias: applies to cell lstm only"),
        ]
        // 8. Messages: one line, one "error:", data quoted safely and capped, commands that fit.
        c += [
            Case(kind: "messages", args: ["forecast", "t"], status: 2, fragment: "is not a series model (it was trained on chars data); use recur sample",
                 prepare: { dir in
                     let r = try runProcess(try releaseRecurExecutable().path, ["train", "c.yaml", "--quiet", "--set", "output.dir=t"], in: dir, environment: [:], timeout: 60)
                     XCTAssertEqual(r.status, 0, r.stderr)
                 }),
            Case(kind: "messages", args: ["sample", "done"], status: 2, fragment: "use recur forecast, recur predict or recur eval", prepare: withRun),
            Case(kind: "messages", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "… (",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? String(repeating: "z", count: 100_000) : "\($0)" }.joined(separator: "\n") + "\n"),
                 check: { _, r in XCTAssertLessThan(r.stderr.utf8.count, 2000, "a 100 kB cell is not quoted whole") }),
            Case(kind: "messages", args: e + ["--set", "data.columns=[value]", "--set", "data.path=x.csv"], status: 2, fragment: "… and 4980 more columns",
                 prepare: csv((0..<5000).map { "c\($0)" }.joined(separator: ",") + "\n" + (0..<5000).map { _ in "1" }.joined(separator: ",") + "\n"),
                 check: { _, r in XCTAssertLessThan(r.stderr.utf8.count, 2000, r.stderr) }),
            Case(kind: "messages", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "\\u{1b}[31m",
                 prepare: csv("value\n" + (0..<40).map { $0 == 9 ? "\u{1b}[31mred" : "\($0)" }.joined(separator: "\n") + "\n"),
                 check: { _, r in XCTAssertFalse(r.stderr.contains("\u{1b}"), "no raw escape code from the data reaches the terminal") }),
            Case(kind: "messages", args: e + ["--set", "data.path=x.csv"], status: 2, fragment: "x.csv:3:1: error:",
                 prepare: csv("value\n1\nabc\n")),
            Case(kind: "messages", args: [#"TERM=dumb script -qec '"$RECUR" train e.yaml --set training.steps=30' /dev/null"#], status: 0, fragment: "",
                 program: .shell, mayWrite: true,
                 check: { _, r in XCTAssertFalse(r.stdout.contains("\u{1b}["), "TERM=dumb gets no escape codes: \(r.stdout.debugDescription)") }),
            // launch/train --np on a terminal: mpirun pipes the ranks, yet rank 0 draws its bar there.
            Case(kind: "messages", args: [#"script -qec 'RECUR_BIN="$RECUR" "# + Self.root.path + #"/launch/train e.yaml --np 2 --set training.steps=30' /dev/null"#],
                 status: 0, fragment: "", program: .shell, mayWrite: true,
                 check: { _, r in XCTAssert(r.stdout.contains("\u{1b}[K"), "rank 0's bar on the terminal: \(r.stdout.debugDescription)") }),
            Case(kind: "messages", args: [#"script -qec '"$RECUR" train e.yaml --set training.steps=30' /dev/null"#], status: 0, fragment: "",
                 program: .shell, mayWrite: true,
                 check: { _, r in XCTAssert(r.stdout.contains("\u{1b}[K"), "a terminal gets the bar redrawn in place") }),
        ]
        return c
    }
}
