// Reads NumPy `.npy` arrays and `.npz` archives into labelled examples (ExampleReader.addExample).
//
// Note [NumPy labelled sequences]
// A `.npz` holds X (or x) of shape [N, T, F], or [N, T] for one feature; y (or Y, labels) of
// shape [N]; and optionally lengths [N]: example i is then its first lengths[i] steps (1…T),
// the rest of its row being padding, which needs data.variable_length. NaN in X is a missing
// value (data.missing). Labels: integers are class ids (.number cells); strings are class names
// (.text cells, so the read switches to names, Note [Named classes]); floats must be whole
// numbers (ids) or NaN (a missing label) — a non-whole float is refused rather than made a
// name, since float targets are far more often a regression's than names; bool is refused.
// A `.npy` holds X alone: new data to predict (labelsOptional), refused otherwise.

import RecurFiles

extension ExampleReader {
    /// Reads X [N, T, F] (or [N, T]), y [N] and optional lengths [N] from a `.npz`, or X from a `.npy`.
    /// - Throws: `DataError` for a file that is not NumPy's, a missing X or y (naming the arrays
    ///   there are), a wrong rank or dtype, N differing between arrays, lengths outside 1…T, or
    ///   an example or label as `addExample` refuses them.
    mutating func readNumPy(_ path: String) throws(DataError) {
        let arrays: [(name: String, array: NumPyArray)]
        if ArrayFormat(path: path) == .npy {
            arrays = [("X", try NumPyArray.read(path: path))]
        } else {
            arrays = try NumPyArchive.read(path: path)
        }
        let single = arrays.count == 1 && arrays[0].array.member == nil
        func find(_ names: [String]) -> (name: String, array: NumPyArray)? {
            for n in names { if let a = arrays.first(where: { $0.name == n }) { return a } }
            return nil
        }
        let names = arrays.map(\.name)
        let held = names.isEmpty ? "no arrays" : "only \(listing(names))"
        if single && !options.labelsOptional {
            throw DataError(.unknownColumn, file: path,
                            problem: "a .npy file holds one array, the sequences X, but training and evaluation also need the labels y",
                            fix: "save X and y together: np.savez('data.npz', X=X, y=y)")
        }
        guard let xEntry = single ? arrays[0] : find(["X", "x"]) else {
            throw DataError(.unknownColumn, file: path, problem: "the archive has no array 'X' (or 'x') of sequences; it has \(held)",
                            fix: "save the sequences under the name X: np.savez('data.npz', X=X, y=y)")
        }
        let labelArray = single ? nil : find(["y", "Y", "labels"])
        if labelArray == nil && !single && !options.labelsOptional {
            throw DataError(.unknownColumn, file: path, problem: "the archive has no array 'y' (or 'Y', 'labels') of class labels; it has \(held)",
                            fix: "save the labels under the name y: np.savez('data.npz', X=X, y=y)")
        }
        let xName = single ? "X" : xEntry.name, x = xEntry.array
        // X
        guard x.isNumeric else {
            throw DataError(.badCell, file: path, byteOffset: x.dataFileOffset,
                            problem: "array '\(xName)' has dtype '\(x.descr)' (strings), but sequences are numbers",
                            fix: "save the values as numbers, e.g. X.astype(np.float32)")
        }
        guard x.shape.count == 2 || x.shape.count == 3 else {
            throw DataError(.wrongFieldCount, file: path,
                            problem: "array '\(xName)' has shape \(x.shapeText), but sequences are [N, T, F] (examples, steps, features) or [N, T] for one feature",
                            fix: "reshape it before saving, e.g. X.reshape(N, T, F)")
        }
        let n = x.shape[0], t = x.shape[1], f = x.shape.count == 3 ? x.shape[2] : 1
        guard t >= 1 && f >= 1 else {
            throw DataError(.wrongFieldCount, file: path,
                            problem: "array '\(xName)' has shape \(x.shapeText): an example needs at least one step and one feature",
                            fix: "save sequences of at least one step of at least one feature")
        }
        // y
        var cells: [CSVCell]? = nil
        var texts: [String] = []
        if let (yName, y) = labelArray {
            guard y.shape.count == 1 else {
                throw DataError(.wrongFieldCount, file: path,
                                problem: "array '\(yName)' has shape \(y.shapeText), but the labels are one per example, shape [N]",
                                fix: "flatten it before saving: y.reshape(-1)")
            }
            guard y.shape[0] == n else {
                throw DataError(.wrongFieldCount, file: path,
                                problem: "array '\(yName)' has \(y.shape[0]) labels but '\(xName)' has \(n) examples",
                                fix: "save one label per example: X.shape[0] == y.shape[0]")
            }
            (cells, texts) = try Self.labelCells(y, name: yName, file: path)
        }
        // lengths
        var lengths: [Int]? = nil
        if let (lName, l) = find(["lengths"]), !single {
            guard options.variableLength else {
                throw DataError(.invalidSetting, file: path,
                                problem: "the archive has an array '\(lName)' (each example's steps), but data.variable_length is not true",
                                fix: "set data.variable_length: true, and data.seq_len to at least the longest length")
            }
            guard l.element == .signed || l.element == .unsigned else {
                throw DataError(.badCell, file: path, byteOffset: l.dataFileOffset,
                                problem: "array '\(lName)' has dtype '\(l.descr)', but lengths are whole numbers of steps",
                                fix: "save them as integers: lengths.astype(np.int64)")
            }
            guard l.shape == [n] else {
                throw DataError(.wrongFieldCount, file: path,
                                problem: "array '\(lName)' has shape \(l.shapeText), but there is one length per example of '\(xName)', shape (\(n),)",
                                fix: "save one length per example")
            }
            // Exact: integers beyond 2^53 are outside 1…T anyway.
            let read = l.doubles()
            if let i = read.firstIndex(where: { !($0 >= 1 && $0 <= Double(t)) }) {
                throw DataError(.badCell, file: path, byteOffset: l.dataFileOffset.map { $0 + i * l.itemSize },
                                problem: "\(lName)[\(i)] is \(read[i] < 1e18 ? String(Int64(read[i])) : String(read[i])), outside 1…\(t), the steps of '\(xName)'",
                                fix: "give each example's number of steps, from 1 to X.shape[1]")
            }
            lengths = read.map { Int($0) }
        }
        var values: [Double] = []
        for i in 0..<n {
            let steps = lengths?[i] ?? t
            x.copyDoubles(i * t * f ..< (i * t + steps) * f, into: &values)
            let cell: CSVCell? = cells.flatMap { c in options.labelsOptional && c[i].isMissing ? nil : c[i] }
            do throws(DataError) {
                try addExample(values, features: f, label: cell, labelText: texts.isEmpty ? "" : texts[i], file: path, line: nil, column: nil,
                               place: "example \(i) (\(xName)[\(i)])")
            } catch let e where e == ExampleReader.namedLabelSeen {
                throw e
            } catch {
                var e = error
                let aboutLabel = e.kind == .labelOutOfRange || e.problem.hasPrefix("the label")
                let index = aboutLabel ? "\(labelArray?.name ?? "y")[\(i)]" : "\(xName)[\(i)]"
                if !e.problem.contains(index) { e.problem += " (\(index))" }
                throw e
            }
        }
    }

    /// The labels of `y` as cells, and as written (for names): integers and whole floats as
    /// ids, NaN and empty strings as missing, strings as names (Note [NumPy labelled sequences]).
    private static func labelCells(_ y: NumPyArray, name: String, file: String) throws(DataError) -> ([CSVCell], [String]) {
        switch y.element {
        case .bool:
            throw DataError(.badCell, file: file, byteOffset: y.dataFileOffset,
                            problem: "array '\(name)' has dtype bool, but labels are class ids or names",
                            fix: "save the classes as integers (y.astype(int)) or as names (y.astype(str))")
        case .unicode, .bytes:
            let strings = try y.strings()
            let cells = strings.map { s -> CSVCell in s.trimmingSpaces().isEmpty ? .missing : .text(s) }
            return (cells, strings)
        case .signed, .unsigned, .float:
            // Integers come through Double exactly up to 2^53, far past the most classes.
            var cells: [CSVCell] = [], texts: [String] = []
            for (i, v) in y.doubles().enumerated() {
                if v.isNaN { cells.append(.missing); texts.append(""); continue }
                guard v.isFinite, v == v.rounded() else {
                    throw DataError(.badCell, file: file, byteOffset: y.dataFileOffset.map { $0 + i * y.itemSize },
                                    problem: "\(name)[\(i)] is \(v), which is not a whole number: float labels must be class ids (a class per whole number)",
                                    fix: "save class ids as integers (y.astype(int)) or class names as strings (y.astype(str))")
                }
                cells.append(.number(v))
                texts.append(abs(v) < 1e18 ? String(Int64(v)) : "\(v)")
            }
            return (cells, texts)
        }
    }
}
