// The hostile-input table's cases for the readers and settings of users' data: `.ts` and NumPy
// files, given splits, many series and the time column. Each is held to exit status 2, a message
// naming file and place (line and column, or byte offset, or the key) with a fix, and to writing
// nothing, by HostileInputTests.testHostileCases_….

import Foundation
import XCTest

extension HostileInputTests {
    /// `q.yaml`: a GRU classifier over `path` (a .ts or NumPy file), plus `text` as that file.
    func sequences(_ path: String, _ bytes: [UInt8]? = nil, extra: String = "") -> (URL) throws -> Void {
        { dir in
            try """
            experiment: {name: q}
            data: {kind: sequences, path: \(path), seq_len: 4\(extra)}
            model: {cell: gru, hidden_size: 4}
            training: {steps: 2, batch_size: 2}
            """.write(to: dir.appendingPathComponent("q.yaml"), atomically: true, encoding: .utf8)
            if let bytes { try Data(bytes).write(to: dir.appendingPathComponent(path)) }
        }
    }

    func ts(_ body: String, header: String = "@dimensions 1\n@equalLength true\n@classLabel true a b\n") -> [UInt8] {
        Array((header + "@data\n" + body).utf8)
    }

    /// One of the NumPy fixtures RecurDataTests reads (Tests/Reference/make_array_fixtures.py).
    func arrayFixture(_ name: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: Self.root.appendingPathComponent("Tests/RecurDataTests/Fixtures/\(name)").path)!)
    }

    /// A long table of two series (a, b) of 30 monthly rows each, interleaved by month.
    static let longTable: String = {
        var text = "month,store,sales\n"
        for i in 0..<30 { for s in ["a", "b"] { text += "20\(10 + i / 12)-\(i % 12 < 9 ? "0" : "")\(i % 12 + 1),\(s),\(100 + i)\n" } }
        return text
    }()

    var readerCases: [Case] {
        let q = ["train", "q.yaml"], e = ["train", "e.yaml"]
        let long = ["--set", "data.path=long.csv", "--set", "data.columns=[sales]", "--set", "data.series_column=store"]
        return [
            // .ts files: every refusal at its line (and character), with the fix.
            Case(kind: "readers", args: q, status: 2, fragment: "x.ts:1: error: the series have time stamps", prepare: sequences("x.ts", ts("1,2,3,4:a\n", header: "@timeStamps true\n@classLabel true a b\n"))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.ts:5:", prepare: sequences("x.ts", ts("1,2,abc,4:a\n"))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.ts:5:", prepare: sequences("x.ts", ts("1,2,3,4:5,6,7,8:a\n"))),
            Case(kind: "readers", args: q, status: 2, fragment: "the label 'c' is not one of the classes (a, b)", prepare: sequences("x.ts", ts("1,2,3,4:a\n1,2,3,4:c\n"))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.ts:", prepare: sequences("x.ts", Array("@classLabel true a b\n1,2,3,4:a\n".utf8))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.ts:1:", prepare: sequences("x.ts", ts("1,2,3,4:1.5\n", header: "@targetLabel true\n"))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.ts:6:", prepare: sequences("x.ts", ts("1,2,3,4:a\n1,2,3:b\n"))),
            // NumPy: arrays without labels, a cut file, pickles, lengths without the setting.
            Case(kind: "readers", args: q, status: 2, fragment: "np.savez", prepare: sequences("x.npy", arrayFixture("x_f4.npy"))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.npy", prepare: sequences("x.npy", Array(arrayFixture("x_f4.npy").prefix(70)))),
            Case(kind: "readers", args: q, status: 2, fragment: "astype(str)", prepare: sequences("x.npz", arrayFixture("object_labels.npz"))),
            Case(kind: "readers", args: q, status: 2, fragment: "data.variable_length", prepare: sequences("x.npz", arrayFixture("lengths.npz"))),
            Case(kind: "readers", args: q, status: 2, fragment: "x.npz", prepare: sequences("x.npz", Array(arrayFixture("int_labels.npz").prefix(100)))),
            // NumPy and .ts as series tables: arrays that are no table, a classification format.
            Case(kind: "readers", args: e + ["--set", "data.path=x.npz"], status: 2, fragment: "x.npz: error: array 'X' has shape (4, 3, 2), but each column of a series table is a 1-D array",
                 prepare: { dir in try Data(self.arrayFixture("int_labels.npz")).write(to: dir.appendingPathComponent("x.npz")) }),
            Case(kind: "readers", args: e + ["--set", "data.path=x.ts"], status: 2, fragment: "set data.kind: sequences",
                 prepare: csv("@classLabel true a b\n@data\n1,2:a\n", "x.ts")),
            // Given splits: a file that is not there, a fraction for a split with a file, one too short.
            Case(kind: "readers", args: e + ["--set", "data.test_path=nowhere.csv"], status: 2, fragment: "data.test_path: 'nowhere.csv' does not exist"),
            Case(kind: "readers", args: e + ["--set", "data.validation_path=s.csv", "--set", "data.split.validation=0.2"], status: 2,
                 fragment: "data.split.validation: applies to data without data.validation_path only"),
            Case(kind: "readers", args: e + ["--set", "data.test_path=x.csv"], status: 2, fragment: "x.csv: error: holds no complete window",
                 prepare: csv("value\n1\n2\n")),
            Case(kind: "readers", args: e + ["--set", "data.validation_path=x.csv"], status: 2, fragment: "x.csv:1: error: feature column 'value' is not in the header",
                 prepare: csv("other\n1\n2\n")),
            // Many series and the time column.
            Case(kind: "readers", args: e + long + ["--set", "data.series_column=shop"], status: 2, fragment: "column 'shop' is not in the header",
                 prepare: csv(Self.longTable, "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.stateful=true"], status: 2, fragment: "remove data.stateful",
                 prepare: csv(Self.longTable, "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.normalize_per=store"], status: 2, fragment: "data.normalize_per",
                 prepare: csv(Self.longTable, "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.seq_len=40"], status: 2, fragment: "no series has a window in the training split",
                 prepare: csv(Self.longTable, "long.csv")),
            Case(kind: "readers", args: e + long, status: 2, fragment: "long.csv:4:2: error: the series name",
                 prepare: csv(Self.longTable.replacingOccurrences(of: "2010-02,a,", with: "2010-02,,"), "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.time_column=month"], status: 2, fragment: "long.csv:6:1: error: the time '2010-01'",
                 prepare: csv(Self.longTable.replacingOccurrences(of: "2010-03,a,", with: "2010-01,a,"), "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.time_column=month"], status: 2, fragment: "is neither a number nor a date",
                 prepare: csv(Self.longTable.replacingOccurrences(of: "2010-03,a,", with: "March,a,"), "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.time_column=month", "--set", "data.columns=[sales, month]"], status: 2,
                 fragment: "data.columns names 'month', which is data.time_column", prepare: csv(Self.longTable, "long.csv")),
            Case(kind: "readers", args: e + long + ["--set", "data.time_column=store"], status: 2,
                 fragment: "data.series_column and data.time_column both name 'store'", prepare: csv(Self.longTable, "long.csv")),
        ]
    }
}
