// Gradient accumulation (training.accumulate: k): k batches of b windows make the update one
// batch of k·b makes (losses divided by the whole update's count, the same windows in the same
// order, partial last batches included), at 1×1, 1×2 and 2×1; and a run stopped between updates
// and resumed gives the bits of one that never stopped.

import Foundation
import XCTest

final class AccumulationTests: XCTestCase {
    // 50 training windows: 13 batches of 4 per epoch, the last of 2, so the last update of an
    // epoch adds one short batch, as the last batch of 12 is short.
    let yaml = """
    experiment: {name: acc, seed: 8}
    data: {kind: chars, path: text.txt, seq_len: 10, split: {train: 0.9, validation: 0.1, test: 0}}
    model: {cell: lstm, hidden_size: 12, embedding_size: 6, layers: 2, dropout: 0.1}
    training: {steps: 12, batch_size: 4, accumulate: 3, optimizer: {kind: adam, lr: 0.01}, log_every: 100, eval_every: 100}
    """

    func setUpDir(_ name: String = #function) throws -> URL {
        let dir = try temporaryDirectory(name)
        let text = String((0..<556).map { i -> Character in Array("abcdefgh ij\n")[(i * 7 + i / 3) % 12] })
        try text.write(to: dir.appendingPathComponent("text.txt"), atomically: true, encoding: .utf8)
        try yaml.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func train(_ args: [String], in dir: URL, processes: Int = 1, threads: Int = 1) throws -> [Float] {
        let recur = try recurExecutable().path
        let all = args + ["--quiet", "--threads", "\(threads)", "--parameters-out", "p.bin"]
        let r: CommandResult
        if processes == 1 {
            r = try runProcess(recur, all, in: dir, environment: [:], timeout: 120)
        } else {
            var mpi = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "tcp,self", "-np", "\(processes)"]
            if getuid() == 0 { mpi.insert("--allow-run-as-root", at: 0) }
            r = try runProcess(try mpirun(), mpi + [recur] + all, in: dir, environment: [:], timeout: 120)
        }
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: dir.appendingPathComponent("p.bin")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        let d = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
        return d / b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    func testAccumulating3BatchesOf4_EqualsBatchesOf12_AtEveryLayout() throws {
        _ = try mpirun()
        let dir = try setUpDir()
        let big = try train(["train", "e.yaml", "--set", "output.dir=big", "--set", "training.batch_size=12", "--set", "training.accumulate=1"], in: dir)
        for (p, k) in [(1, 1), (1, 2), (2, 1)] {
            let acc = try train(["train", "e.yaml", "--set", "output.dir=acc-\(p)x\(k)"], in: dir, processes: p, threads: k)
            XCTAssertEqual(acc.count, big.count)
            // 12 updates span more than two epochs, so the short last updates are included.
            XCTAssertLessThan(relativeDifference(acc, big), 1e-6, "\(p)×\(k)")
        }
        let oneUpdate = try train(["train", "e.yaml", "--set", "output.dir=one", "--set", "training.steps=1"], in: dir)
        XCTAssertGreaterThan(relativeDifference(oneUpdate, big), 1e-3, "the comparison can fail")
    }

    func testAccumulation_StoppedAndResumed_IsBitwiseTheUninterruptedRun() throws {
        let dir = try setUpDir()
        let full = try train(["train", "e.yaml", "--set", "output.dir=full"], in: dir, threads: 2)
        _ = try train(["train", "e.yaml", "--set", "output.dir=part", "--set", "training.steps=5", "--set", "training.checkpoint_every=5"],
                      in: dir, threads: 2)
        let resumed = try train(["train", "--resume", "part", "--set", "training.steps=12"], in: dir, threads: 2)
        XCTAssertEqual(resumed, full)
    }
}
