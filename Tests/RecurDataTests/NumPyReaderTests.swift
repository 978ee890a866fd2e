// NumPy arrays and archives (Note [NumPy labelled sequences]): the fixtures numpy wrote (both
// byte orders, format versions 1.0–3.0, stored and deflated archives, integer, string and byte
// labels, lengths) read to hand-written values, and the messages for what is refused or broken
// (pickled objects, Fortran order, bad magic, truncated headers and data, archives that are
// damaged, zip64 or of another method, missing arrays, shapes, labels and lengths).

import XCTest
import RecurKernels
@testable import RecurData

final class NumPyReaderTests: XCTestCase {
    /// All in training, values as they are.
    func options(_ configure: (inout LabelledOptions) -> Void = { _ in }) -> LabelledOptions {
        var o = LabelledOptions(normalization: .none, splits: SplitFractions(train: 1, validation: 0))
        configure(&o)
        return o
    }

    func load(_ path: String, _ configure: (inout LabelledOptions) -> Void = { _ in }) throws -> LabelledSequences {
        try LabelledSequences.load(path: path, options: options(configure))
    }

    // MARK: NumPyArray and NumPyArchive

    func testArrays_EveryByteOrderAndVersion_ReadToTheirValues() throws {
        let f4 = try NumPyArray.read(path: fixture("x_f4.npy"))
        XCTAssertEqual(f4.descr, "<f4")
        XCTAssertEqual(f4.shape, [2, 3, 2])
        XCTAssertEqual(f4.doubles(), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5])
        let f8 = try NumPyArray.read(path: fixture("x_f8.npy"))
        let big = try NumPyArray.read(path: fixture("x_f8_be.npy"))
        XCTAssertEqual(big.descr, ">f8")
        XCTAssertTrue(big.bigEndian)
        XCTAssertEqual(f8.shape, [2, 3])
        XCTAssertEqual(f8.doubles(), [1.5, -2, 3, 4, 5.25, 6])
        XCTAssertEqual(big.doubles(), [1.5, -2, 3, 4, 5.25, 6])
        let v2 = try NumPyArray.read(path: fixture("x_i2_v2.npy"))
        XCTAssertEqual(v2.descr, "<i2")
        XCTAssertEqual(v2.doubles(), [-3, 7, 300, -32768])
        let v3 = try NumPyArray.read(path: fixture("x_u1_v3.npy"))
        XCTAssertEqual(v3.descr, "|u1")
        XCTAssertEqual(v3.doubles(), [0, 255, 1, 128])
        var part: [Double] = []
        f8.copyDoubles(2..<5, into: &part)
        XCTAssertEqual(part, [3, 4, 5.25])
    }

    func testArchives_StoredAndDeflated_NameTheirArraysInOrder() throws {
        let stored = try NumPyArchive.read(path: fixture("int_labels.npz"))
        XCTAssertEqual(stored.map(\.name), ["X", "y"])
        XCTAssertEqual(stored[1].array.descr, "<i8")
        XCTAssertEqual(stored[1].array.doubles(), [0, 1, 2, 1])
        XCTAssertNotNil(stored[1].array.dataFileOffset, "a stored member is read in place")
        let deflated = try NumPyArchive.read(path: fixture("string_labels.npz"))
        XCTAssertEqual(deflated.map(\.name), ["X", "y"])
        XCTAssertEqual(deflated[1].array.descr, "<U7")
        XCTAssertEqual(try deflated[1].array.strings(), ["walking", "sitting", "walking"])
        XCTAssertNil(deflated[1].array.dataFileOffset, "a deflated member has no place in the file")
        let bytes = try NumPyArchive.read(path: fixture("bytes_labels.npz"))
        XCTAssertEqual(try bytes[1].array.strings(), ["b", "aa", "b"])
        let single = try NumPyArchive.read(path: fixture("x_f8.npy"))
        XCTAssertEqual(single.map(\.name), ["arr_0"])
        XCTAssertEqual(single[0].array.doubles(), [1.5, -2, 3, 4, 5.25, 6])
    }

    func testDtypes_AllIntegerWidthsAndOrders_AndBool() throws {
        let dir = TempDir()
        let cases: [(String, [UInt8], [Double])] = [
            ("|i1", [0xFF, 0x7F], [-1, 127]),
            ("<i2", [0x00, 0x80, 0x01, 0x00], [-32768, 1]),
            (">i2", [0x80, 0x00, 0x00, 0x01], [-32768, 1]),
            ("<i4", NPY.le(Int32(-5)) + NPY.le(Int32(70000)), [-5, 70000]),
            (">u4", [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2], [4294967295, 2]),
            ("<u2", [0xFF, 0xFF, 2, 0], [65535, 2]),
            ("<u8", NPY.le(UInt64(1) << 40) + NPY.le(UInt64(3)), [1099511627776, 3]),
            (">i8", NPY.le(Int64(-2).bigEndian) + NPY.le(Int64(9).bigEndian), [-2, 9]),
            (">f4", NPY.le(Float(1.25).bitPattern.bigEndian) + NPY.le(Float(-3).bitPattern.bigEndian), [1.25, -3]),
            ("|b1", [1, 0], [1, 0]),
        ]
        for (descr, data, expected) in cases {
            let a = try NumPyArray.read(path: dir.write("a.npy", bytes: NPY.file(descr: descr, shape: [2], data: data)))
            XCTAssertEqual(a.doubles(), expected, descr)
        }
        let u = try NumPyArray.read(path: dir.write("u.npy", bytes: NPY.file(descr: ">U2", shape: [2],
                                                                                data: [0, 0, 0, 0x61, 0, 0, 0x01, 0xF6, 0, 0, 0, 0x62, 0, 0, 0, 0])))
        XCTAssertEqual(try u.strings(), ["a\u{1F6}", "b"])
    }

    // MARK: Labelled sequences from archives

    func testIntLabels_StoredArchive_ValuesLabelsAndShape() throws {
        let data = try load(fixture("int_labels.npz"))
        XCTAssertEqual(data.exampleCount, 4)
        XCTAssertEqual(data.steps, 3)
        XCTAssertEqual(data.featuresPerStep, 2)
        XCTAssertEqual(data.values, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75,
                                     3, 3.25, 3.5, 3.75, 4, 4.25, 4.5, 4.75, 5, 5.25, 5.5, 5.75])
        XCTAssertEqual(data.offsets, [0, 3, 6, 9, 12])
        XCTAssertEqual(data.labels, [0, 1, 2, 1])
        XCTAssertEqual(data.classCount, 3)
        XCTAssertEqual(data.classCounts, [1, 2, 1])
        XCTAssertNil(data.classNames)
        XCTAssertEqual(data.featureNames, ["f0", "f1"])
    }

    func testStringLabels_DeflatedArchive_AreNamesSorted_RankTwoIsOneFeature() throws {
        let data = try load(fixture("string_labels.npz"))
        XCTAssertEqual(data.steps, 4)
        XCTAssertEqual(data.featuresPerStep, 1)
        XCTAssertEqual(data.values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(data.classNames, ["sitting", "walking"])
        XCTAssertEqual(data.labels, [1, 0, 1])
        // data.classes fixes the order, and refuses a name outside it, naming the element.
        let given = try load(fixture("string_labels.npz")) { $0.classNames = ["walking", "sitting"] }
        XCTAssertEqual(given.labels, [0, 1, 0])
        expectDataError(.labelOutOfRange, ["string_labels.npz: error: the label 'sitting' is not one of the classes (walking, running) (y[1])"]) {
            _ = try self.load(fixture("string_labels.npz")) { $0.classNames = ["walking", "running"] }
        }
    }

    func testByteLabels_AndIntegerValues_AndTheLabelsName() throws {
        let data = try load(fixture("bytes_labels.npz"))
        XCTAssertEqual(data.values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(data.steps, 2)
        XCTAssertEqual(data.classNames, ["aa", "b"])
        XCTAssertEqual(data.labels, [1, 0, 1])
    }

    func testLengths_CutEachExample_NaNPaddingIgnored() throws {
        let data = try load(fixture("lengths.npz")) { $0.variableLength = true; $0.steps = 4 }
        XCTAssertEqual(data.steps, 4)
        XCTAssertEqual(data.offsets, [0, 3, 5, 9])
        XCTAssertEqual(data.values, [1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(data.labels, [1, 0, 1])
        XCTAssertEqual((0..<3).map { data.length(example: $0) }, [3, 2, 4])
        expectDataError(.invalidSetting, ["lengths.npz: error: the archive has an array 'lengths'", "set data.variable_length: true"]) {
            _ = try self.load(fixture("lengths.npz"))
        }
        // Lengths past seq_len: the variable-length rule of every reader.
        expectDataError(.wrongFieldCount, ["this sequence has 4 steps, more than data.seq_len (3)", "(X[2])"]) {
            _ = try self.load(fixture("lengths.npz")) { $0.variableLength = true; $0.steps = 3 }
        }
    }

    func testMissingValues_LowercaseNames_BigEndianLabels() throws {
        let filled = try load(fixture("missing_values.npz")) { $0.missing = .interpolate }
        XCTAssertEqual(filled.values, [1, 2, 3, 4, 5, 5])
        XCTAssertEqual(filled.labels, [0, 1])
        let forward = try load(fixture("missing_values.npz")) { $0.missing = .forwardFill }
        XCTAssertEqual(forward.values, [1, 1, 3, 4, 5, 5])
        expectDataError(.badCell, ["missing_values.npz: error: example 0 (x[0]) has a missing value at step 2, feature 1", "choose missing: interpolate"]) {
            _ = try self.load(fixture("missing_values.npz"))
        }
    }

    func testNpy_HoldsOnlyX_ForPredictionOnly() throws {
        let data = try load(fixture("x_f4.npy")) { $0.labelsOptional = true; $0.classCount = 2 }
        XCTAssertEqual(data.steps, 3)
        XCTAssertEqual(data.featuresPerStep, 2)
        XCTAssertEqual(data.values, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5])
        XCTAssertEqual(data.hasLabel, [false, false])
        let big = try load(fixture("x_f8_be.npy")) { $0.labelsOptional = true; $0.classCount = 2 }
        XCTAssertEqual(big.values, [1.5, -2, 3, 4, 5.25, 6])
        let error = expectDataError(.unknownColumn, ["x_f8.npy: error: a .npy file holds one array", "save X and y together: np.savez('data.npz', X=X, y=y)"]) {
            _ = try self.load(fixture("x_f8.npy"))
        }
        XCTAssertEqual(error?.file, fixture("x_f8.npy"))
    }

    // MARK: What numpy writes but this reader refuses

    func testObjectLabels_AreRefused_WithTheAstypeFix() {
        let error = expectDataError(.unreadable, ["object_labels.npz", "array 'y' has dtype object ('|O')", "np.savez(..., y=y.astype(str))"]) {
            _ = try self.load(fixture("object_labels.npz"))
        }
        XCTAssertNotNil(error?.byteOffset)
    }

    func testFortranOrder_IsRefused_WithAscontiguousarray() {
        let error = expectDataError(.unreadable, ["fortran.npy", "Fortran (column-major) order", "np.ascontiguousarray"]) {
            _ = try self.load(fixture("fortran.npy")) { $0.labelsOptional = true; $0.classCount = 1 }
        }
        XCTAssertEqual(error?.byteOffset, 10)
    }

    // MARK: Malformed .npy files

    func testBadMagic_TruncatedHeader_ShapeLargerThanData() throws {
        let dir = TempDir()
        let magic = dir.write("magic.npy", bytes: Array("NUMPYISH and more".utf8))
        let e1 = expectDataError(.unreadable, ["magic.npy", "does not start with NumPy's magic bytes"], in: dir) {
            _ = try NumPyArray.read(path: magic)
        }
        XCTAssertEqual(e1?.byteOffset, 0)
        let full = NPY.file(descr: "<f8", shape: [2], data: NPY.f8([1, 2]))
        let cut = dir.write("cut.npy", bytes: Array(full.prefix(30)))
        let e2 = expectDataError(.unreadable, ["cut.npy", "the .npy header is 118 bytes long but the file ends 20 bytes after its start", "cut short"], in: dir) {
            _ = try NumPyArray.read(path: cut)
        }
        XCTAssertEqual(e2?.byteOffset, 10)
        let short = dir.write("short.npy", bytes: NPY.file(descr: "<f8", shape: [4], data: NPY.f8([1, 2])))
        let e3 = expectDataError(.unreadable, ["short.npy", "shape (4,) of '<f8', which needs 32 bytes of data after the header, but the file holds 16"], in: dir) {
            _ = try NumPyArray.read(path: short)
        }
        XCTAssertEqual(e3?.byteOffset, 128)
        let long = dir.write("long.npy", bytes: NPY.file(descr: "<f8", shape: [1], data: NPY.f8([1, 2])))
        let e4 = expectDataError(.unreadable, ["long.npy", "holds 8 more bytes after them", "np.savez"], in: dir) {
            _ = try NumPyArray.read(path: long)
        }
        XCTAssertEqual(e4?.byteOffset, 136)
        let tiny = dir.write("tiny.npy", bytes: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 5])
        expectDataError(.unreadable, ["ends inside the .npy header's length"], in: dir) { _ = try NumPyArray.read(path: tiny) }
    }

    func testUnsupportedDtype_Version_AndHeaderSyntax_AreNamed() {
        let dir = TempDir()
        let complex = dir.write("c.npy", bytes: NPY.file(descr: "<c16", shape: [1], data: [UInt8](repeating: 0, count: 16)))
        expectDataError(.unreadable, ["c.npy", "dtype '<c16', which this reader does not read", "a.astype(np.float32)"]) {
            _ = try NumPyArray.read(path: complex)
        }
        let half = dir.write("h.npy", bytes: NPY.file(descr: "<f2", shape: [1], data: [0, 0]))
        expectDataError(.unreadable, ["dtype '<f2'"]) { _ = try NumPyArray.read(path: half) }
        let v9 = dir.write("v9.npy", bytes: NPY.file(descr: "<f8", shape: [1], data: NPY.f8([1]), version: (9, 0)))
        expectDataError(.unreadable, ["format version 9.0"]) { _ = try NumPyArray.read(path: v9) }
        let syntax = dir.write("s.npy", bytes: NPY.file(descr: "", shape: [], data: [], header: "{'descr': '<f8' 'shape': (1,)}"))
        expectDataError(.unreadable, ["s.npy", "the .npy header is not a Python dict literal: a ',' or '}' is missing"]) {
            _ = try NumPyArray.read(path: syntax)
        }
        let noShape = dir.write("n.npy", bytes: NPY.file(descr: "", shape: [], data: [], header: "{'descr': '<f8', 'fortran_order': False}"))
        expectDataError(.unreadable, ["has no 'shape' entry"]) { _ = try NumPyArray.read(path: noShape) }
        let structured = dir.write("st.npy", bytes: NPY.file(descr: "", shape: [], data: [],
                                                             header: "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (0,), }"))
        expectDataError(.unreadable, ["structured array"]) { _ = try NumPyArray.read(path: structured) }
    }

    // MARK: Archives: shapes, names, labels, lengths

    /// A stored archive of X [N, T] float64 (N = x.count / t) and the given other members.
    func archive(_ dir: TempDir, _ name: String = "d.npz", x: [Double]? = [1, 2, 3, 4, 5, 6], t: Int = 3,
                 _ others: [(String, [UInt8])] = []) -> String {
        var members: [(name: String, data: [UInt8])] = []
        if let x { members.append(("X.npy", NPY.file(descr: "<f8", shape: [x.count / t, t], data: NPY.f8(x)))) }
        members += others.map { (name: $0.0, data: $0.1) }
        return dir.write(name, bytes: NPY.zip(members))
    }

    func y8(_ labels: [Int64]) -> (String, [UInt8]) { ("y.npy", NPY.file(descr: "<i8", shape: [labels.count], data: NPY.i8(labels))) }

    func testMissingArrays_AreListed() {
        let dir = TempDir()
        let noY = archive(dir, "noy.npz", [("labels_train.npy", NPY.file(descr: "<i8", shape: [2], data: NPY.i8([0, 1])))])
        expectDataError(.unknownColumn, ["noy.npz: error: the archive has no array 'y' (or 'Y', 'labels') of class labels; it has only 'X', 'labels_train'",
                                         "np.savez('data.npz', X=X, y=y)"]) {
            _ = try self.load(noY)
        }
        let noX = archive(dir, "nox.npz", x: nil, [y8([0, 1]), ("X_train.npy", NPY.file(descr: "<f8", shape: [1, 1], data: NPY.f8([1])))])
        expectDataError(.unknownColumn, ["the archive has no array 'X' (or 'x') of sequences; it has only 'y', 'X_train'"]) {
            _ = try self.load(noX)
        }
        // Prediction: no y is fine.
        let data = try? load(noY) { $0.labelsOptional = true; $0.classCount = 2 }
        XCTAssertEqual(data?.hasLabel, [false, false])
    }

    func testShapes_RankAndCountsDisagreeing_NameTheArrays() {
        let dir = TempDir()
        let rank1 = dir.write("r1.npz", bytes: NPY.zip([("X.npy", NPY.file(descr: "<f8", shape: [3], data: NPY.f8([1, 2, 3]))), y8([0, 1, 0])]))
        expectDataError(.wrongFieldCount, ["array 'X' has shape (3,), but sequences are [N, T, F]", "X.reshape(N, T, F)"]) { _ = try self.load(rank1) }
        let count = archive(dir, "n.npz", [y8([0, 1, 0])])
        expectDataError(.wrongFieldCount, ["n.npz: error: array 'y' has 3 labels but 'X' has 2 examples"]) { _ = try self.load(count) }
        let yRank = archive(dir, "yr.npz", [("y.npy", NPY.file(descr: "<i8", shape: [2, 1], data: NPY.i8([0, 1])))])
        expectDataError(.wrongFieldCount, ["array 'y' has shape (2, 1)", "y.reshape(-1)"]) { _ = try self.load(yRank) }
        let strings = dir.write("sx.npz", bytes: NPY.zip([("X.npy", NPY.file(descr: "|S1", shape: [1, 2], data: [0x61, 0x62])), y8([0])]))
        expectDataError(.badCell, ["array 'X' has dtype '|S1' (strings), but sequences are numbers"]) { _ = try self.load(strings) }
        let features = archive(dir, "f.npz", [y8([0, 1])])
        expectDataError(.wrongFieldCount, ["example 0 (X[0]) has 1 features per step but the setting is 2"]) {
            _ = try self.load(features) { $0.features = 2 }
        }
    }

    func testLengths_OutOfRangeOrNotIntegers_NameTheElement() {
        let dir = TempDir()
        let zero = archive(dir, "z.npz", [y8([0, 1]), ("lengths.npy", NPY.file(descr: "<i8", shape: [2], data: NPY.i8([3, 0])))])
        let e = expectDataError(.badCell, ["z.npz: error: lengths[1] is 0, outside 1…3, the steps of 'X'", "from 1 to X.shape[1]"]) {
            _ = try self.load(zero) { $0.variableLength = true; $0.steps = 3 }
        }
        XCTAssertNotNil(e?.byteOffset)
        let long = archive(dir, "l.npz", [y8([0, 1]), ("lengths.npy", NPY.file(descr: "<i8", shape: [2], data: NPY.i8([4, 1])))])
        expectDataError(.badCell, ["lengths[0] is 4, outside 1…3"]) { _ = try self.load(long) { $0.variableLength = true; $0.steps = 5 } }
        let floats = archive(dir, "fl.npz", [y8([0, 1]), ("lengths.npy", NPY.file(descr: "<f8", shape: [2], data: NPY.f8([3, 1])))])
        expectDataError(.badCell, ["array 'lengths' has dtype '<f8'", "lengths.astype(np.int64)"]) { _ = try self.load(floats) { $0.variableLength = true; $0.steps = 3 } }
        let shape = archive(dir, "sh.npz", [y8([0, 1]), ("lengths.npy", NPY.file(descr: "<i8", shape: [1], data: NPY.i8([3])))])
        expectDataError(.wrongFieldCount, ["array 'lengths' has shape (1,)", "shape (2,)"]) { _ = try self.load(shape) { $0.variableLength = true; $0.steps = 3 } }
    }

    func testLabels_FloatBoolAndLarge() throws {
        let dir = TempDir()
        let whole = archive(dir, "w.npz", [("y.npy", NPY.file(descr: "<f8", shape: [2], data: NPY.f8([1, 0])))])
        XCTAssertEqual(try load(whole).labels, [1, 0])
        let half = archive(dir, "h.npz", [("y.npy", NPY.file(descr: "<f8", shape: [2], data: NPY.f8([1, 0.5])))])
        let e = expectDataError(.badCell, ["y[1] is 0.5, which is not a whole number", "y.astype(int)", "y.astype(str)"]) { _ = try self.load(half) }
        XCTAssertEqual(e?.byteOffset.map { $0 > 0 }, true)
        let bool = archive(dir, "b.npz", [("y.npy", NPY.file(descr: "|b1", shape: [2], data: [1, 0]))])
        expectDataError(.badCell, ["array 'y' has dtype bool", "y.astype(int)"]) { _ = try self.load(bool) }
        let nan = archive(dir, "nan.npz", x: [1, 2, 3, 4, 5, 6, 7, 8, 9], [("y.npy", NPY.file(descr: "<f8", shape: [3], data: NPY.f8([1, .nan, 0])))])
        let dropped = try load(nan) { $0.missing = .drop }
        XCTAssertEqual(dropped.labels, [1, 0])
        XCTAssertEqual(dropped.values, [1, 2, 3, 7, 8, 9])
        expectDataError(.badCell, ["the label is missing (y[1])"]) { _ = try self.load(nan) }
        let large = archive(dir, "lg.npz", [y8([0, 70000])])
        expectDataError(.labelOutOfRange, ["label 70000 is more than a classifier's 65536 classes (y[1])"]) { _ = try self.load(large) }
        let negative = archive(dir, "ng.npz", [y8([0, -1])])
        expectDataError(.labelOutOfRange, ["label -1 is negative (y[1])"]) { _ = try self.load(negative) }
    }

    // MARK: Broken and unsupported archives

    func testArchives_DamagedZip64MethodAndNotZip() {
        let dir = TempDir()
        let members: [(name: String, data: [UInt8])] = [("X.npy", NPY.file(descr: "<f8", shape: [1, 2], data: NPY.f8([1, 2]))), ("y.npy", NPY.file(descr: "<i8", shape: [1], data: NPY.i8([0])))]
        let crc = dir.write("crc.npz", bytes: NPY.zip(members, badCRC: true))
        let e1 = expectDataError(.unreadable, ["crc.npz", "member 'X.npy' fails its CRC-32 check"], in: dir) { _ = try NumPyArchive.read(path: crc) }
        XCTAssertEqual(e1?.byteOffset, 30 + 5)
        let zip64 = dir.write("z64.npz", bytes: NPY.zip(members, zip64: true))
        expectDataError(.unreadable, ["member 'X.npy' is stored in zip64 form", "under 4 GiB"]) { _ = try NumPyArchive.read(path: zip64) }
        let bzip = dir.write("bz.npz", bytes: NPY.zip(members, method: 12))
        expectDataError(.unreadable, ["member 'X.npy' is compressed with zip method 12", "np.savez_compressed"]) { _ = try NumPyArchive.read(path: bzip) }
        let whole = NPY.zip(members)
        let cut = dir.write("cut.npz", bytes: Array(whole.prefix(whole.count - 30)))
        expectDataError(.unreadable, ["cut.npz", "no end-of-central-directory record, so it was cut short"]) { _ = try NumPyArchive.read(path: cut) }
        let text = dir.write("text.npz", "X,y\n1,0\n")
        let e2 = expectDataError(.unreadable, ["text.npz", "neither a .npz (zip) archive nor a .npy array"]) { _ = try self.load(text) }
        XCTAssertEqual(e2?.byteOffset, 0)
        let empty = dir.write("empty.npz", bytes: [])
        expectDataError(.emptyFile, ["empty.npz"]) { _ = try self.load(empty) }
        expectDataError(.fileNotFound, ["absent.npz"]) { _ = try self.load(dir.path + "/absent.npz") }
    }

    func testDeflatedMember_Damaged_IsCaught() throws {
        let dir = TempDir()
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: fixture("string_labels.npz")).map { [UInt8]($0) })
        // The first member's deflated data starts after its local header (30 bytes, the name, the extra field).
        let data = 30 + Int(bytes[26]) + Int(bytes[27]) << 8 + Int(bytes[28]) + Int(bytes[29]) << 8
        for k in data + 4 ..< data + 12 { bytes[k] ^= 0x5A }
        let path = dir.write("bad.npz", bytes: bytes)
        let e = expectDataError(.unreadable, ["bad.npz", "member 'X.npy'"]) { _ = try NumPyArchive.read(path: path) }
        XCTAssertTrue(e.map { $0.problem.contains("cannot be inflated") || $0.problem.contains("fails its CRC-32 check") } ?? false, "\(String(describing: e))")
        XCTAssertNotNil(e?.byteOffset)
    }

    func testArchive_MemberWithBadMagic_NamesTheMemberAndItsOffset() {
        let dir = TempDir()
        let path = dir.write("m.npz", bytes: NPY.zip([("X.npy", Array("not an array".utf8))]))
        let e = expectDataError(.unreadable, ["member X.npy does not start with NumPy's magic bytes"]) { _ = try self.load(path) }
        XCTAssertEqual(e?.byteOffset, 30 + 5)
    }
}
