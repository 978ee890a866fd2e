// The file formats read by a reader of their own rather than as CSV, told by the file's
// extension: the time-series archives' `.ts` and NumPy's `.npy`/`.npz`.

/// A data file format other than CSV and text.
public enum ArrayFormat: String, Sendable, CaseIterable {
    /// UEA/UCR time-series classification archive format (aeon, sktime, tsml).
    case ts
    /// One NumPy array.
    case npy
    /// A NumPy archive of named arrays (`np.savez`, `np.savez_compressed`).
    case npz

    /// The format `path`'s extension names (any case), or nil for CSV, text and directories.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        self.init(rawValue: path[path.index(after: dot)...].lowercased())
    }
}
