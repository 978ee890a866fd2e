// How inputs enter the first layer: its input projection (pre-activations of layer 0) and,
// in backward, its input-side weight gradients (and the embedding's). Four paths, chosen once
// from the model: an embedding through its table, one-hot ids as a gather of W_ihᵀ, a few
// features in one pass, and other features through one GEMM. Layers above the first read the
// layer below and are the workspace's business.

import CKernels
import RecurKernels

/// Token ids or real-valued features for one batch, time-major.
public enum ModelInput {
    /// Token ids at [t·b + j].
    case tokens(UnsafePointer<Int32>)
    /// Feature vectors at [(t·b + j)·F + f].
    case features(UnsafePointer<Float>)
}

/// The first layer's input side for one replica.
final class InputEncoder {
    enum Path {
        /// Note [Embedding through the table].
        case embeddingTable
        /// pre[r] += W_ih[:, token_r], a gather of W_ihᵀ's rows.
        case oneHot
        /// Note [Few input features].
        case fewFeatures
        /// pre += X · W_ihᵀ and dW_ih += dGᵀ · X as GEMMs over all T·b rows.
        case features
    }

    let path: Path
    private let network: RecurrentNetwork
    /// Layer 0's tensors in the direction this encoder feeds.
    private let lo: LayerOffsets
    /// [V, G·H] one-hot: W_ih_l0ᵀ, also its gradient. Embedding: the table's projection
    /// b + E·W_ih_l0ᵀ, then Σ dG per token. A few features: [I, G·H], W_ih_l0ᵀ and then its
    /// gradient. Empty for other features.
    private let weightT: FloatBuffer

    // Note [Few input features]
    // A first layer fed by a handful of features (a time series has one or a few columns) would
    // run its input projection and dW_ih as GEMMs with K or N of 1–8, where a GEMM spends more
    // on packing T·b rows than on arithmetic. Instead the projection is one pass writing
    // pre = b + Σ_i x_i·W_ih[:, i]ᵀ, and dW_ihᵀ is summed step by step in the backward loop
    // while dG_t is still in cache, like the bias gradients.
    static let fewFeatures = 8

    /// - Parameter direction: 0 for the forward direction's W_ih_l0, 1 for the reverse one's.
    init(network: RecurrentNetwork, direction: Int = 0) {
        self.network = network
        lo = network.offsets(0, direction)
        path = Self.path(network: network, direction: direction)
        weightT = FloatBuffer(count: Self.tableCount(network: network, direction: direction))
    }

    /// The path layer 0's input takes in `direction`.
    static func path(network: RecurrentNetwork, direction: Int) -> Path {
        switch network.config.input {
        case .embedding: return .embeddingTable
        case .oneHot: return .oneHot
        case .features: return network.offsets(0, direction).inputSize <= fewFeatures ? .fewFeatures : .features
        }
    }

    /// Floats of `weightT` (what an encoder allocates; NetworkWorkspace.Sizes counts it).
    static func tableCount(network: RecurrentNetwork, direction: Int) -> Int {
        let c = network.config, GH = c.cell.gateCount * c.hiddenSize
        switch path(network: network, direction: direction) {
        case .embeddingTable, .oneHot: return c.vocabularySize * GH
        case .fewFeatures: return network.offsets(0, direction).inputSize * GH
        case .features: return 0
        }
    }

    private var GH: Int { network.config.cell.gateCount * network.config.hiddenSize }

    // MARK: Forward

    /// pre[rows, G·H] = biasRow + input projection of layer 0.
    func project(params: UnsafePointer<Float>, input: ModelInput, rows: Int, biasRow: UnsafePointer<Float>,
                 into pre: UnsafeMutablePointer<Float>) {
        let lo = self.lo, GH = self.GH
        switch (path, input) {
        case (.embeddingTable, .tokens(let tok)):
            embeddingProjection(params: params, tokens: tok, rows: rows, biasRow: biasRow, into: pre)
        case (.oneHot, .tokens(let tok)):
            Vec.broadcastRows(biasRow, nil, into: pre, rows: rows, cols: GH, ldc: GH)
            transposeWeights(params)
            let V = network.config.vocabularySize, wt = weightT.base
            for r in 0..<rows {
                let id = Int(tok[r])
                precondition(id >= 0 && id < V, "token id \(id) outside vocabulary \(V)")
                Vec.add(wt + id * GH, into: pre + r * GH, count: GH)
            }
        case (.fewFeatures, .features(let x)):
            transposeWeights(params)
            recur_small_projection(x, rows, lo.inputSize, weightT.base, biasRow, pre, GH)
        case (.features, .features(let x)):
            Vec.broadcastRows(biasRow, nil, into: pre, rows: rows, cols: GH, ldc: GH)
            BLAS.gemm(.none, .transposed, m: rows, n: GH, k: lo.inputSize, a: x, lda: lo.inputSize,
                      b: params + lo.wIH, ldb: lo.inputSize, beta: 1, c: pre, ldc: GH)
        default:
            preconditionFailure("model input does not match the model (\(path))")
        }
    }

    // Note [Embedding through the table]
    // Layer 0 of an embedding model sees only V distinct input rows, so its input projection is
    // computed once per table row, P = b + E·W_ihᵀ ([V, G·H]), and gathered: pre[r] = P[token_r]
    // (V·E·G·H multiply-adds instead of T·b·E·G·H). Backward likewise sums dG per token,
    // S[v] = Σ_{token_r = v} dG[r], and then dW_ih += Sᵀ·E and dE += S·W_ih are [V]-sized GEMMs;
    // the per-row dX = dG·W_ih and its scatter into dE are never formed.
    private func embeddingProjection(params: UnsafePointer<Float>, tokens tok: UnsafePointer<Int32>, rows: Int,
                                     biasRow: UnsafePointer<Float>, into pre: UnsafeMutablePointer<Float>) {
        let c = network.config, V = c.vocabularySize, E = c.embeddingSize, GH = self.GH
        let p = weightT.base
        Vec.broadcastRows(biasRow, nil, into: p, rows: V, cols: GH, ldc: GH)
        BLAS.gemm(.none, .transposed, m: V, n: GH, k: E, a: params + network.embedding!, lda: E,
                  b: params + lo.wIH, ldb: E, beta: 1, c: p, ldc: GH)
        for r in 0..<rows {
            let id = Int(tok[r])
            precondition(id >= 0 && id < V, "token id \(id) outside vocabulary \(V)")
            Vec.copy(p + id * GH, pre + r * GH, count: GH)
        }
    }

    /// weightT [n, G·H] = W_ih_l0ᵀ, for the n = layers[0].inputSize columns of W_ih_l0 [G·H, n].
    private func transposeWeights(_ params: UnsafePointer<Float>) {
        let n = lo.inputSize, GH = self.GH
        let w = params + lo.wIH, wt = weightT.base
        for g in 0..<GH { for i in 0..<n { wt[i * GH + g] = w[g * n + i] } }
    }

    /// dW_ih_l0 += weightTᵀ, the gradient summed in weightT's [n, G·H] layout.
    private func addTransposedGradient(_ grads: UnsafeMutablePointer<Float>) {
        let n = lo.inputSize, GH = self.GH
        let dW = grads + lo.wIH, acc = weightT.base
        for g in 0..<GH { for i in 0..<n { dW[g * n + i] += acc[i * GH + g] } }
    }

    // MARK: Backward

    /// Before layer 0's time loop: clears what `accumulateStep` sums into.
    func beginBackward() {
        if path == .fewFeatures { Vec.zero(weightT.base, count: weightT.count) }
    }

    /// After layer 0's backward step t (dG_t still in cache): dW_ihᵀ += x_tᵀ·dG_t for a few features.
    @inline(__always)
    func accumulateStep(_ t: Int, b: Int, dG: UnsafePointer<Float>, input: ModelInput) {
        guard path == .fewFeatures, case .features(let x) = input else { return }
        let I = lo.inputSize, GH = self.GH
        recur_add_weighted_column_sums(dG + t * b * GH, b, GH, GH, x + t * b * I, I, weightT.base)
    }

    /// After layer 0's time loop: dW_ih_l0 (and dE) from dG [rows, G·H]. Layer 0 has no dX.
    func finishBackward(params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>, dG: UnsafePointer<Float>,
                        input: ModelInput, rows: Int) {
        let lo = self.lo, GH = self.GH
        switch (path, input) {
        case (.fewFeatures, _):
            addTransposedGradient(grads)
        case (.embeddingTable, .tokens(let tok)):
            // dW_ih += Sᵀ·E and dE += S·W_ih with S = Σ dG per token (Note [Embedding through the table]).
            let c = network.config, V = c.vocabularySize, E = c.embeddingSize, s = weightT.base
            Vec.zero(s, count: V * GH)
            for r in 0..<rows { Vec.add(dG + r * GH, into: s + Int(tok[r]) * GH, count: GH) }
            BLAS.gemm(.transposed, .none, m: GH, n: E, k: V, a: s, lda: GH, b: params + network.embedding!, ldb: E,
                      beta: 1, c: grads + lo.wIH, ldc: E)
            BLAS.gemm(.none, .none, m: V, n: E, k: GH, a: s, lda: GH, b: params + lo.wIH, ldb: E,
                      beta: 1, c: grads + network.embedding!, ldc: E)
        case (.oneHot, .tokens(let tok)):
            // dW_ih_l0[:, token] += dG[r]: accumulated in W_ihᵀ layout, then transposed in.
            let acc = weightT.base
            Vec.zero(acc, count: weightT.count)
            for r in 0..<rows { Vec.add(dG + r * GH, into: acc + Int(tok[r]) * GH, count: GH) }
            addTransposedGradient(grads)
        case (.features, .features(let x)):
            BLAS.gemm(.transposed, .none, m: GH, n: lo.inputSize, k: rows, a: dG, lda: GH, b: x, ldb: lo.inputSize,
                      beta: 1, c: grads + lo.wIH, ldc: lo.inputSize)
        default:
            preconditionFailure("model input does not match the model (\(path))")
        }
    }
}
