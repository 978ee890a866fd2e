// One replica's layer stack for a RecurrentNetwork: the stored activations and scratch of
// every layer, allocated once for a maximum batch and sequence length, and the forward and
// backward passes over them (ARCHITECTURE.md §4). It composes the pieces: the InputEncoder
// projects layer 0's input, LayerUnroller drives the model's cell type through time for every
// layer (per step one recurrent GEMM and a fused pass; after the loop the weight gradients as
// GEMMs over all rows), dropout sits between layers, and the Head scores the top layer.
// It allocates nothing after init and never touches parameters except through given pointers.

import CKernels
import RecurKernels

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

/// A replica's buffers and passes. Not thread-safe: one workspace per thread.
public final class NetworkWorkspace: @unchecked Sendable {
    public let network: RecurrentNetwork
    public let maxBatch: Int
    public let maxSteps: Int
    /// The model's cell type, chosen once (RecurrentCell.swift).
    private let cell: any RecurrentCell.Type
    private let encoder: InputEncoder
    private let head: Head

    // Per layer: stored activations.
    private let hs: [FloatBuffer]          // [(T+1)·B, H]
    private let cs: [FloatBuffer]          // [(T+1)·B, H] (cells that keep a cell state)
    private let gates: [FloatBuffer]       // [T·B, G·H]
    private let extra: [FloatBuffer]       // [T·B, H] (cells that keep a per-step extra)
    private let dropped: [FloatBuffer]     // [T·B, H] input of layer l > 0 after dropout
    private let masks: [FloatBuffer]       // [T·B, H]
    // Shared scratch.
    private let dG: FloatBuffer, dHG: FloatBuffer, tmp: FloatBuffer, biasRow: FloatBuffer
    private let dhNext: FloatBuffer, dcNext: FloatBuffer
    private let sumX: FloatBuffer, sumH: FloatBuffer   // [G·H] column sums of dG, dHG
    private let dYa: FloatBuffer, dYb: FloatBuffer
    private let finalH: FloatBuffer, finalC: FloatBuffer   // [L, B, H]
    /// W_hh of the layer in progress, packed once per pass for the per-step GEMMs (empty when
    /// recur_gemm_packed is unavailable): the cell's first block, then the rest (`packedN`).
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
        let c = network.config, cell = c.cellType, H = c.hiddenSize, G = cell.gateCount, L = c.layers
        self.cell = cell
        let rows = maxBatch * maxSteps
        encoder = InputEncoder(network: network)
        head = Head(network: network, maxRows: c.head == .everyStep ? rows : maxBatch)
        hs = (0..<L).map { _ in FloatBuffer(count: (maxSteps + 1) * maxBatch * H) }
        cs = (0..<L).map { _ in FloatBuffer(count: cell.keepsCellState ? (maxSteps + 1) * maxBatch * H : 0) }
        gates = (0..<L).map { _ in FloatBuffer(count: rows * G * H) }
        extra = (0..<L).map { _ in FloatBuffer(count: cell.keepsStepExtra ? rows * H : 0) }
        let useDropout = c.dropout > 0
        dropped = (0..<L).map { l in FloatBuffer(count: l > 0 && useDropout ? rows * H : 0) }
        masks = (0..<L).map { l in FloatBuffer(count: l > 0 && useDropout ? rows * H : 0) }
        dG = FloatBuffer(count: rows * G * H)
        dHG = FloatBuffer(count: cell.separateHiddenGradient ? rows * G * H : 0)
        tmp = FloatBuffer(count: maxBatch * G * H)
        biasRow = FloatBuffer(count: G * H)
        dhNext = FloatBuffer(count: maxBatch * H)
        dcNext = FloatBuffer(count: maxBatch * H)
        sumX = FloatBuffer(count: G * H)
        sumH = FloatBuffer(count: G * H)
        dYa = FloatBuffer(count: rows * H)
        dYb = FloatBuffer(count: rows * H)
        finalH = FloatBuffer(count: L * maxBatch * H)
        finalC = FloatBuffer(count: cell.keepsCellState ? L * maxBatch * H : 0)
        let first = cell.firstPackedBlock, rest = G - first
        let blocks = max(recur_packed_size(H, first * H), recur_packed_size(first * H, H))
            + (rest > 0 ? max(recur_packed_size(H, rest * H), recur_packed_size(rest * H, H)) : 0)
        packedW = FloatBuffer(count: recur_packed_gemm_available() != 0 ? blocks : 0)
    }

    /// Bytes a workspace for `network` at this batch and length allocates (the sizes `init`
    /// uses), so a run can be refused before it allocates more than the machine has.
    public static func estimatedBytes(network: RecurrentNetwork, maxBatch: Int, maxSteps: Int) -> Double {
        let c = network.config, cell = c.cellType, H = Double(c.hiddenSize), G = Double(cell.gateCount)
        let L = Double(c.layers), B = Double(maxBatch), T = Double(maxSteps), rows = B * T, O = Double(c.outputSize)
        var floats = L * (T + 1) * B * H * (cell.keepsCellState ? 2 : 1)        // hs, cs
        floats += L * rows * G * H + (cell.keepsStepExtra ? L * rows * H : 0)   // gates, extra
        floats += c.dropout > 0 ? 2 * (L - 1) * rows * H : 0                     // dropped, masks
        floats += rows * G * H * (cell.separateHiddenGradient ? 2 : 1)           // dG, dHG
        floats += 2 * rows * H + (c.head == .everyStep ? 2 * rows * O : 2 * B * O) // dY pair, outputs
        floats += Double(max(c.vocabularySize, network.layers[0].inputSize)) * G * H  // encoder table
        floats += 3 * G * H * H + L * B * H * 2                                  // packed W_hh, final states
        return floats * Double(MemoryLayout<Float>.stride)
    }

    /// Head outputs of the last forward: [outputRows, outputSize].
    public var outputs: FloatBuffer { head.outputs }
    /// Rows of `outputs` after the last forward: T·b (every step) or b (last step).
    public var outputRows: Int { network.config.head == .everyStep ? T * b : b }

    /// Final hidden state of the last forward, [L, b, H] (row stride b·H per layer).
    public var finalHidden: UnsafePointer<Float> { UnsafePointer(finalH.base) }
    /// Final cell state of the last forward, [L, b, H]; nil for cells without one.
    public var finalCell: UnsafePointer<Float>? { cell.keepsCellState ? UnsafePointer(finalC.base) : nil }

    /// Layer l's views; packs its W_hh for the forward (W_hhᵀ) or backward (W_hh) GEMMs first
    /// when the packed GEMM is in use, as the cell's blocks.
    private func state(_ l: Int, dOut: UnsafePointer<Float>, params: UnsafePointer<Float>, backward: Bool) -> LayerState {
        let c = network.config, lo = network.layers[l], H = c.hiddenSize, G = cell.gateCount
        var packed: UnsafePointer<Float>? = nil, packedN: UnsafePointer<Float>? = nil
        if packedW.count > 0 {
            let w = params + lo.wHH, p = packedW.base
            let first = cell.firstPackedBlock * H, rest = G * H - first
            if backward { recur_pack(w, first, H, H, p) } else { recur_pack_transposed(w, first, H, H, p) }
            packed = UnsafePointer(p)
            if rest > 0 {
                let q = p + (backward ? recur_packed_size(first, H) : recur_packed_size(H, first))
                if backward { recur_pack(w + first * H, rest, H, H, q) } else { recur_pack_transposed(w + first * H, rest, H, H, q) }
                packedN = UnsafePointer(q)
            }
        }
        return LayerState(b: b, T: T, H: H, wHH: params + lo.wHH, bHH: params + lo.bHH,
                          hs: hs[l].base, cs: cs[l].base, gates: gates[l].base, extra: extra[l].base,
                          dG: dG.base, dHG: dHG.base, tmp: tmp.base, dOut: dOut,
                          dhNext: dhNext.base, dcNext: dcNext.base, relu: c.nonlinearity == .relu,
                          packedW: packed, packedN: packedN, sumX: sumX.base, sumH: sumH.base)
    }

    /// Input rows layer l > 0 reads: [T·b, H], the layer below after dropout.
    private func layerInput(_ l: Int) -> UnsafePointer<Float> {
        let H = network.config.hiddenSize
        return UnsafePointer(dropoutActive ? dropped[l].base : hs[l - 1].base + b * H)
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
        let c = network.config, H = c.hiddenSize, GH = cell.gateCount * H
        b = batch; T = steps
        self.input = input
        dropoutActive = dropout != nil && c.dropout > 0 && c.layers > 1
        let rows = T * b

        for l in 0..<c.layers {
            let lo = network.layers[l]
            if l > 0 && dropoutActive { applyDropout(layer: l, source: dropout!) }
            // gates[T·b, G·H] = bias + X · W_ihᵀ
            let pre = gates[l].base
            cell.projectionBias(bIH: params + lo.bIH, bHH: params + lo.bHH, H: H, into: biasRow.base)
            if l == 0 {
                encoder.project(params: params, input: input, rows: rows, biasRow: biasRow.base, into: pre)
            } else {
                Vec.broadcastRows(biasRow.base, nil, into: pre, rows: rows, cols: GH, ldc: GH)
                BLAS.gemm(.none, .transposed, m: rows, n: GH, k: lo.inputSize, a: layerInput(l), lda: lo.inputSize,
                          b: params + lo.wIH, ldb: lo.inputSize, beta: 1, c: pre, ldc: GH)
            }
            // Initial state into block 0.
            let h0 = hs[l].base
            if let s = initialState {
                Vec.copy(s.hidden + l * b * H, h0, count: b * H)
                if cell.keepsCellState {
                    if let cellState = s.cell { Vec.copy(cellState + l * b * H, cs[l].base, count: b * H) }
                    else { Vec.zero(cs[l].base, count: b * H) }
                }
            } else {
                Vec.zero(h0, count: b * H)
                if cell.keepsCellState { Vec.zero(cs[l].base, count: b * H) }
            }
            LayerUnroller.forward(cell, state(l, dOut: dYa.base, params: params, backward: false))
            Vec.copy(hs[l].base + T * b * H, finalH.base + l * b * H, count: b * H)
            if cell.keepsCellState { Vec.copy(cs[l].base + T * b * H, finalC.base + l * b * H, count: b * H) }
        }
        head.forward(params: params, y: headInput, rows: outputRows)
    }

    /// The top layer's rows the head reads: every step's h, or the last step's.
    private var headInput: UnsafePointer<Float> {
        let c = network.config, top = hs[c.layers - 1].base, H = c.hiddenSize
        return UnsafePointer(c.head == .everyStep ? top + b * H : top + T * b * H)
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

    /// Softmax cross-entropy of `outputs` against class ids (one per output row); writes the
    /// loss's gradient for `backward`.
    /// - Parameter normalizer: the count the loss is divided by (the global target count).
    public func crossEntropy(targets: UnsafePointer<Int32>, normalizer: Float) -> LossSums {
        head.crossEntropy(targets: targets, normalizer: normalizer)
    }

    /// Squared error of `outputs` against targets laid out like them; writes the loss's gradient.
    /// - Parameter normalizer: the count the loss is divided by (the global count of values).
    public func squaredError(targets: UnsafePointer<Float>, normalizer: Float) -> LossSums {
        head.squaredError(targets: targets, normalizer: normalizer)
    }

    // MARK: Backward

    /// Backward through time from the loss's gradient; gradients ACCUMULATE (+=) into
    /// `gradients` (layout of `network.layout`). Uses what the last `forward` stored.
    /// - Parameter finished: called with m when the gradients of `network.gradientMilestones[m]`
    ///   are final (Note [Overlapped exchange]), in increasing m, on this thread.
    public func backward(parameters params: UnsafePointer<Float>, gradients grads: UnsafeMutablePointer<Float>,
                         finished: (Int) -> Void = { _ in }) {
        guard let input else { preconditionFailure("backward before forward") }
        let c = network.config, H = c.hiddenSize, GH = cell.gateCount * H
        let rows = T * b

        // Head: dY = dOut · W_head (the last step's rows only, for a last-step head).
        var dY = dYa.base, dNext = dYb.base
        if c.head == .everyStep {
            head.backward(params: params, grads: grads, y: headInput, dY: dY)
        } else {
            Vec.zero(dY, count: (T - 1) * b * H)
            head.backward(params: params, grads: grads, y: headInput, dY: dY + (T - 1) * b * H)
        }
        finished(0)

        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let lo = network.layers[l]
            let s = state(l, dOut: dY, params: params, backward: true)
            Vec.zero(dhNext.base, count: b * H)
            Vec.zero(dcNext.base, count: b * H)
            Vec.zero(sumX.base, count: GH)
            Vec.zero(sumH.base, count: GH)
            if l == 0 { encoder.beginBackward() }
            // Bias gradients (and layer 0's input-side sums) per step, while the step's rows are in cache.
            let hiddenSums = cell.separateHiddenGradient, encoder = self.encoder, b = self.b
            let dG = self.dG.base, dHG = self.dHG.base, sumX = self.sumX.base, sumH = self.sumH.base
            LayerUnroller.backward(cell, s, dWHH: grads + lo.wHH, dBHH: grads + lo.bHH) { t in
                recur_add_column_sums(dG + t * b * GH, b, GH, GH, sumX)
                if hiddenSums { recur_add_column_sums(dHG + t * b * GH, b, GH, GH, sumH) }
                if l == 0 { encoder.accumulateStep(t, b: b, dG: dG, input: input) }
            }
            let milestone = 1 + 2 * (c.layers - 1 - l)
            finished(milestone)
            // Input side: db_ih += Σ dG; dW_ih += dGᵀ · X; dX = dG · W_ih (above layer 0)
            Vec.add(sumX, into: grads + lo.bIH, count: GH)
            if l == 0 {
                encoder.finishBackward(params: params, grads: grads, dG: dG, input: input, rows: rows)
                finished(milestone + 1)
                continue
            }
            let I = lo.inputSize
            BLAS.gemm(.transposed, .none, m: GH, n: I, k: rows, a: dG, lda: GH, b: layerInput(l), ldb: I,
                      beta: 1, c: grads + lo.wIH, ldc: I)
            finished(milestone + 1)
            BLAS.gemm(.none, .none, m: rows, n: I, k: GH, a: dG, lda: GH, b: params + lo.wIH, ldb: I,
                      beta: 0, c: dNext, ldc: I)
            if dropoutActive {
                let m = masks[l].base
                for i in 0..<(rows * H) { dNext[i] *= m[i] }
            }
            swap(&dY, &dNext)
        }
    }
}
