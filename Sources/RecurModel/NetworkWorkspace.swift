// One replica's activations and scratch for a RecurrentNetwork, allocated once for a maximum
// batch and sequence length, and the forward and backward passes over them (ARCHITECTURE.md §4):
// per layer one input-projection GEMM over all T·b rows, per step one recurrent GEMM and a
// fused elementwise pass; after the time loop the weight gradients as GEMMs over all rows.
// It allocates nothing after init and never touches parameters except through given pointers.

import CKernels
import RecurKernels

/// Token ids or real-valued features for one batch, time-major.
public enum ModelInput {
    /// Token ids at [t·b + j].
    case tokens(UnsafePointer<Int32>)
    /// Feature vectors at [(t·b + j)·F + f].
    case features(UnsafePointer<Float>)
}

/// Initial hidden (and LSTM cell) state, [L, b, H] each.
public struct InitialState {
    public var hidden: UnsafePointer<Float>
    public var cell: UnsafePointer<Float>?
    public init(hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>?) {
        self.hidden = hidden; self.cell = cell
    }
}

/// Where dropout masks come from: masks depend on (seed, global sequence index, layer) only,
/// so they are the same whichever replica runs a sequence (ARCHITECTURE.md §6).
public struct DropoutSource {
    public var seed: UInt64
    /// Global index of this batch's first sequence.
    public var firstSequence: Int
    public init(seed: UInt64, firstSequence: Int) { self.seed = seed; self.firstSequence = firstSequence }
}

/// Sums a loss produced over one batch, before any reduction across replicas.
public struct LossSums: Sendable, Equatable {
    /// Σ over targets of the per-target loss (not divided by anything).
    public var loss: Double
    /// Predictions whose arg-max equals the target (cross-entropy only).
    public var correct: Int
    /// Targets counted.
    public var count: Int
    public init(loss: Double = 0, correct: Int = 0, count: Int = 0) {
        self.loss = loss; self.correct = correct; self.count = count
    }
}

/// A replica's buffers and passes. Not thread-safe: one workspace per thread.
public final class NetworkWorkspace: @unchecked Sendable {
    public let network: RecurrentNetwork
    public let maxBatch: Int
    public let maxSteps: Int

    // Per layer: stored activations.
    private let hs: [FloatBuffer]          // [(T+1)·B, H]
    private let cs: [FloatBuffer]          // [(T+1)·B, H] (LSTM)
    private let gates: [FloatBuffer]       // [T·B, G·H]
    private let extra: [FloatBuffer]       // [T·B, H]
    private let dropped: [FloatBuffer]     // [T·B, H] input of layer l > 0 after dropout
    private let masks: [FloatBuffer]       // [T·B, H]
    // Shared scratch.
    /// [V, G·H] one-hot: W_ih_l0ᵀ, also its gradient. Embedding: the table's projection
    /// b + E·W_ih_l0ᵀ (Note [Embedding through the table]), then Σ dG per token. A few
    /// features: [I, G·H], W_ih_l0ᵀ and then its gradient (Note [Few input features]).
    private let weightT: FloatBuffer
    private let dG: FloatBuffer, dHG: FloatBuffer, tmp: FloatBuffer, biasRow: FloatBuffer
    private let dhNext: FloatBuffer, dcNext: FloatBuffer
    private let sumX: FloatBuffer, sumH: FloatBuffer   // [G·H] column sums of dG, dHG
    private let dYa: FloatBuffer, dYb: FloatBuffer
    /// Head outputs: [T·B, O] (every step) or [B, O] (last step), and their gradient.
    public let outputs: FloatBuffer
    public let dOutputs: FloatBuffer
    private let finalH: FloatBuffer, finalC: FloatBuffer   // [L, B, H]
    /// W_hh of the layer in progress, packed once per pass for the per-step GEMMs (empty when
    /// recur_gemm_packed is unavailable).
    private let packedW: FloatBuffer

    // What the last forward saw (backward replays it).
    private var b = 0, T = 0
    private var input: ModelInput?
    private var dropoutActive = false

    public init(network: RecurrentNetwork, maxBatch: Int, maxSteps: Int) {
        precondition(maxBatch > 0 && maxSteps > 0, "workspace needs a positive batch and length")
        self.network = network
        self.maxBatch = maxBatch
        self.maxSteps = maxSteps
        let c = network.config, H = c.hiddenSize, G = c.cell.gateCount, L = c.layers
        let rows = maxBatch * maxSteps
        hs = (0..<L).map { _ in FloatBuffer(count: (maxSteps + 1) * maxBatch * H) }
        cs = (0..<L).map { _ in FloatBuffer(count: c.cell == .lstm ? (maxSteps + 1) * maxBatch * H : 0) }
        gates = (0..<L).map { _ in FloatBuffer(count: rows * G * H) }
        extra = (0..<L).map { _ in FloatBuffer(count: c.cell == .rnn ? 0 : rows * H) }
        let useDropout = c.dropout > 0
        dropped = (0..<L).map { l in FloatBuffer(count: l > 0 && useDropout ? rows * H : 0) }
        masks = (0..<L).map { l in FloatBuffer(count: l > 0 && useDropout ? rows * H : 0) }
        weightT = FloatBuffer(count: c.input == .oneHot || c.input == .embedding ? c.vocabularySize * G * H
                                     : Self.usesFewFeatures(network) ? network.layers[0].inputSize * G * H : 0)
        dG = FloatBuffer(count: rows * G * H)
        dHG = FloatBuffer(count: c.cell == .gru && c.gruReset == .after ? rows * G * H : 0)
        tmp = FloatBuffer(count: maxBatch * G * H)
        biasRow = FloatBuffer(count: G * H)
        dhNext = FloatBuffer(count: maxBatch * H)
        dcNext = FloatBuffer(count: maxBatch * H)
        sumX = FloatBuffer(count: G * H)
        sumH = FloatBuffer(count: G * H)
        dYa = FloatBuffer(count: rows * H)
        dYb = FloatBuffer(count: rows * H)
        let outRows = c.head == .everyStep ? rows : maxBatch
        outputs = FloatBuffer(count: outRows * c.outputSize)
        dOutputs = FloatBuffer(count: outRows * c.outputSize)
        finalH = FloatBuffer(count: L * maxBatch * H)
        finalC = FloatBuffer(count: c.cell == .lstm ? L * maxBatch * H : 0)
        // GRU reset-before packs its (r, z) and n blocks of W_hh apart (two GEMMs per step).
        let split = max(recur_packed_size(H, 2 * H), recur_packed_size(2 * H, H)) + recur_packed_size(H, H)
        let whole = max(recur_packed_size(H, G * H), recur_packed_size(G * H, H))
        let resetBefore = c.cell == .gru && c.gruReset == .before
        packedW = FloatBuffer(count: recur_packed_gemm_available() != 0 ? (resetBefore ? max(whole, split) : whole) : 0)
    }

    /// The head's GEMMs use the packed kernel too when W_head fits packedW (the recurrent
    /// passes repack it before their own use).
    private var headPacks: Bool {
        let c = network.config, H = c.hiddenSize, O = c.outputSize
        return packedW.count > 0 && packedW.count >= max(recur_packed_size(H, O), recur_packed_size(O, H))
    }

    // Note [Few input features]
    // A first layer fed by a handful of features (a time series has one or a few columns) would
    // run its input projection and dW_ih as GEMMs with K or N of 1–8, where OpenBLAS spends more
    // on packing T·b rows than on arithmetic. Instead the projection is one pass writing
    // pre = b + Σ_i x_i·W_ih[:, i]ᵀ, and dW_ihᵀ is summed step by step in the backward loop
    // while dG_t is still in cache, like the bias gradients.
    static let fewFeatures = 8

    static func usesFewFeatures(_ network: RecurrentNetwork) -> Bool {
        network.config.input == .features && network.layers[0].inputSize <= fewFeatures
    }
    private var usesFewFeatures: Bool { Self.usesFewFeatures(network) }

    /// weightT [n, G·H] = W_ih_l0ᵀ, for the n = layers[0].inputSize columns of W_ih_l0 [G·H, n].
    private func transposeFirstInputWeights(_ params: UnsafePointer<Float>) {
        let lo = network.layers[0], n = lo.inputSize, GH = network.config.cell.gateCount * network.config.hiddenSize
        let w = params + lo.wIH, wt = weightT.base
        for g in 0..<GH { for i in 0..<n { wt[i * GH + g] = w[g * n + i] } }
    }

    /// dW_ih_l0 += weightTᵀ, the gradient summed in weightT's [n, G·H] layout.
    private func addTransposedFirstInputGradient(_ grads: UnsafeMutablePointer<Float>) {
        let lo = network.layers[0], n = lo.inputSize, GH = network.config.cell.gateCount * network.config.hiddenSize
        let dW = grads + lo.wIH, acc = weightT.base
        for g in 0..<GH { for i in 0..<n { dW[g * n + i] += acc[i * GH + g] } }
    }

    /// Rows of `outputs` after the last forward: T·b (every step) or b (last step).
    public var outputRows: Int { network.config.head == .everyStep ? T * b : b }

    /// Final hidden state of the last forward, [L, b, H] (row stride b·H per layer).
    public var finalHidden: UnsafePointer<Float> { UnsafePointer(finalH.base) }
    /// Final LSTM cell state of the last forward, [L, b, H]; nil for other cells.
    public var finalCell: UnsafePointer<Float>? { network.config.cell == .lstm ? UnsafePointer(finalC.base) : nil }

    /// Layer l's views; packs its W_hh for the forward (W_hhᵀ) or backward (W_hh) GEMMs first
    /// when the packed GEMM is in use.
    private func state(_ l: Int, dOut: UnsafePointer<Float>, params: UnsafePointer<Float>, backward: Bool) -> LayerState {
        let c = network.config, lo = network.layers[l], H = c.hiddenSize, GH = c.cell.gateCount * H
        var packed: UnsafePointer<Float>? = nil, packedN: UnsafePointer<Float>? = nil
        if packedW.count > 0 {
            let w = params + lo.wHH, p = packedW.base
            if c.cell == .gru && c.gruReset == .before {
                // (r, z) block [2H, H] and n block [H, H], each packed for its own GEMM.
                let nOffset = backward ? recur_packed_size(2 * H, H) : recur_packed_size(H, 2 * H)
                if backward {
                    recur_pack(w, 2 * H, H, H, p)
                    recur_pack(w + 2 * H * H, H, H, H, p + nOffset)
                } else {
                    recur_pack_transposed(w, 2 * H, H, H, p)
                    recur_pack_transposed(w + 2 * H * H, H, H, H, p + nOffset)
                }
                packedN = UnsafePointer(p + nOffset)
            } else if backward {
                recur_pack(w, GH, H, H, p)
            } else {
                recur_pack_transposed(w, GH, H, H, p)
            }
            packed = UnsafePointer(p)
        }
        return LayerState(b: b, T: T, H: H, wHH: params + lo.wHH, bHH: params + lo.bHH,
                          hs: hs[l].base, cs: cs[l].base, gates: gates[l].base, extra: extra[l].base,
                          dG: dG.base, dHG: dHG.base, tmp: tmp.base, dOut: dOut,
                          dhNext: dhNext.base, dcNext: dcNext.base, relu: c.nonlinearity == .relu,
                          packedW: packed, packedN: packedN, sumX: sumX.base, sumH: sumH.base)
    }

    /// Input rows layer `l` reads: [T·b, inputSize] (nil for token layer 0, one-hot or embedding).
    private func layerInput(_ l: Int) -> UnsafePointer<Float>? {
        if l > 0 {
            let H = network.config.hiddenSize
            return UnsafePointer(dropoutActive ? dropped[l].base : hs[l - 1].base + b * H)
        }
        switch input! {
        case .tokens: return nil
        case .features(let x): return x
        }
    }

    // MARK: Forward

    /// Runs the network over `batch` sequences of `steps` steps and fills `outputs`.
    /// - Parameters:
    ///   - parameters: the flat parameter buffer (layout of `network.layout`).
    ///   - initialState: h_0 (and c_0) per layer, or nil for zeros.
    ///   - dropout: mask source when training with dropout; nil turns dropout off (evaluation).
    public func forward(parameters params: UnsafePointer<Float>, input: ModelInput, batch: Int, steps: Int,
                        initialState: InitialState? = nil, dropout: DropoutSource? = nil) {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        precondition(steps >= 1 && steps <= maxSteps, "steps \(steps) outside 1...\(maxSteps)")
        let c = network.config, H = c.hiddenSize, G = c.cell.gateCount
        b = batch; T = steps
        self.input = input
        dropoutActive = dropout != nil && c.dropout > 0 && c.layers > 1
        let rows = T * b

        for l in 0..<c.layers {
            let lo = network.layers[l]
            if l > 0 && dropoutActive { applyDropout(layer: l, source: dropout!) }
            // gates[T·b, G·H] = bias + X · W_ihᵀ
            let pre = gates[l].base, GH = G * H
            projectionBias(l, params: params)
            if l == 0 && c.input == .embedding {
                embeddingProjection(params: params, into: pre)
            } else if l == 0 && usesFewFeatures, let x = layerInput(0) {
                transposeFirstInputWeights(params)
                recur_small_projection(x, rows, lo.inputSize, weightT.base, biasRow.base, pre, GH)
            } else {
                Vec.broadcastRows(biasRow.base, nil, into: pre, rows: rows, cols: GH, ldc: GH)
                if let x = layerInput(l) {
                    BLAS.gemm(.none, .transposed, m: rows, n: GH, k: lo.inputSize, a: x, lda: lo.inputSize,
                              b: params + lo.wIH, ldb: lo.inputSize, beta: 1, c: pre, ldc: GH)
                } else {
                    oneHotProjection(params: params, into: pre)
                }
            }
            // Initial state into block 0.
            let h0 = hs[l].base
            if let s = initialState {
                Vec.copy(s.hidden + l * b * H, h0, count: b * H)
                if c.cell == .lstm {
                    if let cell = s.cell { Vec.copy(cell + l * b * H, cs[l].base, count: b * H) }
                    else { Vec.zero(cs[l].base, count: b * H) }
                }
            } else {
                Vec.zero(h0, count: b * H)
                if c.cell == .lstm { Vec.zero(cs[l].base, count: b * H) }
            }
            let s = state(l, dOut: dYa.base, params: params, backward: false)
            switch (c.cell, c.gruReset) {
            case (.rnn, _): for t in 0..<T { ElmanCell.forwardStep(s, t: t) }
            case (.lstm, _): for t in 0..<T { LSTMCell.forwardStep(s, t: t) }
            case (.gru, .after): for t in 0..<T { GRUResetAfterCell.forwardStep(s, t: t) }
            case (.gru, .before): for t in 0..<T { GRUResetBeforeCell.forwardStep(s, t: t) }
            }
            Vec.copy(hs[l].base + T * b * H, finalH.base + l * b * H, count: b * H)
            if c.cell == .lstm { Vec.copy(cs[l].base + T * b * H, finalC.base + l * b * H, count: b * H) }
        }

        // Head: outputs = Y · W_headᵀ + b_head
        let O = c.outputSize, top = hs[c.layers - 1].base
        let y = c.head == .everyStep ? top + b * H : top + T * b * H
        let outRows = outputRows
        Vec.broadcastRows(params + network.headBias, nil, into: outputs.base, rows: outRows, cols: O, ldc: O)
        if headPacks {
            recur_pack_transposed(params + network.headWeight, O, H, H, packedW.base)
            recur_gemm_packed(outRows, O, H, y, H, packedW.base, outputs.base, O, 1)
        } else {
            BLAS.gemm(.none, .transposed, m: outRows, n: O, k: H, a: y, lda: H, b: params + network.headWeight, ldb: H,
                      beta: 1, c: outputs.base, ldc: O)
        }
    }

    private func projectionBias(_ l: Int, params: UnsafePointer<Float>) {
        let c = network.config, lo = network.layers[l], H = c.hiddenSize
        let bIH = params + lo.bIH, bHH = params + lo.bHH
        switch (c.cell, c.gruReset) {
        case (.rnn, _): ElmanCell.projectionBias(bIH: bIH, bHH: bHH, H: H, into: biasRow.base)
        case (.lstm, _): LSTMCell.projectionBias(bIH: bIH, bHH: bHH, H: H, into: biasRow.base)
        case (.gru, .after): GRUResetAfterCell.projectionBias(bIH: bIH, bHH: bHH, H: H, into: biasRow.base)
        case (.gru, .before): GRUResetBeforeCell.projectionBias(bIH: bIH, bHH: bHH, H: H, into: biasRow.base)
        }
    }

    // Note [Embedding through the table]
    // Layer 0 of an embedding model sees only V distinct input rows, so its input projection is
    // computed once per table row, P = b + E·W_ihᵀ ([V, G·H]), and gathered: pre[r] = P[token_r]
    // (V·E·G·H multiply-adds instead of T·b·E·G·H). Backward likewise sums dG per token,
    // S[v] = Σ_{token_r = v} dG[r], and then dW_ih += Sᵀ·E and dE += S·W_ih are [V]-sized GEMMs;
    // the per-row dX = dG·W_ih and its scatter into dE are never formed.

    /// Embedding layer 0: pre[r] = P[token_r] (Note [Embedding through the table]); biasRow holds b.
    private func embeddingProjection(params: UnsafePointer<Float>, into pre: UnsafeMutablePointer<Float>) {
        guard case .tokens(let tok) = input! else { preconditionFailure("embedding model needs token input") }
        let c = network.config, V = c.vocabularySize, E = c.embeddingSize, GH = c.cell.gateCount * c.hiddenSize
        let p = weightT.base
        Vec.broadcastRows(biasRow.base, nil, into: p, rows: V, cols: GH, ldc: GH)
        BLAS.gemm(.none, .transposed, m: V, n: GH, k: E, a: params + network.embedding!, lda: E,
                  b: params + network.layers[0].wIH, ldb: E, beta: 1, c: p, ldc: GH)
        for r in 0..<(T * b) {
            let id = Int(tok[r])
            precondition(id >= 0 && id < V, "token id \(id) outside vocabulary \(V)")
            Vec.copy(p + id * GH, pre + r * GH, count: GH)
        }
    }

    /// One-hot layer 0: pre[r] += W_ih[:, token_r], gathered as rows of W_ihᵀ.
    private func oneHotProjection(params: UnsafePointer<Float>, into pre: UnsafeMutablePointer<Float>) {
        guard case .tokens(let tok) = input! else { preconditionFailure("one-hot model needs token input") }
        let c = network.config, V = c.vocabularySize, GH = c.cell.gateCount * c.hiddenSize
        transposeFirstInputWeights(params)
        let wt = weightT.base
        for r in 0..<(T * b) {
            let id = Int(tok[r])
            precondition(id >= 0 && id < V, "token id \(id) outside vocabulary \(V)")
            Vec.add(wt + id * GH, into: pre + r * GH, count: GH)
        }
    }

    private func applyDropout(layer l: Int, source: DropoutSource) {
        let H = network.config.hiddenSize, p = network.config.dropout, keep = 1 / (1 - p)
        let m = masks[l].base, x = hs[l - 1].base + b * H, out = dropped[l].base
        for j in 0..<b {
            var rng = SeededRandom.stream(seed: source.seed, UInt64(source.firstSequence + j) &* 1024 &+ UInt64(l))
            for t in 0..<T {
                let row = (t * b + j) * H
                for k in 0..<H { m[row + k] = rng.uniformFloat() < p ? 0 : keep }
            }
        }
        for i in 0..<(T * b * H) { out[i] = x[i] * m[i] }
    }

    // MARK: Losses

    /// Softmax cross-entropy of `outputs` against class ids (one per output row); writes
    /// dOutputs = (softmax − onehot) / normalizer.
    /// - Parameter normalizer: the count the loss is divided by (the global target count).
    public func crossEntropy(targets: UnsafePointer<Int32>, normalizer: Float) -> LossSums {
        let O = network.config.outputSize, rows = outputRows, scale = 1 / normalizer
        var sums = LossSums(count: rows)
        for r in 0..<rows {
            let x = outputs.base + r * O, d = dOutputs.base + r * O
            let target = Int(targets[r])
            precondition(target >= 0 && target < O, "target \(target) outside 0..<\(O)")
            let lse = Act.logSumExp(x, count: O)
            sums.loss += Double(lse - x[target])
            var best = 0
            for k in 1..<max(O, 1) where x[k] > x[best] { best = k }
            if best == target { sums.correct += 1 }
            let l = F8(repeating: lse), s = F8(repeating: scale)
            Act.map(x, d, count: O) { Act.exp($0 - l) * s }
            d[target] -= scale
        }
        return sums
    }

    /// Squared error of `outputs` against targets laid out like them; writes
    /// dOutputs = 2 (y − target) / normalizer.
    /// - Parameter normalizer: the count the loss is divided by (the global count of values).
    public func squaredError(targets: UnsafePointer<Float>, normalizer: Float) -> LossSums {
        let n = outputRows * network.config.outputSize, scale = 2 / normalizer
        var sum = 0.0
        for i in 0..<n {
            let diff = outputs.base[i] - targets[i]
            sum += Double(diff * diff)
            dOutputs.base[i] = scale * diff
        }
        return LossSums(loss: sum, correct: 0, count: n)
    }

    // MARK: Backward

    /// Backward through time from `dOutputs`; gradients ACCUMULATE (+=) into `gradients`
    /// (layout of `network.layout`). Uses what the last `forward` stored.
    public func backward(parameters params: UnsafePointer<Float>, gradients grads: UnsafeMutablePointer<Float>) {
        precondition(input != nil, "backward before forward")
        let c = network.config, H = c.hiddenSize, G = c.cell.gateCount, GH = G * H, O = c.outputSize
        let rows = T * b
        let top = hs[c.layers - 1].base

        // Head: dY = dOut · W_head; dW_head += dOutᵀ · Y; db_head += Σ dOut
        var dY = dYa.base, dNext = dYb.base
        let wHead = params + network.headWeight
        if c.head == .everyStep {
            if headPacks {
                // Writes dY without OpenBLAS's separate β = 0 clearing pass.
                recur_pack(wHead, O, H, H, packedW.base)
                recur_gemm_packed(rows, H, O, dOutputs.base, O, packedW.base, dY, H, 0)
            } else {
                BLAS.gemm(.none, .none, m: rows, n: H, k: O, a: dOutputs.base, lda: O, b: wHead, ldb: H, beta: 0,
                          c: dY, ldc: H)
            }
            BLAS.gemm(.transposed, .none, m: O, n: H, k: rows, a: dOutputs.base, lda: O, b: top + b * H, ldb: H,
                      beta: 1, c: grads + network.headWeight, ldc: H)
        } else {
            Vec.zero(dY, count: (T - 1) * b * H)
            BLAS.gemm(.none, .none, m: b, n: H, k: O, a: dOutputs.base, lda: O, b: wHead, ldb: H, beta: 0,
                      c: dY + (T - 1) * b * H, ldc: H)
            BLAS.gemm(.transposed, .none, m: O, n: H, k: b, a: dOutputs.base, lda: O, b: top + T * b * H, ldb: H,
                      beta: 1, c: grads + network.headWeight, ldc: H)
        }
        Vec.addColumnSums(dOutputs.base, rows: outputRows, cols: O, lda: O, into: grads + network.headBias)

        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let lo = network.layers[l]
            let s = state(l, dOut: dY, params: params, backward: true)
            Vec.zero(dhNext.base, count: b * H)
            Vec.zero(dcNext.base, count: b * H)
            Vec.zero(sumX.base, count: GH)
            Vec.zero(sumH.base, count: GH)
            let hiddenSums = c.cell == .gru && c.gruReset == .after
            let fewX: UnsafePointer<Float>? = l == 0 && usesFewFeatures ? layerInput(0) : nil
            let I = lo.inputSize
            if fewX != nil { Vec.zero(weightT.base, count: I * GH) }
            // Bias gradients (and dW_ihᵀ for a few features) summed per step, while the step's
            // rows are still in cache.
            func sums(_ t: Int) {
                recur_add_column_sums(dG.base + t * b * GH, b, GH, GH, sumX.base)
                if hiddenSums { recur_add_column_sums(dHG.base + t * b * GH, b, GH, GH, sumH.base) }
                if let x = fewX { recur_add_weighted_column_sums(dG.base + t * b * GH, b, GH, GH, x + t * b * I, I, weightT.base) }
            }
            switch (c.cell, c.gruReset) {
            case (.rnn, _):
                for t in stride(from: T - 1, through: 0, by: -1) { ElmanCell.backwardStep(s, t: t); sums(t) }
                ElmanCell.accumulateHiddenGradients(s, dWHH: grads + lo.wHH, dBHH: grads + lo.bHH)
            case (.lstm, _):
                for t in stride(from: T - 1, through: 0, by: -1) { LSTMCell.backwardStep(s, t: t); sums(t) }
                LSTMCell.accumulateHiddenGradients(s, dWHH: grads + lo.wHH, dBHH: grads + lo.bHH)
            case (.gru, .after):
                for t in stride(from: T - 1, through: 0, by: -1) { GRUResetAfterCell.backwardStep(s, t: t); sums(t) }
                GRUResetAfterCell.accumulateHiddenGradients(s, dWHH: grads + lo.wHH, dBHH: grads + lo.bHH)
            case (.gru, .before):
                for t in stride(from: T - 1, through: 0, by: -1) { GRUResetBeforeCell.backwardStep(s, t: t); sums(t) }
                GRUResetBeforeCell.accumulateHiddenGradients(s, dWHH: grads + lo.wHH, dBHH: grads + lo.bHH)
            }
            // Input side: db_ih += Σ dG; dW_ih += dGᵀ · X; dX = dG · W_ih
            Vec.add(sumX.base, into: grads + lo.bIH, count: GH)
            if fewX != nil {   // layer 0 fed by features: no dX
                addTransposedFirstInputGradient(grads)
                continue
            }
            if l == 0 && c.input == .embedding {
                embeddingGradient(params: params, grads: grads)
                continue
            }
            if let x = layerInput(l) {
                BLAS.gemm(.transposed, .none, m: GH, n: I, k: rows, a: dG.base, lda: GH, b: x, ldb: I,
                          beta: 1, c: grads + lo.wIH, ldc: I)
            } else {
                oneHotGradient(grads: grads)
            }
            let needsDX = l > 0
            if needsDX {
                BLAS.gemm(.none, .none, m: rows, n: I, k: GH, a: dG.base, lda: GH, b: params + lo.wIH, ldb: I,
                          beta: 0, c: dNext, ldc: I)
                if l > 0 && dropoutActive {
                    let m = masks[l].base
                    for i in 0..<(rows * H) { dNext[i] *= m[i] }
                }
                swap(&dY, &dNext)
            }
        }
    }

    /// Embedding layer 0: dW_ih += Sᵀ·E and dE += S·W_ih with S = Σ dG per token
    /// (Note [Embedding through the table]).
    private func embeddingGradient(params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>) {
        guard case .tokens(let tok) = input! else { return }
        let c = network.config, V = c.vocabularySize, E = c.embeddingSize, GH = c.cell.gateCount * c.hiddenSize
        let s = weightT.base, lo = network.layers[0]
        Vec.zero(s, count: V * GH)
        for r in 0..<(T * b) { Vec.add(dG.base + r * GH, into: s + Int(tok[r]) * GH, count: GH) }
        BLAS.gemm(.transposed, .none, m: GH, n: E, k: V, a: s, lda: GH, b: params + network.embedding!, ldb: E,
                  beta: 1, c: grads + lo.wIH, ldc: E)
        BLAS.gemm(.none, .none, m: V, n: E, k: GH, a: s, lda: GH, b: params + lo.wIH, ldb: E,
                  beta: 1, c: grads + network.embedding!, ldc: E)
    }

    /// dW_ih_l0[:, token] += dG[r] for every row: accumulated in W_ihᵀ layout, then transposed in.
    private func oneHotGradient(grads: UnsafeMutablePointer<Float>) {
        guard case .tokens(let tok) = input! else { return }
        let c = network.config, V = c.vocabularySize, GH = c.cell.gateCount * c.hiddenSize
        let acc = weightT.base
        Vec.zero(acc, count: V * GH)
        for r in 0..<(T * b) { Vec.add(dG.base + r * GH, into: acc + Int(tok[r]) * GH, count: GH) }
        addTransposedFirstInputGradient(grads)
    }
}
