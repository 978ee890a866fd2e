// Labelled sequences: the row form (8×8 digits-like rows), the directory form, class counting,
// seeded splits, filled layouts, and the messages for bad labels, shapes and cells.

import XCTest
import RecurKernels
@testable import RecurData

final class LabelledSequencesTests: XCTestCase {

    /// Rows of 64 values (example e, step t, feature f → 100·e + 8·t + f) and label e mod 3.
    func digitsLike(_ dir: TempDir, examples: Int = 6, header: Bool = false) -> String {
        var text = header ? (0..<64).map { "p\($0)" }.joined(separator: ",") + ",label\n" : ""
        for e in 0..<examples {
            text += (0..<64).map { String(100 * e + $0) }.joined(separator: ",") + ",\(e % 3)\n"
        }
        return dir.write("digits.csv", text)
    }

    func testLabelledCSV_8x8Rows_ShapesAndTimeMajorFill() throws {
        let dir = TempDir()
        let data = try LabelledSequences.load(path: digitsLike(dir), options: LabelledOptions(
            steps: 8, features: 8, normalization: .none, splits: SplitFractions(train: 1, validation: 0)))
        XCTAssertEqual(data.exampleCount, 6)
        XCTAssertEqual(data.seqLen, 8)
        XCTAssertEqual(data.featureCount, 8)
        XCTAssertEqual(data.classCount, 3)
        XCTAssertEqual(data.outputSize, 3)
        XCTAssertEqual(data.classCounts, [2, 2, 2])
        XCTAssertEqual(data.targetKind, .classLabel)
        XCTAssertEqual(data.windowCount(.train), 6)
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [4, 1], into: batch)
        let x = batch.inputFeatures!
        for t in 0..<8 {
            for f in 0..<8 {
                XCTAssertEqual(x[(t * 2 + 0) * 8 + f], Float(400 + 8 * t + f))
                XCTAssertEqual(x[(t * 2 + 1) * 8 + f], Float(100 + 8 * t + f))
            }
        }
        XCTAssertEqual(batch.targetTokens!.array, [1, 1])
    }

    func testLabelledCSV_HeaderDetectedAndStepsDerived() throws {
        let dir = TempDir()
        let data = try LabelledSequences.load(path: digitsLike(dir, header: true), options: LabelledOptions(features: 8))
        XCTAssertEqual(data.steps, 8)
        XCTAssertEqual(data.exampleCount, 6)
        // Univariate by default: T = values per row, F = 1.
        let uni = try LabelledSequences.load(path: dir.write("u.csv", "1,2,3,0\n4,5,6,1\n"), options: LabelledOptions(normalization: .none))
        XCTAssertEqual(uni.steps, 3)
        XCTAssertEqual(uni.featuresPerStep, 1)
    }

    func testLabelled_ZScorePerFeatureOnTrainingExamples() throws {
        let dir = TempDir()
        // T = 2, F = 2; training examples 0 and 1.
        let path = dir.write("n.csv", "0,10,2,10,0\n4,30,6,30,1\n100,100,100,100,0\n")
        let data = try LabelledSequences.load(path: path, options: LabelledOptions(
            steps: 2, features: 2, splits: SplitFractions(train: 0.67, validation: 0.33)))
        XCTAssertEqual(data.range(.train), 0..<2)
        XCTAssertEqual(data.normalization.shift, [3, 20])
        XCTAssertEqual(data.normalization.scale, [Double(5).squareRoot(), 10])
        XCTAssertEqual(data.values[1], -1)
    }

    func testLabelled_SplitSeed_PermutesDeterministically() throws {
        let dir = TempDir()
        let path = digitsLike(dir, examples: 30)
        let options = LabelledOptions(steps: 8, features: 8, normalization: .none, splitSeed: 7)
        let a = try LabelledSequences.load(path: path, options: options)
        let b = try LabelledSequences.load(path: path, options: options)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertEqual(a.values, b.values)
        XCTAssertNotEqual(a.values[0..<64], try LabelledSequences.load(path: path, options: LabelledOptions(steps: 8, features: 8, normalization: .none)).values[0..<64])
        // Each example keeps its label: value 100·e at step 0 belongs to class e mod 3.
        for i in 0..<30 { XCTAssertEqual(Int(a.labels[i]), (Int(a.values[i * 64]) / 100) % 3) }
    }

    func testLabelledDirectory_FilesAndLabels() throws {
        let dir = TempDir()
        dir.write("seq/a.csv", "x,y\n1,2\n3,4\n5,6\n")
        dir.write("seq/b.csv", "x,y\n7,8\n9,10\n11,12\n")
        dir.write("seq/c.csv", "x,y\n0,0\n0,0\n0,0\n")
        dir.write("seq/labels.csv", "file,label\nb.csv,1\na.csv,0\nc.csv,1\n")
        let data = try LabelledSequences.load(path: dir.path + "/seq", options: LabelledOptions(
            normalization: .none, splits: SplitFractions(train: 1, validation: 0)))
        XCTAssertEqual(data.steps, 3)
        XCTAssertEqual(data.featuresPerStep, 2)
        XCTAssertEqual(data.featureNames, ["x", "y"])
        XCTAssertEqual(data.labels, [1, 0, 1])
        XCTAssertEqual(data.classCounts, [1, 2])
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 1], into: batch)
        XCTAssertEqual(batch.inputFeatures!.array, [7, 8, 1, 2,   9, 10, 3, 4,   11, 12, 5, 6])
        XCTAssertEqual(data.manifest.featureColumns, ["x", "y"])
        XCTAssertEqual(data.manifest.classCount, 2)
    }

    func testLabelled_MissingValues_InterpolatedAlongTimeOrDropped() throws {
        let dir = TempDir()
        let path = dir.write("m.csv", "1,,3,0\n4,NA,6,1\n7,8,9,1\n,,,0\n1,1,1,0\n")
        let filled = try LabelledSequences.load(path: dir.write("m2.csv", "1,,3,0\n4,NA,6,1\n7,8,9,1\n"), options: LabelledOptions(
            normalization: .none, missing: .interpolate))
        XCTAssertEqual(filled.values, [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let dropped = try LabelledSequences.load(path: path, options: LabelledOptions(normalization: .none, missing: .drop))
        XCTAssertEqual(dropped.labels, [1, 0])
        expectDataError(.badCell, ["m.csv:4", "feature 0 has no value"]) {
            _ = try LabelledSequences.load(path: path, options: LabelledOptions(missing: .forwardFill))
        }
        expectDataError(.badCell, ["m.csv:1:2", "the value is missing"], in: dir) {
            _ = try LabelledSequences.load(path: path)
        }
    }

    func testLabelled_LabelOutOfRange_NamesLine() throws {
        let dir = TempDir()
        let path = dir.write("l.csv", "1,2,0\n3,4,1\n5,6,7\n")
        expectDataError(.labelOutOfRange, ["l.csv:3:3", "label 7 is outside the 2 classes 0…1", "correct the label"], in: dir) {
            _ = try LabelledSequences.load(path: path, options: LabelledOptions(classCount: 2))
        }
        let negative = dir.write("n.csv", "1,2,0\n3,4,-1\n")
        expectDataError(.labelOutOfRange, ["n.csv:2:3", "label -1 is negative"], in: dir) {
            _ = try LabelledSequences.load(path: negative)
        }
        // A label that is not a whole number makes the labels names (Note [Named classes]).
        let text = dir.write("t.csv", "1,2,0\n3,4,cat\n")
        XCTAssertEqual(try LabelledSequences.load(path: text, options: LabelledOptions(header: .absent)).classNames, ["0", "cat"])
    }

    func testLabelled_ClassWithNoExamples_Throws() throws {
        let dir = TempDir()
        let path = dir.write("c.csv", "1,2,0\n3,4,1\n5,6,3\n")
        expectDataError(.classWithoutExamples, ["c.csv", "class 2 of the 4 classes 0…3 has no examples"], in: dir) {
            _ = try LabelledSequences.load(path: path)
        }
    }

    func testLabelled_WrongShapes_Throw() throws {
        let dir = TempDir()
        let ragged = dir.write("r.csv", "1,2,3,4,0\n1,2,3,1\n")
        expectDataError(.wrongFieldCount, ["r.csv:2", "4 fields but rows here hold 5"], in: dir) {
            _ = try LabelledSequences.load(path: ragged)
        }
        expectDataError(.wrongFieldCount, ["r.csv:1", "not a multiple of 3"], in: dir) {
            _ = try LabelledSequences.load(path: ragged, options: LabelledOptions(features: 3))
        }
        dir.write("d/a.csv", "1,2\n3,4\n")
        dir.write("d/b.csv", "1,2\n")
        dir.write("d/labels.csv", "a.csv,0\nb.csv,1\n")
        expectDataError(.wrongFieldCount, ["b.csv", "1 steps but the others have 2", "resample or pad"], in: dir) {
            _ = try LabelledSequences.load(path: dir.path + "/d")
        }
        dir.write("e/labels.csv", "a.csv,0\nmissing.csv,1\n")
        dir.write("e/a.csv", "1\n")
        expectDataError(.fileNotFound, ["missing.csv", "named on line 2 of", "labels.csv"], in: dir) {
            _ = try LabelledSequences.load(path: dir.path + "/e")
        }
        expectDataError(.fileNotFound, ["labels.csv"], in: dir) {
            _ = try LabelledSequences.load(path: dir.path + "/d", options: LabelledOptions(labelsFile: "labels.csv.missing"))
        }
    }

    // MARK: Variable lengths

    func variable(_ extra: (inout LabelledOptions) -> Void = { _ in }) -> LabelledOptions {
        var o = LabelledOptions(steps: 4, normalization: .none, splits: SplitFractions(train: 1, validation: 0))
        o.variableLength = true
        extra(&o)
        return o
    }

    func testVariableLengths_RaggedRows_PaddedFillWithLengths() throws {
        let dir = TempDir()
        // Two features per step: rows of n·2 values, then the label.
        let path = dir.write("r.csv", "1,2,3,4,5,6,0\n7,8,1\n9,10,11,12,13,14,15,16,0\n")
        let data = try LabelledSequences.load(path: path, options: variable { $0.features = 2 })
        XCTAssertEqual(data.exampleCount, 3)
        XCTAssertEqual(data.seqLen, 4)
        XCTAssertTrue(data.hasVariableLengths)
        XCTAssertEqual((0..<3).map { data.length(example: $0) }, [3, 1, 4])
        XCTAssertEqual(data.windowLengths(.train), [3, 1, 4])
        XCTAssertEqual(data.labels, [0, 1, 0])
        let batch = BatchBuffers(for: data, capacity: 3)
        // A batch spans its longest window: 3 steps for windows 1 and 0, zeros after each length.
        XCTAssertEqual(data.batchSteps(.train, windows: [1, 0]), 3)
        data.fill(.train, windows: [1, 0], into: batch)
        XCTAssertEqual(Array(batch.inputFeatures!.array[0..<12]), [7, 8, 1, 2,   0, 0, 3, 4,   0, 0, 5, 6])
        XCTAssertEqual(Array(batch.lengths!.array[0..<2]), [1, 3])
        XCTAssertEqual(Array(batch.targetTokens!.array[0..<2]), [1, 0])
        XCTAssertEqual(data.batchSteps(.train, windows: [0, 2]), 4)
        // Fixed-length data has no lengths.
        let fixed = try LabelledSequences.load(path: dir.write("f.csv", "1,2,0\n3,4,1\n"))
        XCTAssertFalse(fixed.hasVariableLengths)
        XCTAssertNil(fixed.windowLengths(.train))
        XCTAssertNil(BatchBuffers(for: fixed, capacity: 2).lengths)
    }

    func testVariableLengths_LengthColumn_IgnoresCellsAfterTheLength() throws {
        let dir = TempDir()
        let path = dir.write("l.csv", "a0,a1,len,a2,a3,label\n1,2,2,,,1\n3,4,4,5,6,0\n7,NA,1,x,9,1\n")
        let data = try LabelledSequences.load(path: path, options: variable { $0.lengthColumn = "len" })
        XCTAssertEqual(data.featuresPerStep, 1)
        XCTAssertEqual((0..<3).map { data.length(example: $0) }, [2, 4, 1])
        XCTAssertEqual(data.values, [1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(data.labels, [1, 0, 1])
    }

    func testVariableLengths_Directory_AnyRowCount_ZScoreOverRealStepsOnly() throws {
        let dir = TempDir()
        dir.write("seq/a.csv", "x\n1\n3\n")
        dir.write("seq/b.csv", "x\n5\n")
        dir.write("seq/c.csv", "x\n1\n3\n5\n7\n")
        dir.write("seq/labels.csv", "a.csv,0\nb.csv,1\nc.csv,1\n")
        var options = variable()
        options.normalization = .zscore
        let data = try LabelledSequences.load(path: dir.path + "/seq", options: options)
        XCTAssertEqual((0..<3).map { data.length(example: $0) }, [2, 1, 4])
        // Statistics of the 7 real steps (mean 25/7), not of 12 padded ones.
        XCTAssertEqual(data.normalization.shift[0], 25.0 / 7, accuracy: 1e-9)
        XCTAssertEqual(data.manifest.steps, 4)
    }

    func testVariableLengths_SplitSeed_KeepsEachSequenceWithItsLength() throws {
        let dir = TempDir()
        // Example e has e + 1 steps of value e and label e mod 2.
        var text = ""
        for e in 0..<7 { text += Array(repeating: String(e), count: e + 1).joined(separator: ",") + ",\(e % 2)\n" }
        let path = dir.write("s.csv", text)
        let data = try LabelledSequences.load(path: path, options: variable {
            $0.steps = 7; $0.splitSeed = 3; $0.splits = SplitFractions(train: 0.6, validation: 0.2)
        })
        var seen = Set<Int>()
        for e in 0..<data.exampleCount {
            let n = data.length(example: e), v = Int(data.values[data.offsets[e]])
            XCTAssertEqual(n, v + 1)
            XCTAssertEqual(Int(data.labels[e]), v % 2)
            for r in data.offsets[e]..<data.offsets[e + 1] { XCTAssertEqual(data.values[r], Float(v)) }
            seen.insert(v)
        }
        XCTAssertEqual(seen, Set(0..<7))
        XCTAssertNotEqual((0..<7).map { data.length(example: $0) }, Array(1...7), "the seed permutes")
    }

    func testVariableLengths_BadShapes_Throw() throws {
        let dir = TempDir()
        let long = dir.write("long.csv", "1,2,0\n1,2,3,4,5,6,1\n")
        expectDataError(.wrongFieldCount, ["long.csv:2", "6 steps, more than data.seq_len (4)", "raise data.seq_len to at least 6",
                                           "set data.features if a step has several"], in: dir) {
            _ = try LabelledSequences.load(path: long, options: self.variable())
        }
        let empty = dir.write("empty.csv", "1,2,0\n1\n")
        expectDataError(.wrongFieldCount, ["empty.csv:2", "no steps"], in: dir) {
            _ = try LabelledSequences.load(path: empty, options: self.variable())
        }
        let odd = dir.write("odd.csv", "1,2,3,0\n")
        expectDataError(.wrongFieldCount, ["odd.csv:1", "3 values before the label, not a multiple of the 2 features"], in: dir) {
            _ = try LabelledSequences.load(path: odd, options: self.variable { $0.features = 2 })
        }
        let noColumn = dir.write("nocol.csv", "a,b,c,d,label\n1,2,3,4,0\n")
        expectDataError(.wrongFieldCount, ["nocol.csv:1", "no column 'len'", "a, b, c, d, label"], in: dir) {
            _ = try LabelledSequences.load(path: noColumn, options: self.variable { $0.lengthColumn = "len" })
        }
        let badLength = dir.write("badlen.csv", "len,a,b,c,d,label\n2,1,2,,,0\n2.5,1,2,3,,1\n")
        expectDataError(.badCell, ["badlen.csv:3:1", "length '2.5' is not a number of steps from 1 to data.seq_len (4)"], in: dir) {
            _ = try LabelledSequences.load(path: badLength, options: self.variable { $0.lengthColumn = "len" })
        }
        let zero = dir.write("zero.csv", "len,a,b,c,d,label\n0,1,2,3,4,0\n")
        expectDataError(.badCell, ["zero.csv:2:1", "length '0' is not a number of steps"], in: dir) {
            _ = try LabelledSequences.load(path: zero, options: self.variable { $0.lengthColumn = "len" })
        }
        let last = dir.write("last.csv", "a,b,c,d,len\n1,2,3,4,2\n")
        expectDataError(.wrongFieldCount, ["last.csv:1", "'len' is the last column"], in: dir) {
            _ = try LabelledSequences.load(path: last, options: self.variable { $0.lengthColumn = "len" })
        }
        let short = dir.write("short.csv", "len,a,b,c,d,label\n2,1,2,0\n")
        expectDataError(.wrongFieldCount, ["short.csv:2", "4 fields but rows here hold 6"], in: dir) {
            _ = try LabelledSequences.load(path: short, options: self.variable { $0.lengthColumn = "len"; $0.features = 1 })
        }
        dir.write("d/a.csv", "1\n2\n3\n4\n5\n")
        dir.write("d/labels.csv", "a.csv,0\n")
        expectDataError(.wrongFieldCount, ["a.csv", "5 steps, more than data.seq_len (4)"], in: dir) {
            _ = try LabelledSequences.load(path: dir.path + "/d", options: self.variable())
        }
        // Fixed lengths point at the setting.
        expectDataError(.wrongFieldCount, ["long.csv:2", "data.variable_length: true"], in: dir) {
            _ = try LabelledSequences.load(path: long)
        }
        expectDataError(.invalidSetting, ["data.length_column", "data.variable_length"], in: dir) {
            var o = LabelledOptions(steps: 4)
            o.lengthColumn = "len"
            _ = try LabelledSequences.load(path: long, options: o)
        }
    }

    func testVariableLengths_UnlabelledRowsForPrediction() throws {
        let dir = TempDir()
        let path = dir.write("p.csv", "1,2,3,\n4,1\n")
        var o = variable { $0.classCount = 3; $0.features = 1 }
        o.labelsOptional = true
        let data = try LabelledSequences.load(path: path, options: o)
        XCTAssertEqual(data.hasLabel, [false, true])
        XCTAssertEqual((0..<2).map { data.length(example: $0) }, [3, 1])
    }

    // MARK: A class at every step

    func testStepLabels_LongForm_RunsOfRowsAreSequences_PaddedTargetsAreMinusOne() throws {
        let dir = TempDir()
        let path = dir.write("t.csv", "id,a,tag,b\n7,1,0,10\n7,2,1,20\n7,3,1,30\n8,4,2,40\n9,5,0,50\n9,6,2,60\n")
        let data = try LabelledSequences.load(path: path, options: variable {
            $0.labelColumn = "tag"; $0.sequenceColumn = "id"; $0.steps = 3
        })
        XCTAssertEqual(data.targetKind, .stepClasses)
        XCTAssertEqual(data.targetsPerWindow, 3)
        XCTAssertEqual(data.featureNames, ["a", "b"])
        XCTAssertEqual((0..<3).map { data.length(example: $0) }, [3, 1, 2])
        XCTAssertEqual(data.stepLabels, [0, 1, 1, 2, 0, 2])
        XCTAssertEqual(data.classCount, 3)
        XCTAssertEqual(data.classCounts, [2, 2, 2])
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [2, 1], into: batch)
        // Two steps (the longer sequence's); the one-step sequence's second step is padding.
        XCTAssertEqual(Array(batch.inputFeatures!.array[0..<8]), [5, 50, 4, 40,   6, 60, 0, 0])
        XCTAssertEqual(Array(batch.targetTokens!.array[0..<4]), [0, 2,   2, -1])
        XCTAssertEqual(Array(batch.lengths!.array[0..<2]), [2, 1])
    }

    func testStepLabels_Directory_OneFilePerSequence_FixedLengths() throws {
        let dir = TempDir()
        dir.write("s/b.csv", "x,y,tag\n1,2,0\n3,4,1\n")
        dir.write("s/a.csv", "x,y,tag\n5,6,1\n7,8,1\n")
        dir.write("s/labels.csv", "not,a,sequence\n")
        dir.write("s/notes.txt", "ignored\n")
        var options = LabelledOptions(normalization: .none, splits: SplitFractions(train: 1, validation: 0))
        options.labelColumn = "tag"
        let data = try LabelledSequences.load(path: dir.path + "/s", options: options)
        XCTAssertEqual(data.steps, 2)
        XCTAssertFalse(data.hasVariableLengths)
        XCTAssertEqual(data.values, [5, 6, 7, 8, 1, 2, 3, 4], "files in name order, labels.csv left out")
        XCTAssertEqual(data.stepLabels, [1, 1, 0, 1])
        let batch = BatchBuffers(for: data, capacity: 2)
        data.fill(.train, windows: [0, 1], into: batch)
        XCTAssertEqual(batch.targetTokens!.array, [1, 0, 1, 1])
    }

    func testStepLabels_BadInputs_Throw() throws {
        let dir = TempDir()
        let noTag = dir.write("n.csv", "id,a,b\n1,1,2\n")
        expectDataError(.wrongFieldCount, ["n.csv:1", "no column 'tag' (data.label_column)", "id, a, b"], in: dir) {
            _ = try LabelledSequences.load(path: noTag, options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id" })
        }
        let noId = dir.write("i.csv", "a,tag\n1,0\n")
        expectDataError(.invalidSetting, ["needs data.sequence_column"], in: dir) {
            _ = try LabelledSequences.load(path: noId, options: self.variable { $0.labelColumn = "tag" })
        }
        let range = dir.write("r.csv", "id,a,tag\n1,1,0\n1,2,5\n")
        expectDataError(.labelOutOfRange, ["r.csv:3:3", "label 5 is outside the 3 classes"], in: dir) {
            _ = try LabelledSequences.load(path: range, options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id"; $0.classCount = 3 })
        }
        let long = dir.write("l.csv", "id,a,tag\n1,1,0\n1,2,1\n1,3,1\n1,4,0\n1,5,0\n")
        expectDataError(.wrongFieldCount, ["l.csv:2", "5 steps, more than data.seq_len (4)"], in: dir) {
            _ = try LabelledSequences.load(path: long, options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id" })
        }
        let uneven = dir.write("u.csv", "id,a,tag\n1,1,0\n1,2,1\n2,3,1\n")
        expectDataError(.wrongFieldCount, ["u.csv:4", "1 steps but the others have 2", "data.variable_length: true"], in: dir) {
            var o = LabelledOptions()
            o.labelColumn = "tag"; o.sequenceColumn = "id"
            _ = try LabelledSequences.load(path: uneven, options: o)
        }
        let apart = dir.write("a.csv", "id,a,tag\n1,1,0\n1,2,1\n2,3,1\n1,4,0\n")
        expectDataError(.badCell, ["a.csv:5:1", "sequence '1' continues here, but its rows started on line 2"], in: dir) {
            _ = try LabelledSequences.load(path: apart, options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id" })
        }
        let three = dir.write("f.csv", "id,a,b,tag\n1,1,2,0\n")
        expectDataError(.wrongFieldCount, ["f.csv:1", "2 feature columns (a, b) but data.features is 3"], in: dir) {
            _ = try LabelledSequences.load(path: three, options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id"; $0.features = 3 })
        }
        dir.write("dd/a.csv", "a,tag\n1,0\n")
        expectDataError(.invalidSetting, ["dd", "data.sequence_column names a column of one CSV, but this is a directory"], in: dir) {
            _ = try LabelledSequences.load(path: dir.path + "/dd", options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id" })
        }
        expectDataError(.invalidSetting, ["data.length_column names a column of one CSV"], in: dir) {
            _ = try LabelledSequences.load(path: dir.path + "/dd", options: self.variable { $0.lengthColumn = "n" })
        }
        let onlyTag = dir.write("o.csv", "id,tag\n1,0\n")
        expectDataError(.wrongFieldCount, ["o.csv:1", "no feature column"], in: dir) {
            _ = try LabelledSequences.load(path: onlyTag, options: self.variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id" })
        }
        expectDataError(.invalidSetting, ["data.sequence_column", "data.label_column"], in: dir) {
            _ = try LabelledSequences.load(path: onlyTag, options: self.variable { $0.sequenceColumn = "id" })
        }
    }

    func testStepLabels_NewDataWithoutTheLabelColumn_IsUnlabelled() throws {
        let dir = TempDir()
        let path = dir.write("p.csv", "id,a\n1,0.5\n1,0.7\n2,0.1\n")
        var o = variable { $0.labelColumn = "tag"; $0.sequenceColumn = "id"; $0.classCount = 3; $0.features = 1 }
        o.labelsOptional = true
        let data = try LabelledSequences.load(path: path, options: o)
        XCTAssertEqual(data.stepLabels, [-1, -1, -1])
        XCTAssertEqual((0..<2).map { data.length(example: $0) }, [2, 1])
    }
}
