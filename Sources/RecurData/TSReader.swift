// Reads the UEA/UCR `.ts` format into labelled examples (ExampleReader.addExample).

extension ExampleReader {
    /// Reads a `.ts` file: header lines, then `@data` and one example per line.
    mutating func readTS(_ path: String) throws(DataError) {
        throw DataError(.invalidSetting, file: path, problem: "the .ts reader is not built yet", fix: "convert the file to CSV")
    }
}
