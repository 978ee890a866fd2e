// What is stored with a model about its data: the kind, vocabulary, normalisation statistics,
// column names, windowing and class count — enough to encode new inputs and bring predictions
// back to original units. Codable values only; readers fill it, checkpoints store it.

/// The data-side facts a trained model depends on.
public struct DataManifest: Codable, Sendable, Equatable {
    /// What kind of data the model was trained on.
    public enum Kind: String, Codable, Sendable, CaseIterable { case chars, words, series, labelled }

    /// Chars, words, series or labelled sequences.
    public var kind: Kind
    /// Token ids (chars, words).
    public var vocabulary: Vocabulary?
    /// Normalisation of every used column (series) or feature (labelled sequences).
    public var normalization: NormalizationStats?
    /// Input feature names, in input order.
    public var featureColumns: [String]
    /// Target column names, in output order (series).
    public var targetColumns: [String]
    /// How windows were cut (nil for labelled sequences).
    public var windowing: Windowing?
    /// Steps per sequence (labelled sequences).
    public var steps: Int?
    /// Number of classes (labelled sequences).
    public var classCount: Int?
    /// The classes' names in id order, when they are named (Note [Named classes]).
    public var classNames: [String]?
    /// Series with `normalize_per: series`: each series' statistics by name (Note [Many series]).
    public var seriesNormalization: [String: NormalizationStats]? = nil

    /// A manifest; readers and datasets build it (`WindowedDataset.manifest`).
    public init(kind: Kind, vocabulary: Vocabulary? = nil, normalization: NormalizationStats? = nil,
                featureColumns: [String] = [], targetColumns: [String] = [], windowing: Windowing? = nil,
                steps: Int? = nil, classCount: Int? = nil, classNames: [String]? = nil) {
        self.classNames = classNames
        self.kind = kind
        self.vocabulary = vocabulary
        self.normalization = normalization
        self.featureColumns = featureColumns
        self.targetColumns = targetColumns
        self.windowing = windowing
        self.steps = steps
        self.classCount = classCount
    }
}
