// A model's structure: its flat parameter layout under PyTorch's names (ARCHITECTURE.md §2)
// and PyTorch's initialisation. It holds no activations and no parameters itself — those are
// in a NetworkWorkspace (one per replica) and in the caller's flat buffers.

import RecurKernels

/// Offsets of one recurrent layer's tensors in the flat buffer.
struct LayerOffsets: Sendable, Equatable {
    let wIH: Int, wHH: Int, bIH: Int, bHH: Int
    /// Width of the vectors this layer reads.
    let inputSize: Int
}

/// The structure of a stacked recurrent model: embedding or one-hot or features → L layers → head.
public struct RecurrentNetwork: Sendable, Equatable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    let embedding: Int?
    let layers: [LayerOffsets]
    /// The reverse direction's tensors of each layer (empty unless bidirectional).
    let reverseLayers: [LayerOffsets]
    let headWeight: Int
    let headBias: Int

    /// Builds the layout for `config` (validated first).
    /// - Throws: `ModelConfigError` when a size is out of range.
    public init(_ config: ModelConfig) throws {
        try config.validate()
        self.config = config
        var layout = ParameterLayout()
        let H = config.hiddenSize, G = config.cell.gateCount
        embedding = config.input == .embedding
            ? layout.append("embedding.weight", shape: [config.vocabularySize, config.embeddingSize]) : nil
        var layers: [LayerOffsets] = [], reverse: [LayerOffsets] = []
        let D = config.directions
        for l in 0..<config.layers {
            let inputSize = l == 0 ? config.firstLayerInputSize : D * H
            for suffix in D == 2 ? ["", "_reverse"] : [""] {
                let wIH = layout.append("rnn.weight_ih_l\(l)\(suffix)", shape: [G * H, inputSize])
                let wHH = layout.append("rnn.weight_hh_l\(l)\(suffix)", shape: [G * H, H])
                let bIH = layout.append("rnn.bias_ih_l\(l)\(suffix)", shape: [G * H])
                let bHH = layout.append("rnn.bias_hh_l\(l)\(suffix)", shape: [G * H])
                let offsets = LayerOffsets(wIH: wIH, wHH: wHH, bIH: bIH, bHH: bHH, inputSize: inputSize)
                if suffix.isEmpty { layers.append(offsets) } else { reverse.append(offsets) }
            }
        }
        headWeight = layout.append("head.weight", shape: [config.outputSize, D * H])
        headBias = layout.append("head.bias", shape: [config.outputSize])
        self.layers = layers
        self.reverseLayers = reverse
        self.layout = layout
    }

    public var parameterCount: Int { layout.totalCount }

    /// Layer l's tensors in direction d (0 forward, 1 reverse).
    func offsets(_ l: Int, _ d: Int) -> LayerOffsets { d == 0 ? layers[l] : reverseLayers[l] }

    /// Width of the rows the head reads: H, or 2H (forward ‖ reverse) when bidirectional.
    public var headInputSize: Int { config.directions * config.hiddenSize }

    /// A group of gradients that backward finishes at once (Note [Overlapped exchange]).
    public enum GradientGroup: Hashable, Sendable {
        case head
        /// Layer `layer`'s hidden side in `direction` (W_hh, b_hh), final after its time loop.
        case hiddenSide(layer: Int, direction: Int)
        /// Its input side (W_ih, b_ih, and the embedding with layer 0's last direction), final
        /// after its weight-gradient GEMM.
        case inputSide(layer: Int, direction: Int)
    }

    /// The gradient groups and their parameter ranges, in the order backward finishes them
    /// (Note [Overlapped exchange]): the head; then, from the top layer down, each layer's
    /// hidden side after its time loop and its input side after its weight-gradient GEMM.
    /// This is the one statement of that order: NetworkWorkspace.backward reports each group by
    /// its index here. Every parameter is in exactly one group.
    public var gradientGroups: [(group: GradientGroup, ranges: [Range<Int>])] {
        let GH = config.cell.gateCount * config.hiddenSize, H = config.hiddenSize
        var groups: [(group: GradientGroup, ranges: [Range<Int>])] = [(.head, [headWeight..<layout.totalCount])]
        let D = config.directions
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            for d in 0..<D {
                let lo = offsets(l, d)
                groups.append((.hiddenSide(layer: l, direction: d), [lo.wHH..<(lo.wHH + GH * H), lo.bHH..<(lo.bHH + GH)]))
                var input = [lo.wIH..<(lo.wIH + GH * lo.inputSize), lo.bIH..<(lo.bIH + GH)]
                // The embedding is final once the last direction of layer 0 has added to it.
                if l == 0 && d == D - 1, let e = embedding { input.append(e..<(e + config.vocabularySize * config.embeddingSize)) }
                groups.append((.inputSide(layer: l, direction: d), input))
            }
        }
        return groups
    }

    /// The parameter ranges of `gradientGroups`, in that order: backward reports milestone m
    /// when group m is final.
    public var gradientMilestones: [[Range<Int>]] { gradientGroups.map(\.ranges) }

    /// Fills `parameters` as PyTorch initialises the equivalent modules: embeddings N(0, 1);
    /// recurrent weights and biases U(−1/√H, 1/√H); the head as nn.Linear (U(−1/√H, 1/√H) for
    /// weight and bias). With `forgetBias`, an LSTM's b_ih forget slice is 1 and b_hh's is 0.
    /// Tensors are drawn in layout order from one SeededRandom(seed), so the result is the
    /// same on every platform.
    public func initializeParameters(_ parameters: UnsafeMutablePointer<Float>, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let H = config.hiddenSize
        let bound = 1 / Float(H).squareRoot()
        for e in layout.entries {
            let p = parameters + e.offset
            if e.name == "embedding.weight" {
                for i in 0..<e.count { p[i] = rng.normal() }
            } else {
                for i in 0..<e.count { p[i] = rng.uniform(-bound, bound) }
            }
        }
        if config.forgetBias, let f = config.cellType.forgetGate {
            for l in layers + reverseLayers {
                for k in 0..<H {
                    parameters[l.bIH + f * H + k] = 1
                    parameters[l.bHH + f * H + k] = 0
                }
            }
        }
    }
}
