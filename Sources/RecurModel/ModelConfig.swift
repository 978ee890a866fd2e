// What a model is: cell kind and variant, sizes, input encoding and head. Plain Codable values
// checked by validate() before anything is allocated; the YAML reader fills them in.
// Nothing here allocates or computes; RecurrentNetwork turns a config into a layout.

import RecurKernels

/// The recurrent cell; RecurrentCell.swift maps each kind (and GRU variant) to its cell type.
public enum CellKind: String, Codable, Sendable, CaseIterable {
    case rnn, gru, lstm
}

/// Elman RNN activation.
public enum Nonlinearity: String, Codable, Sendable, CaseIterable { case tanh, relu }

/// Where the GRU applies its reset gate (ARCHITECTURE.md §3).
public enum GRUReset: String, Codable, Sendable, CaseIterable {
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) — PyTorch, cuDNN, Keras.
    case after
    /// n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) — the original form.
    case before
}

/// How inputs enter the first layer.
public enum InputKind: String, Codable, Sendable, CaseIterable {
    /// Token ids through a learned `embedding.weight` [vocabulary, embeddingSize].
    case embedding
    /// Token ids as one-hot vectors, implemented as a row gather of W_ihᵀ.
    case oneHot = "one_hot"
    /// Real-valued feature vectors of `featureCount` values per step.
    case features
}

/// Which steps the linear head reads.
public enum HeadMode: String, Codable, Sendable, CaseIterable {
    /// A prediction at every step (language models, sequence-to-sequence forecasting).
    case everyStep = "every_step"
    /// A prediction from the last step only (sequence-to-one forecasting, classification).
    case lastStep = "last_step"
}

/// The shape of a model; everything needed to build its parameter layout.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var cell: CellKind
    public var hiddenSize: Int
    public var layers: Int
    /// Dropout probability between stacked layers (training only); 0 disables it.
    public var dropout: Float
    public var nonlinearity: Nonlinearity
    public var gruReset: GRUReset
    public var input: InputKind
    /// Vocabulary size for `embedding` and `oneHot` inputs.
    public var vocabularySize: Int
    public var embeddingSize: Int
    /// Values per step for `features` inputs.
    public var featureCount: Int
    /// Values the head produces per prediction (classes, vocabulary, or forecast values).
    public var outputSize: Int
    public var head: HeadMode
    /// Initialise the LSTM forget-gate bias (b_ih's f slice) to 1 instead of PyTorch's uniform draw.
    public var forgetBias: Bool
    /// Every layer also runs from the last step back to the first, with its own weights
    /// (PyTorch's `*_reverse` tensors); a layer's output is forward ‖ reverse.
    public var bidirectional: Bool {
        get { reverseLayers ?? false }
        set { reverseLayers = newValue ? true : nil }
    }
    /// Stored as an optional so that configs written before it existed (checkpoints) read as
    /// unidirectional, and unidirectional ones are written as before.
    private var reverseLayers: Bool?

    /// Directions per layer: 1, or 2 when bidirectional.
    public var directions: Int { bidirectional ? 2 : 1 }

    public init(cell: CellKind, hiddenSize: Int, layers: Int = 1, dropout: Float = 0,
                nonlinearity: Nonlinearity = .tanh, gruReset: GRUReset = .after,
                input: InputKind, vocabularySize: Int = 0, embeddingSize: Int = 0, featureCount: Int = 0,
                outputSize: Int, head: HeadMode = .everyStep, forgetBias: Bool = false) {
        self.cell = cell; self.hiddenSize = hiddenSize; self.layers = layers; self.dropout = dropout
        self.nonlinearity = nonlinearity; self.gruReset = gruReset; self.input = input
        self.vocabularySize = vocabularySize; self.embeddingSize = embeddingSize; self.featureCount = featureCount
        self.outputSize = outputSize; self.head = head; self.forgetBias = forgetBias
    }

    /// Width of the vectors the first recurrent layer reads.
    public var firstLayerInputSize: Int {
        switch input {
        case .embedding: embeddingSize
        case .oneHot: vocabularySize
        case .features: featureCount
        }
    }

    /// Checks every size and probability; the messages name the config key to fix.
    /// - Throws: `ModelConfigError` for the first value out of range.
    public func validate() throws {
        func fail(_ key: String, _ why: String) -> ModelConfigError { ModelConfigError(key: key, message: why) }
        if hiddenSize < 1 { throw fail("model.hidden_size", "must be at least 1, got \(hiddenSize)") }
        if layers < 1 { throw fail("model.layers", "must be at least 1, got \(layers)") }
        if !(dropout >= 0 && dropout < 1) { throw fail("model.dropout", "must be in [0, 1), got \(dropout)") }
        if outputSize < 1 { throw fail("data", "gives the model no output to predict (0 target columns, classes or tokens); check data.targets and the data file") }
        switch input {
        case .embedding:
            if vocabularySize < 1 { throw fail("data", "holds no token to embed (an empty vocabulary); check data.path and data.vocabulary") }
            if embeddingSize < 1 { throw fail("model.embedding_size", "must be at least 1 for embedding inputs, got \(embeddingSize)") }
        case .oneHot:
            if vocabularySize < 1 { throw fail("data", "holds no token to encode (an empty vocabulary); check data.path and data.vocabulary") }
        case .features:
            if featureCount < 1 { throw fail("data", "gives the model no input feature; check data.columns and the data file") }
        }
    }
}

/// A model setting out of range, with the key that holds it.
public struct ModelConfigError: UserInputError, CustomStringConvertible, Equatable {
    public let key: String
    public let message: String
    public init(key: String, message: String) { self.key = key; self.message = message }
    public var description: String { "\(key): \(message)" }
}
