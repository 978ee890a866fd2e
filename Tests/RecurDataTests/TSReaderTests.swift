// The UEA/UCR `.ts` format (Note [The .ts format]): the fixtures (univariate with the header's
// classes, multivariate of different lengths with ? values, time stamps) read to hand-written
// values, and the messages for headers, dimensions, lengths, values and labels that are wrong.

import XCTest
import RecurKernels
@testable import RecurData

final class TSReaderTests: XCTestCase {
    /// All in training, values as they are.
    func load(_ path: String, _ configure: (inout LabelledOptions) -> Void = { _ in }) throws -> LabelledSequences {
        var o = LabelledOptions(normalization: .none, splits: SplitFractions(train: 1, validation: 0))
        configure(&o)
        return try LabelledSequences.load(path: path, options: o)
    }

    /// A `.ts` file of `header` lines, `@data` and `rows`.
    func ts(_ dir: TempDir, _ name: String = "t.ts", header: [String] = ["@univariate true", "@classLabel true a b"], _ rows: [String]) -> String {
        dir.write(name, (header + ["@data"] + rows).joined(separator: "\n") + "\n")
    }

    func testUnivariate_HeaderClassesInTheirOrder() throws {
        let data = try load(fixture("univariate_named.ts"))
        XCTAssertEqual(data.exampleCount, 4)
        XCTAssertEqual(data.steps, 4)
        XCTAssertEqual(data.featuresPerStep, 1)
        XCTAssertEqual(data.values, [1, 2, 3, 4, 4, 3, 2, 1, 2, 2, 2, 2, 1.5, 2.5, 3.5, 4.5])
        XCTAssertEqual(data.classNames, ["up", "down", "flat"], "the @classLabel order, not sorted")
        XCTAssertEqual(data.labels, [0, 1, 2, 0])
        XCTAssertEqual(data.classCounts, [2, 1, 1])
        XCTAssertEqual(data.manifest.classNames, ["up", "down", "flat"])
        // data.classes wins over the header.
        let given = try load(fixture("univariate_named.ts")) { $0.classNames = ["flat", "down", "up"] }
        XCTAssertEqual(given.classNames, ["flat", "down", "up"])
        XCTAssertEqual(given.labels, [2, 1, 0, 2])
    }

    func testMultivariate_VariableLengths_MissingFilled_StepMajor() throws {
        let data = try load(fixture("multivariate_variable.ts")) { $0.variableLength = true; $0.steps = 4; $0.missing = .interpolate }
        XCTAssertEqual(data.featuresPerStep, 2)
        XCTAssertEqual(data.steps, 4)
        XCTAssertEqual(data.offsets, [0, 3, 6, 10])
        XCTAssertEqual(data.values, [1, 10, 2, 20, 3, 30,
                                     4, 40, 5, 50, 6, 60,
                                     5, 60, 6, 60, 7, 70, 8, 80])
        XCTAssertEqual(data.classNames, ["1", "2"])
        XCTAssertEqual(data.labels, [0, 1, 0])
        XCTAssertTrue(data.hasVariableLengths)
    }

    func testMultivariate_MissingValueError_AndLengthsNeedVariableLength() {
        let path = fixture("multivariate_variable.ts")
        expectDataError(.badCell, ["multivariate_variable.ts:12:3: error: value 2 of dimension 1 (at character 3) is missing", "choose missing: interpolate"]) {
            _ = try self.load(path)
        }
        let e = expectDataError(.wrongFieldCount, ["multivariate_variable.ts:13: error: this sequence has 4 steps but the others have 3", "set data.variable_length: true"]) {
            _ = try self.load(path) { $0.missing = .interpolate }
        }
        XCTAssertEqual(e?.line, 13)
        XCTAssertEqual(e?.file, path)
    }

    func testTimeStamps_AreRefusedAtTheirLine() {
        let e = expectDataError(.unreadable, ["timestamps.ts:3: error: the series have time stamps (@timeStamps true)", "save the series without time stamps"]) {
            _ = try self.load(fixture("timestamps.ts"))
        }
        XCTAssertEqual(e?.line, 3)
        let dir = TempDir()
        let tuples = ts(dir, header: ["@classLabel true a"], ["(0,1.0),(1,2.0):a"])
        let t = expectDataError(.unreadable, ["t.ts:3:1: error: dimension 1 holds time-stamped values", "(at character 1)"], in: dir) {
            _ = try self.load(tuples)
        }
        XCTAssertEqual(t?.column, 1)
    }

    func testBadValues_NameLineCharacterAndDimension() {
        let dir = TempDir()
        let bad = ts(dir, header: ["@dimensions 2", "@classLabel true a"], ["1,2,3:4,5,6:a", "1,2,3:4,x5,6:a"])
        let e = expectDataError(.badCell, ["t.ts:5:9: error: value 2 of dimension 2 (at character 9) is 'x5', which is not a number", "write ? for a missing one"], in: dir) {
            _ = try self.load(bad)
        }
        XCTAssertEqual(e?.line, 5)
        XCTAssertEqual(e?.column, 9)
        let hex = ts(dir, "h.ts", ["0x10,2:a"])
        expectDataError(.badCell, ["h.ts:4:1:", "'0x10', which is not a number"]) { _ = try self.load(hex) }
        let inf = ts(dir, "i.ts", ["1,-inf:a"])
        expectDataError(.badCell, ["i.ts:4:3:", "'-inf', which is infinite"]) { _ = try self.load(inf) }
        // Columns count characters, not bytes.
        let wide = ts(dir, "w.ts", header: ["@classLabel true é"], ["1, 2,é:é"])
        expectDataError(.badCell, ["w.ts:3:6:", "value 3 of dimension 1 (at character 6) is 'é'"]) { _ = try self.load(wide) }
        // nan is missing, like ?.
        let nan = ts(dir, "n.ts", ["1,NaN,3:a", "1,?,,4:b"])
        XCTAssertEqual(try? load(nan) { $0.missing = .interpolate; $0.variableLength = true; $0.steps = 4 }.values, [1, 2, 3, 1, 2, 3, 4])
    }

    func testDimensions_CountAndLengthsMustAgree() {
        let dir = TempDir()
        let header = ts(dir, "d.ts", header: ["@dimensions 3", "@classLabel true a"], ["1:2:3:a", "1:2:a"])
        expectDataError(.wrongFieldCount, ["d.ts:5: error: this series has 2 dimensions but @dimensions (line 1) says 3", "separated by ':'"]) {
            _ = try self.load(header)
        }
        let uni = ts(dir, "u.ts", ["1,2:3,4:a"])
        expectDataError(.wrongFieldCount, ["u.ts:4: error: this series has 2 dimensions but @univariate true means 1"]) { _ = try self.load(uni) }
        let first = ts(dir, "f.ts", header: ["@classLabel true a"], ["1:2:a", "1:2:3:a"])
        expectDataError(.wrongFieldCount, ["f.ts:4: error: this series has 3 dimensions but the first series has 2"]) { _ = try self.load(first) }
        let lengths = ts(dir, "l.ts", header: ["@classLabel true a"], ["1,2:3,4:a", "1,2,3:4,5:a"])
        let e = expectDataError(.wrongFieldCount, ["l.ts:4:7: error: dimension 2 of this series has 2 values but dimension 1 has 3"]) { _ = try self.load(lengths) }
        XCTAssertEqual(e?.column, 7)
        let noColon = ts(dir, "c.ts", ["1,2,3"])
        expectDataError(.wrongFieldCount, ["c.ts:4: error: this series has no ':' before a class label"]) { _ = try self.load(noColon) }
    }

    func testEqualLength_AndSeriesLength_AreHeldTo() {
        let dir = TempDir()
        let equal = ts(dir, "e.ts", header: ["@equalLength true", "@classLabel true a"], ["1,2:a", "1,2,3:a"])
        expectDataError(.wrongFieldCount, ["e.ts:5: error: this series has 3 values per dimension but the one on line 4 has 2, and the header says @equalLength true"]) {
            _ = try self.load(equal) { $0.variableLength = true; $0.steps = 5 }
        }
        let length = ts(dir, "s.ts", header: ["@equalLength true", "@seriesLength 3", "@classLabel true a"], ["1,2:a"])
        expectDataError(.wrongFieldCount, ["s.ts:5: error: this series has 2 values per dimension but @seriesLength (line 2) is 3"]) { _ = try self.load(length) }
    }

    func testLabels_OutsideTheHeaderList_OrAClassWithout() {
        let dir = TempDir()
        let outside = ts(dir, "o.ts", ["1,2:a", "3,4:c"])
        let e = expectDataError(.labelOutOfRange, ["o.ts:5:5: error: the label 'c' is not one of the classes (a, b)",
                                                   "add it to the classes of the @classLabel line (line 2)"]) { _ = try self.load(outside) }
        XCTAssertEqual(e?.column, 5)
        let unused = ts(dir, "u.ts", ["1,2:a", "3,4:a"])
        expectDataError(.classWithoutExamples, ["class 'b' of the @classLabel line (line 2) has no examples", "remove it from the @classLabel line (line 2)"]) {
            _ = try self.load(unused)
        }
        let twice = ts(dir, "t2.ts", header: ["@classLabel true a b a"], ["1:a"])
        expectDataError(.badCell, ["t2.ts:1:22: error: the class 'a' is listed twice"]) { _ = try self.load(twice) }
        let missing = ts(dir, "m.ts", ["1,2:?", "3,4:b"])
        expectDataError(.badCell, ["m.ts:4:5: error: the label is missing"]) { _ = try self.load(missing) }
        expectDataError(.classWithoutExamples, ["class 'a' of the @classLabel line (line 2) has no examples"]) {
            _ = try self.load(missing) { $0.missing = .drop }
        }
    }

    func testLabels_WithoutAList_FollowTheCSVRule() throws {
        let dir = TempDir()
        let ids = ts(dir, "i.ts", header: ["@classLabel true"], ["1,2:1", "3,4:0", "5,6:1"])
        let a = try load(ids)
        XCTAssertNil(a.classNames)
        XCTAssertEqual(a.labels, [1, 0, 1])
        let names = ts(dir, "n.ts", header: ["@classLabel true"], ["1,2:walk", "3,4:run", "5,6:walk"])
        let b = try load(names)
        XCTAssertEqual(b.classNames, ["run", "walk"])
        XCTAssertEqual(b.labels, [1, 0, 1])
    }

    func testHeader_UnlabelledRegressionAndMissingLines() throws {
        let dir = TempDir()
        let unlabelled = ts(dir, "u.ts", header: ["@classLabel false"], ["1,2,3", "4,5,6"])
        expectDataError(.invalidSetting, ["u.ts:1: error: the series have no class labels (@classLabel false)", "@classLabel true name1 name2"]) {
            _ = try self.load(unlabelled)
        }
        let prediction = try load(unlabelled) { $0.labelsOptional = true; $0.classCount = 2 }
        XCTAssertEqual(prediction.hasLabel, [false, false])
        XCTAssertEqual(prediction.values, [1, 2, 3, 4, 5, 6])
        let regression = ts(dir, "r.ts", header: ["@targetLabel true"], ["1,2:0.5"])
        expectDataError(.invalidSetting, ["r.ts:1: error: the series have regression targets (@targetLabel true)"]) { _ = try self.load(regression) }
        let noData = dir.write("nd.ts", "@classLabel true a\n1,2:a\n")
        expectDataError(.unreadable, ["nd.ts:2:1: error: this line is neither a header line", "after an @data line"]) { _ = try self.load(noData) }
        let headerOnly = dir.write("ho.ts", "@problemName x\n@classLabel true a\n")
        expectDataError(.emptyFile, ["ho.ts: error: the file has no @data line"]) { _ = try self.load(headerOnly) }
        let noClassLabel = dir.write("nc.ts", "@problemName x\n@data\n1,2:a\n")
        expectDataError(.unreadable, ["nc.ts:2: error: the header has no @classLabel line before @data"]) { _ = try self.load(noClassLabel) }
        let flag = dir.write("fl.ts", "@univariate yes\n")
        expectDataError(.badCell, ["fl.ts:1:13: error: @univariate is followed by 'yes', not true or false"]) { _ = try self.load(flag) }
        let count = dir.write("ct.ts", "@dimensions 0\n")
        expectDataError(.badCell, ["ct.ts:1:13: error: @dimensions is followed by '0', not a whole number of 1 or more"]) { _ = try self.load(count) }
        let late = ts(dir, "lt.ts", ["1:a", "@dimensions 1", "2:b"])
        expectDataError(.unreadable, ["lt.ts:5:1: error: a header line comes after @data"]) { _ = try self.load(late) }
    }

    func testLayout_CaseCommentsCRLFBOMAndUnknownKeys() throws {
        let dir = TempDir()
        let text = "\u{FEFF}# comment\r\n@PROBLEMNAME Toy\r\n@SomethingNew 42 43\r\n@TimeStamps FALSE\r\n@ClassLabel TRUE b a\r\n\r\n@DATA\r\n# another\r\n 1 , 2 :a\r\n3,4: b \r\n"
        let data = try load(dir.write("x.ts", text))
        XCTAssertEqual(data.values, [1, 2, 3, 4])
        XCTAssertEqual(data.classNames, ["b", "a"])
        XCTAssertEqual(data.labels, [1, 0])
    }

    func testNotUTF8_NamesTheByte() {
        let dir = TempDir()
        let path = dir.write("bad.ts", bytes: Array("@classLabel true a\n@data\n1,2:".utf8) + [0xFF] + Array("\n".utf8))
        let e = expectDataError(.notUTF8, ["bad.ts:3:5", "not valid UTF-8"], in: dir) { _ = try self.load(path) }
        XCTAssertEqual(e?.byteOffset, 29)
    }
}
