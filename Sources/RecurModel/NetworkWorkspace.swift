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
    /// Layer 0's input side per direction.
    private let encoders: [InputEncoder]
    private let head: Head
    /// Directions per layer (Note [Bidirectional layers]).
    private let D: Int

    // Per layer and direction (index l·D + d): stored activations. The reverse direction's are
    // in its own (reversed) time order.
    private let hs: [FloatBuffer]          // [(T+1)·B, H]
    private let cs: [FloatBuffer]          // [(T+1)·B, H] (cells that keep a cell state)
    private let gates: [FloatBuffer]       // [T·B, G·H]
    private let extra: [FloatBuffer]       // [T·B, H] (cells that keep a per-step extra)
    // Per layer.
    private let dropped: [FloatBuffer]     // [T·B, D·H] input of layer l > 0 after dropout
    private let masks: [FloatBuffer]       // [T·B, D·H]
    /// Bidirectional: each layer's output forward ‖ reverse in time order [T·B, 2H].
    private let joined: [FloatBuffer]
    /// The last-step head's rows, each sequence's final state(s) [B, D·H], and their gradient.
    private let lastRows: FloatBuffer
    private let lastGrad: FloatBuffer
    /// Bidirectional: the reverse direction's input in its time order (tokens, features, or
    /// the layer below's rows), and scratch for its dX and dOut.
    private let reversedTokens: UnsafeMutablePointer<Int32>
    private let reversedRows: FloatBuffer
    private let reverseScratch: FloatBuffer
    // Shared scratch.
    private let dG: FloatBuffer, dHG: FloatBuffer, tmp: FloatBuffer, biasRow: FloatBuffer
    private let dhNext: FloatBuffer, dcNext: FloatBuffer
    private let sumX: FloatBuffer, sumH: FloatBuffer   // [G·H] column sums of dG, dHG
    private let dYa: FloatBuffer, dYb: FloatBuffer         // [T·B, D·H]
    private let dOutDirection: FloatBuffer                 // [T·B, H] one direction's dOut (bidirectional)
    private let finalH: FloatBuffer, finalC: FloatBuffer   // [L·D, B, H]
    /// W_hh of the layer in progress, packed once per pass for the per-step GEMMs (empty when
    /// recur_gemm_packed is unavailable, or when `sharedPacks` are read instead): the cell's first
    /// block, then the rest (`packedN`).
    private let packedW: FloatBuffer
    /// Every layer's W_hh packed by the caller (Note [W_hh packed once per region]), or nil.
    private let sharedPacks: PackedRecurrentWeights?

    // What the last forward saw (backward replays it).
    private var b = 0, T = 0
    private var input: ModelInput?
    /// Each sequence's own length (Note [Variable-length sequences]), or nil: all T.
    private var lengths: UnsafePointer<Int32>?
    /// Per step, the sequences still running, when the batch is ordered longest first; nil:
    /// every row runs every step.
    private var activeRows: UnsafeMutablePointer<Int32>?
    private let activeStorage: UnsafeMutablePointer<Int32>
    private var dropoutActive = false
    /// Each gradient group's index in `network.gradientGroups`, the milestone backward reports.
    private let milestones: [RecurrentNetwork.GradientGroup: Int]

    /// - Parameter packs: W_hh packed by the caller for every forward and backward this workspace
    ///   runs (Note [W_hh packed once per region]: packed from the parameters passed, before);
    ///   nil: each pass packs its layer itself.
    public init(network: RecurrentNetwork, maxBatch: Int, maxSteps: Int, packs: PackedRecurrentWeights? = nil) {
        precondition(maxBatch > 0 && maxSteps > 0, "workspace needs a positive batch and length")
        precondition(packs.map { $0.network == network } ?? true, "shared packs of another network")
        self.network = network
        self.maxBatch = maxBatch
        self.maxSteps = maxSteps
        sharedPacks = packs
        let sizes = Sizes(network: network, maxBatch: maxBatch, maxSteps: maxSteps, sharedPacks: packs != nil)
        cell = sizes.cell
        D = sizes.D
        encoders = (0..<D).map { InputEncoder(network: network, direction: $0) }
        head = Head(network: network, maxRows: sizes.headRows)
        hs = sizes.floats(.hs); cs = sizes.floats(.cs); gates = sizes.floats(.gates); extra = sizes.floats(.extra)
        dropped = sizes.floats(.dropped); masks = sizes.floats(.masks); joined = sizes.floats(.joined)
        lastRows = sizes.float(.lastRows); lastGrad = sizes.float(.lastGrad)
        reversedTokens = .allocate(capacity: sizes.count(.reversedTokens))
        activeStorage = .allocate(capacity: sizes.count(.activeRows))
        reversedRows = sizes.float(.reversedRows); reverseScratch = sizes.float(.reverseScratch)
        dOutDirection = sizes.float(.dOutDirection)
        dG = sizes.float(.dG); dHG = sizes.float(.dHG); tmp = sizes.float(.tmp); biasRow = sizes.float(.biasRow)
        dhNext = sizes.float(.dhNext); dcNext = sizes.float(.dcNext); sumX = sizes.float(.sumX); sumH = sizes.float(.sumH)
        dYa = sizes.float(.dYa); dYb = sizes.float(.dYb)
        finalH = sizes.float(.finalH); finalC = sizes.float(.finalC)
        packedW = sizes.float(.packedW)
        milestones = Dictionary(uniqueKeysWithValues: network.gradientGroups.enumerated().map { ($0.element.group, $0.offset) })
    }

    deinit { reversedTokens.deallocate(); activeStorage.deallocate() }

    /// Every buffer a workspace allocates and its length, the one table `init` allocates from
    /// and `estimatedBytes` sums (with the encoders' and the head's own tables).
    struct Sizes {
        /// The workspace's buffers, by the name of the property that holds them (`activeRows`:
        /// `activeStorage`).
        enum Buffer: CaseIterable {
            case hs, cs, gates, extra, dropped, masks, joined, lastRows, lastGrad, reversedTokens, activeRows
            case reversedRows, reverseScratch, dOutDirection, dG, dHG, tmp, biasRow, dhNext, dcNext, sumX, sumH
            case dYa, dYb, finalH, finalC, packedW
        }

        let network: RecurrentNetwork
        let cell: any RecurrentCell.Type
        let B: Int, T: Int, H: Int, G: Int, L: Int, D: Int
        /// Rows of a batch of whole windows, maxBatch · maxSteps.
        let rows: Int
        /// Whether the caller packs W_hh (then `packedW` is empty).
        let sharedPacks: Bool

        init(network: RecurrentNetwork, maxBatch: Int, maxSteps: Int, sharedPacks: Bool = false) {
            let c = network.config
            self.network = network
            self.sharedPacks = sharedPacks
            cell = c.cellType
            B = maxBatch; T = maxSteps; H = c.hiddenSize; G = cell.gateCount; L = c.layers; D = c.directions
            rows = maxBatch * maxSteps
        }

        /// Rows the head scores at most: every step's, or one per sequence.
        var headRows: Int { network.config.head == .everyStep ? rows : B }

        /// Copies of `buffer`: one per layer and direction, one per layer, or one.
        func copies(_ buffer: Buffer) -> Int {
            switch buffer {
            case .hs, .cs, .gates, .extra: return L * D
            case .dropped, .masks, .joined: return L
            default: return 1
            }
        }

        /// Elements of copy `i` (the layer, or layer · D + direction) of `buffer`.
        func count(_ buffer: Buffer, _ i: Int = 0) -> Int {
            let c = network.config, dropout = c.dropout > 0, lastStep = c.head == .lastStep
            switch buffer {
            case .hs: return (T + 1) * B * H                                       // [(T+1)·B, H]
            case .cs: return cell.keepsCellState ? (T + 1) * B * H : 0
            case .gates: return rows * G * H                                       // [T·B, G·H]
            case .extra: return cell.keepsStepExtra ? rows * H : 0
            case .dropped, .masks: return i > 0 && dropout ? rows * D * H : 0      // layers above the first
            case .joined: return D == 2 ? rows * 2 * H : 0
            case .lastRows, .lastGrad: return lastStep ? B * D * H : 0
            case .reversedTokens: return D == 2 ? rows : 0
            case .activeRows: return T
            case .reversedRows, .reverseScratch: return D == 2 ? rows * max(network.layers[0].inputSize, D * H) : 0
            case .dOutDirection: return D == 2 ? rows * H : 0
            case .dG: return rows * G * H
            case .dHG: return cell.separateHiddenGradient ? rows * G * H : 0
            case .tmp: return B * G * H
            case .biasRow, .sumX, .sumH: return G * H
            case .dhNext, .dcNext: return B * H
            case .dYa, .dYb: return rows * D * H
            case .finalH: return L * D * B * H
            case .finalC: return cell.keepsCellState ? L * D * B * H : 0
            case .packedW:
                // W_hh of one layer as the cell's first block and the rest, for either pass.
                guard recur_packed_gemm_available() != 0, !sharedPacks else { return 0 }
                return PackedRecurrentWeights.floatsPerPass(network)
            }
        }

        /// Bytes per element of `buffer`.
        func elementSize(_ buffer: Buffer) -> Int {
            switch buffer {
            case .reversedTokens, .activeRows: return MemoryLayout<Int32>.stride
            default: return MemoryLayout<Float>.stride
            }
        }

        /// Every copy of a float buffer, allocated.
        func floats(_ buffer: Buffer) -> [FloatBuffer] {
            (0..<copies(buffer)).map { FloatBuffer(count: count(buffer, $0)) }
        }

        /// A float buffer of one copy, allocated.
        func float(_ buffer: Buffer) -> FloatBuffer {
            precondition(copies(buffer) == 1 && elementSize(buffer) == MemoryLayout<Float>.stride)
            return FloatBuffer(count: count(buffer))
        }

        /// Bytes of everything a workspace allocates: its buffers, its encoders' and its head's.
        var bytes: Int {
            let own = Buffer.allCases.reduce(0) { sum, buffer in
                sum + (0..<copies(buffer)).reduce(0) { $0 + count(buffer, $1) } * elementSize(buffer)
            }
            let encoders = (0..<D).reduce(0) { $0 + InputEncoder.tableCount(network: network, direction: $1) }
            return own + (encoders + Head.floatCount(network: network, maxRows: headRows)) * MemoryLayout<Float>.stride
        }
    }

    /// Bytes a workspace for `network` at this batch and length allocates (the sizes `init`
    /// allocates, `Sizes`), so a run can be refused before it allocates more than the machine has;
    /// `sharedPacks`: made with `packs` (which are counted apart).
    public static func estimatedBytes(network: RecurrentNetwork, maxBatch: Int, maxSteps: Int, sharedPacks: Bool = false) -> Double {
        Double(Sizes(network: network, maxBatch: maxBatch, maxSteps: maxSteps, sharedPacks: sharedPacks).bytes)
    }

    /// Head outputs of the last forward: [outputRows, outputSize].
    public var outputs: FloatBuffer { head.outputs }
    /// Rows of `outputs` after the last forward: T·b (every step) or b (last step).
    public var outputRows: Int { network.config.head == .everyStep ? T * b : b }

    /// Final hidden state of the last forward, [L·D, b, H] (row stride b·H per layer and
    /// direction, PyTorch's h_n order).
    public var finalHidden: UnsafePointer<Float> { UnsafePointer(finalH.base) }
    /// Final cell state of the last forward, [L·D, b, H]; nil for cells without one.
    public var finalCell: UnsafePointer<Float>? { cell.keepsCellState ? UnsafePointer(finalC.base) : nil }

    /// Layer l's views in direction d, with its W_hh packed for the forward (W_hhᵀ) or backward
    /// (W_hh) GEMMs when the packed GEMM is in use, as the cell's blocks: the caller's packs, or
    /// packed here first.
    private func state(_ l: Int, _ d: Int, dOut: UnsafePointer<Float>, params: UnsafePointer<Float>, backward: Bool) -> LayerState {
        let c = network.config, lo = network.offsets(l, d), H = c.hiddenSize, k = l * D + d
        var packed: UnsafePointer<Float>? = nil, packedN: UnsafePointer<Float>? = nil
        if let sharedPacks {
            (packed, packedN) = sharedPacks.panels(l, d, backward: backward)
        } else if packedW.count > 0 {
            (packed, packedN) = PackedRecurrentWeights.pack(network, params + lo.wHH, backward: backward, into: packedW.base)
        }
        return LayerState(b: b, T: T, H: H, stride: b, active: activeRows.map { UnsafePointer($0) },
                          wHH: params + lo.wHH, bHH: params + lo.bHH,
                          hs: hs[k].base, cs: cs[k].base, gates: gates[k].base, extra: extra[k].base,
                          dG: dG.base, dHG: dHG.base, tmp: tmp.base, dOut: dOut,
                          dhNext: dhNext.base, dcNext: dcNext.base, relu: c.nonlinearity == .relu,
                          packedW: packed, packedN: packedN, sumX: sumX.base, sumH: sumH.base)
    }

    /// What layer l outputs, [T·b, D·H] in time order: its h rows, or forward ‖ reverse.
    private func layerOutput(_ l: Int) -> UnsafePointer<Float> {
        let H = network.config.hiddenSize
        return UnsafePointer(D == 1 ? hs[l].base + b * H : joined[l].base)
    }

    /// Input rows layer l > 0 reads: [T·b, D·H], the layer below after dropout.
    private func layerInput(_ l: Int) -> UnsafePointer<Float> {
        dropoutActive ? UnsafePointer(dropped[l].base) : layerOutput(l - 1)
    }

    // Note [Bidirectional layers]
    // A bidirectional layer runs its reverse direction (PyTorch's `*_reverse` tensors) as an
    // ordinary forward pass over its input in reversed time order: the input rows (or layer 0's
    // token ids or features) are copied with step t ↦ T−1−t, the same cell code runs, and its
    // outputs are read back in reversed order, so the layer's output at step t is
    // h_fwd(t) ‖ h_rev(t) as in PyTorch. Backward splits dY the same way (the reverse half in
    // reversed order), runs each direction's backward, and adds the reverse direction's dX back
    // in time order. A last-step head reads both directions' final states, h_fwd(T−1) ‖
    // h_rev(0) (PyTorch's h_n[-2] ‖ h_n[-1], Keras's Bidirectional without sequences).
    //
    // Note [Variable-length sequences]
    // A batch of sequences of lengths n_j ≤ T is padded on the right to T steps. When the batch
    // is ordered longest first (training batches are), step t runs only the rows still inside
    // their sequence, a prefix of the batch, in both directions' own order (PyTorch's packed
    // batch sizes; LayerUnroller zeroes the rest); otherwise every step runs every row. What
    // makes the padding exact either way is where states are read and written:
    // - a sequence's final state is its state after its own n_j steps (block n_j of hs/cs), so
    //   h_n, c_n and the last-step head read that, never a state that has seen padding;
    // - the reverse direction reverses only the valid part, step t ↦ n_j−1−t for t < n_j
    //   (padding stays where it is, after it), so it too starts at the sequence's own last step
    //   and its final state (block n_j) has read exactly steps n_j−1 … 0;
    // - backward puts a last-step head's gradient on step n_j−1 (forward half) and step 0
    //   (reverse half); an every-step head scores every row, but its padded rows have no
    //   target (−1, Head.crossEntropy) and so a zero gradient. Padded steps come after every
    //   valid step in both directions' own order, so no gradient reaches them: their dh, dc
    //   and dG are exact zeros, and the zero rows add exactly nothing to the weight, bias and
    //   input gradients.
    // So the result equals running each sequence alone, up to the order of the sums (tested
    // against that and against PyTorch's packed sequences); padded inputs never matter.
    // Without lengths every n_j is T, the same code.

    /// Sequence j's own length (T without lengths).
    @inline(__always)
    private func length(_ j: Int) -> Int { lengths.map { Int($0[j]) } ?? T }

    /// Step t of sequence j in the reverse direction's order (an involution): n_j−1−t inside
    /// the sequence, t on its padding.
    @inline(__always)
    private func reversed(_ t: Int, _ j: Int) -> Int {
        let n = length(j)
        return t < n ? n - 1 - t : t
    }

    /// Copies `width`-wide rows of `x` into `out` in the reverse direction's order (row (t, j)
    /// ↦ (reversed(t, j), j)).
    private func reverseTime(_ x: UnsafePointer<Float>, width: Int, into out: UnsafeMutablePointer<Float>) {
        if lengths == nil {
            let n = b * width
            for t in 0..<T { Vec.copy(x + t * n, out + (T - 1 - t) * n, count: n) }
            return
        }
        for t in 0..<T {
            for j in 0..<b { Vec.copy(x + (t * b + j) * width, out + (reversed(t, j) * b + j) * width, count: width) }
        }
    }

    /// The reverse direction's layer-0 input.
    private func reversedInput(_ input: ModelInput) -> ModelInput {
        switch input {
        case .tokens(let tok):
            for t in 0..<T { for j in 0..<b { reversedTokens[reversed(t, j) * b + j] = tok[t * b + j] } }
            return .tokens(UnsafePointer(reversedTokens))
        case .features(let x):
            reverseTime(x, width: network.layers[0].inputSize, into: reversedRows.base)
            return .features(UnsafePointer(reversedRows.base))
        }
    }

    // MARK: Forward

    /// Runs the network over `batch` sequences of `steps` steps and fills `outputs`.
    /// - Parameters:
    ///   - parameters: the flat parameter buffer (layout of `network.layout`).
    ///   - initialState: h_0 (and c_0) per layer, or nil for zeros (unidirectional models only).
    ///   - dropout: mask source when training with dropout; nil turns dropout off (evaluation).
    ///   - lengths: each sequence's own length (1 … steps; Note [Variable-length sequences]),
    ///     read again by `backward`; nil: every sequence has `steps` steps. An every-step head
    ///     still scores every row: the loss's targets mark padded rows (−1).
    public func forward(parameters params: UnsafePointer<Float>, input: ModelInput, batch: Int, steps: Int,
                        initialState: InitialState? = nil, dropout: DropoutSource? = nil,
                        lengths: UnsafePointer<Int32>? = nil) {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        precondition(steps >= 1 && steps <= maxSteps, "steps \(steps) outside 1...\(maxSteps)")
        precondition(initialState == nil || D == 1, "a bidirectional model carries no state between windows")
        let c = network.config, H = c.hiddenSize, GH = cell.gateCount * H
        precondition(lengths == nil || initialState == nil, "sequence lengths need no carried state")
        if let lengths {
            for j in 0..<batch { precondition(lengths[j] >= 1 && Int(lengths[j]) <= steps, "length \(lengths[j]) outside 1...\(steps)") }
        }
        b = batch; T = steps
        self.input = input
        self.lengths = lengths
        activeRows = nil
        if let lengths, (1..<batch).allSatisfy({ lengths[$0] <= lengths[$0 - 1] }) {
            // Longest first (training batches are): at step t the sequences still running are
            // the first #{j : n_j > t} rows, in both directions' own order.
            var k = batch
            for t in 0..<steps {
                while k > 0 && Int(lengths[k - 1]) <= t { k -= 1 }
                activeStorage[t] = Int32(k)
            }
            activeRows = activeStorage
        }
        dropoutActive = dropout != nil && c.dropout > 0 && c.layers > 1
        let rows = T * b

        for l in 0..<c.layers {
            if l > 0 && dropoutActive { applyDropout(layer: l, source: dropout!) }
            for d in 0..<D {
                let lo = network.offsets(l, d), k = l * D + d
                // gates[T·b, G·H] = bias + X · W_ihᵀ (X in this direction's time order)
                let pre = gates[k].base
                cell.projectionBias(bIH: params + lo.bIH, bHH: params + lo.bHH, H: H, into: biasRow.base)
                if l == 0 {
                    encoders[d].project(params: params, input: d == 0 ? input : reversedInput(input), rows: rows,
                                        biasRow: biasRow.base, into: pre)
                } else {
                    var x = layerInput(l)
                    if d == 1 { reverseTime(x, width: lo.inputSize, into: reversedRows.base); x = UnsafePointer(reversedRows.base) }
                    Vec.broadcastRows(biasRow.base, nil, into: pre, rows: rows, cols: GH, ldc: GH)
                    BLAS.gemm(.none, .transposed, m: rows, n: GH, k: lo.inputSize, a: x, lda: lo.inputSize,
                              b: params + lo.wIH, ldb: lo.inputSize, beta: 1, c: pre, ldc: GH)
                }
                // Initial state into block 0.
                let h0 = hs[k].base
                if let s = initialState {
                    Vec.copy(s.hidden + l * b * H, h0, count: b * H)
                    if cell.keepsCellState {
                        if let cellState = s.cell { Vec.copy(cellState + l * b * H, cs[k].base, count: b * H) }
                        else { Vec.zero(cs[k].base, count: b * H) }
                    }
                } else {
                    Vec.zero(h0, count: b * H)
                    if cell.keepsCellState { Vec.zero(cs[k].base, count: b * H) }
                }
                LayerUnroller.forward(cell, state(l, d, dOut: dYa.base, params: params, backward: false))
                // Each sequence's state after its own steps (block n_j).
                for j in 0..<b {
                    let src = (length(j) * b + j) * H, dst = (k * b + j) * H
                    Vec.copy(hs[k].base + src, finalH.base + dst, count: H)
                    if cell.keepsCellState { Vec.copy(cs[k].base + src, finalC.base + dst, count: H) }
                }
            }
            if D == 2 {
                // Forward ‖ reverse at every step, in time order.
                let out = joined[l].base, f = hs[l * 2].base + b * H, r = hs[l * 2 + 1].base + b * H
                for t in 0..<T {
                    for j in 0..<b {
                        Vec.copy(f + (t * b + j) * H, out + (t * b + j) * 2 * H, count: H)
                        Vec.copy(r + (reversed(t, j) * b + j) * H, out + (t * b + j) * 2 * H + H, count: H)
                    }
                }
            }
        }
        if c.head == .lastStep {
            // The top layer's final states, forward ‖ reverse (h_n[-2] ‖ h_n[-1]).
            let top = (c.layers - 1) * D, out = lastRows.base
            for j in 0..<b {
                for d in 0..<D { Vec.copy(finalH.base + ((top + d) * b + j) * H, out + (j * D + d) * H, count: H) }
            }
        }
        head.forward(params: params, y: headInput, rows: outputRows)
    }

    /// The rows the head reads: the top layer's output at every step, or each sequence's final
    /// state(s) of the top layer.
    private var headInput: UnsafePointer<Float> {
        let c = network.config
        return c.head == .everyStep ? layerOutput(c.layers - 1) : UnsafePointer(lastRows.base)
    }

    private func applyDropout(layer l: Int, source: DropoutSource) {
        let W = D * network.config.hiddenSize, p = network.config.dropout, keep = 1 / (1 - p)
        let m = masks[l].base, x = layerOutput(l - 1), out = dropped[l].base
        for j in 0..<b {
            var rng = SeededRandom.stream(seed: source.seed, UInt64(source.firstSequence + j) &* 1024 &+ UInt64(l))
            for t in 0..<T {
                let row = (t * b + j) * W
                for k in 0..<W { m[row + k] = rng.uniformFloat() < p ? 0 : keep }
            }
        }
        for i in 0..<(T * b * W) { out[i] = x[i] * m[i] }
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
        let c = network.config, H = c.hiddenSize, GH = cell.gateCount * H, W = D * H
        let rows = T * b
        var reported = -1

        // Head: dY = dOut · W_head (the last step's rows only, for a last-step head).
        var dY = dYa.base, dNext = dYb.base
        if c.head == .everyStep {
            head.backward(params: params, grads: grads, y: headInput, dY: dY)
        } else {
            // Each sequence's final states came from its last step n_j−1 (forward half) and,
            // reverse half, from step 0 (the reverse direction's last step in its own order).
            Vec.zero(dY, count: T * b * W)
            let g = lastGrad.base
            head.backward(params: params, grads: grads, y: headInput, dY: g)
            for j in 0..<b {
                Vec.copy(g + j * W, dY + ((length(j) - 1) * b + j) * W, count: H)
                if D == 2 { Vec.copy(g + j * W + H, dY + j * W + H, count: H) }
            }
        }
        report(.head, after: &reported, finished)

        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            for d in 0..<D {
                let lo = network.offsets(l, d)
                // This direction's dOut [T·b, H] in its own time order.
                var dOut = UnsafePointer(dY)
                if D == 2 {
                    let o = dOutDirection.base
                    for t in 0..<T {
                        for j in 0..<b {
                            let src = d == 0 ? t : reversed(t, j)
                            Vec.copy(dY + (src * b + j) * W + d * H, o + (t * b + j) * H, count: H)
                        }
                    }
                    dOut = UnsafePointer(o)
                }
                let s = state(l, d, dOut: dOut, params: params, backward: true)
                Vec.zero(dhNext.base, count: b * H)
                Vec.zero(dcNext.base, count: b * H)
                Vec.zero(sumX.base, count: GH)
                Vec.zero(sumH.base, count: GH)
                let x0 = l == 0 ? (d == 0 ? input : reversedInput(input)) : input
                let encoder = encoders[d]
                if l == 0 { encoder.beginBackward() }
                // Bias gradients (and layer 0's input-side sums) per step, while the step's rows are in cache.
                let hiddenSums = cell.separateHiddenGradient, b = self.b
                let dG = self.dG.base, dHG = self.dHG.base, sumX = self.sumX.base, sumH = self.sumH.base
                LayerUnroller.backward(cell, s, dWHH: grads + lo.wHH, dBHH: grads + lo.bHH) { t in
                    recur_add_column_sums(dG + t * b * GH, b, GH, GH, sumX)
                    if hiddenSums { recur_add_column_sums(dHG + t * b * GH, b, GH, GH, sumH) }
                    if l == 0 { encoder.accumulateStep(t, b: b, dG: dG, input: x0) }
                }
                report(.hiddenSide(layer: l, direction: d), after: &reported, finished)
                // Input side: db_ih += Σ dG; dW_ih += dGᵀ · X; dX = dG · W_ih (above layer 0)
                Vec.add(sumX, into: grads + lo.bIH, count: GH)
                if l == 0 {
                    encoder.finishBackward(params: params, grads: grads, dG: dG, input: x0, rows: rows)
                    report(.inputSide(layer: l, direction: d), after: &reported, finished)
                    continue
                }
                let I = lo.inputSize
                var x = layerInput(l)
                if d == 1 { reverseTime(x, width: I, into: reversedRows.base); x = UnsafePointer(reversedRows.base) }
                BLAS.gemm(.transposed, .none, m: GH, n: I, k: rows, a: dG, lda: GH, b: x, ldb: I,
                          beta: 1, c: grads + lo.wIH, ldc: I)
                report(.inputSide(layer: l, direction: d), after: &reported, finished)
                if d == 0 {
                    BLAS.gemm(.none, .none, m: rows, n: I, k: GH, a: dG, lda: GH, b: params + lo.wIH, ldb: I,
                              beta: 0, c: dNext, ldc: I)
                } else {
                    // The reverse direction's dX comes in its order: add it back in time order.
                    let r = reverseScratch.base
                    BLAS.gemm(.none, .none, m: rows, n: I, k: GH, a: dG, lda: GH, b: params + lo.wIH, ldb: I,
                              beta: 0, c: r, ldc: I)
                    if lengths == nil {
                        for t in 0..<T { Vec.add(r + (T - 1 - t) * b * I, into: dNext + t * b * I, count: b * I) }
                    } else {
                        for t in 0..<T {
                            for j in 0..<b { Vec.add(r + (reversed(t, j) * b + j) * I, into: dNext + (t * b + j) * I, count: I) }
                        }
                    }
                }
            }
            guard l > 0 else { continue }
            if dropoutActive {
                let m = masks[l].base
                for i in 0..<(rows * W) { dNext[i] *= m[i] }
            }
            swap(&dY, &dNext)
        }
    }

    /// Tells `finished` that `group`'s gradients are final, by its index in
    /// `network.gradientGroups`; backward must finish the groups in that order.
    @inline(__always)
    private func report(_ group: RecurrentNetwork.GradientGroup, after previous: inout Int, _ finished: (Int) -> Void) {
        let m = milestones[group]!
        precondition(m == previous + 1, "backward finished gradient group \(group) out of RecurrentNetwork.gradientGroups' order")
        previous = m
        finished(m)
    }
}
