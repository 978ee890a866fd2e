// Note [Named classes]: labels that are names become classes sorted by name; data.classes fixes
// the names and their order (integer labels with gaps included) and refuses other labels; a
// first row that is data with a named label is not mistaken for a header.

import XCTest
import RecurKernels
@testable import RecurData

final class NamedClassesTests: XCTestCase {
    func rows(_ labels: [String]) -> String {
        labels.enumerated().map { e, label in "\(e),\(e + 1),\(label)" }.joined(separator: "\n") + "\n"
    }

    func load(_ text: String, _ configure: (inout LabelledOptions) -> Void = { _ in }) throws -> LabelledSequences {
        let dir = TempDir()
        var options = LabelledOptions(steps: 2, features: 1, normalization: .none, splits: SplitFractions(train: 1, validation: 0))
        configure(&options)
        return try LabelledSequences.load(path: dir.write("n.csv", text), options: options)
    }

    func testNamedLabels_AreClassesSortedByName_FirstRowIsData() throws {
        let data = try load(rows(["walking", "running", "sitting", "walking", "running"]))
        XCTAssertEqual(data.exampleCount, 5, "the first row, ending in a name, is data, not a header")
        XCTAssertEqual(data.classNames, ["running", "sitting", "walking"])
        XCTAssertEqual(data.classCount, 3)
        XCTAssertEqual(data.classCounts, [2, 1, 2])
        XCTAssertEqual(data.manifest.classNames, ["running", "sitting", "walking"])
    }

    func testWholeNumberLabels_StayIds_AndAHeaderIsStillSeen() throws {
        let data = try load("a,b,label\n" + rows(["0", "1", "2", "1"]))
        XCTAssertNil(data.classNames)
        XCTAssertEqual(data.exampleCount, 4)
        XCTAssertEqual(data.classCounts, [1, 2, 1])
    }

    func testMixedLabels_AreAllNames() throws {
        let data = try load(rows(["3", "spk1", "3", "10"]))
        XCTAssertEqual(data.classNames, ["10", "3", "spk1"])
        XCTAssertEqual(data.classCounts, [1, 2, 1])
    }

    func testGivenClasses_FixTheOrder_GapsInIntegersAreNames_OthersRefused() throws {
        let data = try load(rows(["7", "3", "7"])) { $0.classNames = ["7", "3"] }
        XCTAssertEqual(data.classNames, ["7", "3"])
        XCTAssertEqual(data.classCounts, [2, 1], "'7' is class 0 because data.classes says so")
        XCTAssertThrowsError(try load(rows(["7", "5"])) { $0.classNames = ["7", "3"] }) { error in
            XCTAssert("\(error)".contains("n.csv:2:3: error: the label '5' is not one of the classes (7, 3)"), "\(error)")
        }
        XCTAssertThrowsError(try load(rows(["7", "7"])) { $0.classNames = ["7", "3"] }) { error in
            XCTAssert("\(error)".contains("class '3' of data.classes has no examples"), "\(error)")
        }
    }

    func testGappedIntegerLabels_WithoutClasses_SayHowToName() {
        XCTAssertThrowsError(try load(rows(["1", "2", "1"]))) { error in
            XCTAssert("\(error)".contains("class 0 of the 3 classes 0…2 has no examples") && "\(error)".contains("data.classes"), "\(error)")
        }
    }
}
