// Reads NumPy `.npy` arrays and `.npz` archives into labelled examples (ExampleReader.addExample).

extension ExampleReader {
    /// Reads X [N, T, F] (or [N, T]), y [N] and optional lengths [N] from a `.npz`, or X from a `.npy`.
    mutating func readNumPy(_ path: String) throws(DataError) {
        throw DataError(.invalidSetting, file: path, problem: "the NumPy reader is not built yet", fix: "convert the file to CSV")
    }
}
