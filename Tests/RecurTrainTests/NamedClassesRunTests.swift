// Named classes through a whole run (Note [Named classes]): train on labels that are names,
// eval's confusion matrix and P/R/F1 by name, predict's columns and labels by name, a resume
// that keeps the classes' ids, and data.classes fixing the order.

import Foundation
import XCTest

final class NamedClassesRunTests: XCTestCase {
    func testNamedClasses_TrainEvalPredictResume() throws {
        let dir = try temporaryDirectory()
        let names = ["walking", "running", "sitting"]
        var rows: [String] = []
        for e in 0..<120 {
            let c = e % 3
            rows.append((0..<6).map { t in String(format: "%.4f", sin(Double(t) * Double(c + 1) * 0.6) + 0.01 * Double(e % 5)) }.joined(separator: ",") + ",\(names[c])")
        }
        try (rows.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("n.csv"), atomically: true, encoding: .utf8)
        try """
        experiment: {name: named}
        data: {kind: sequences, path: n.csv, seq_len: 6}
        model: {cell: gru, hidden_size: 12}
        training: {steps: 40, batch_size: 12, checkpoint_every: 20, optimizer: {kind: adam, lr: 0.02}}
        """.write(to: dir.appendingPathComponent("e.yaml"), atomically: true, encoding: .utf8)
        let train = try runRecur(["train", "e.yaml", "--quiet", "--threads", "1"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let eval = try runRecur(["eval", "runs/named", "--split", "train"], in: dir)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssert(eval.stdout.contains(" running sitting walking"), "confusion matrix columns by name: \(eval.stdout)")
        XCTAssert(eval.stdout.contains("\nwalking "), "P/R/F1 rows by name: \(eval.stdout)")
        let json = try runRecur(["eval", "runs/named", "--json"], in: dir)
        XCTAssert(json.stdout.contains("\"class_names\""), json.stdout)
        let predict = try runRecur(["predict", "runs/named", "--input", "n.csv"], in: dir)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let lines = predict.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "example,predicted,p_running,p_sitting,p_walking,label")
        XCTAssertEqual(lines.count, 121, "every row is an example: the first, ending in a name, is no header")
        XCTAssert(lines[1].hasSuffix(",walking"), String(lines[1]))
        XCTAssert(predict.stderr.contains("accuracy"), predict.stderr)
        // A resume maps labels through the stored names: same ids, same bits as a straight run.
        let resumed = try runRecur(["train", "--resume", "runs/named", "--set", "training.steps=50", "--quiet", "--threads", "1",
                                    "--parameters-out", "resumed.bin"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let straight = try runRecur(["train", "e.yaml", "--set", "training.steps=50", "--set", "output.dir=straight", "--quiet",
                                     "--threads", "1", "--parameters-out", "straight.bin"], in: dir)
        XCTAssertEqual(straight.status, 0, straight.stderr)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("resumed.bin")), try Data(contentsOf: dir.appendingPathComponent("straight.bin")))
        // An unknown class in new data is refused, naming the model's classes.
        try "0.1,0.2,0.3,0.4,0.5,0.6,jumping\n".write(to: dir.appendingPathComponent("new.csv"), atomically: true, encoding: .utf8)
        let unknown = try runRecur(["predict", "runs/named", "--input", "new.csv"], in: dir)
        XCTAssertEqual(unknown.status, 2)
        XCTAssert(unknown.stderr.contains("the label 'jumping' is not one of the classes (running, sitting, walking)"), unknown.stderr)
        // data.classes fixes the order.
        let ordered = try runRecur(["train", "e.yaml", "--set", "data.classes=[walking, running, sitting]", "--set", "output.dir=ordered",
                                    "--set", "training.steps=2", "--quiet"], in: dir)
        XCTAssertEqual(ordered.status, 0, ordered.stderr)
        let header = try runRecur(["predict", "ordered", "--input", "n.csv"], in: dir).stdout.split(separator: "\n").first
        XCTAssertEqual(header, "example,predicted,p_walking,p_running,p_sitting,label")
    }
}
