// Every layer's W_hh packed for the per-step recurrent GEMMs, once for all the workspaces that
// run the same parameters at the same time (Note [W_hh packed once per region]).

import CKernels
import RecurKernels

// Note [W_hh packed once per region]
// The per-step recurrent products ([b, H] × [H, G·H] forward, the dh twin backward) read W_hh
// from panels packed for recur_gemm_packed. A workspace on its own packs a layer's W_hh at the
// start of each pass. An engine's replicas all run the same parameters in a parallel region, so
// the engine packs every layer once, before the region starts (PackedRecurrentWeights.pack), and
// its workspaces read those panels instead: a deterministic step (8 micro-shards, each its own
// workspace) packed W_hh 8 times per pass, and so did every thread of a normal one. The packed
// values are the same either way, so no bit changes. The contract: whoever runs a workspace made
// with shared packs has packed them from the parameters it passes, and no parameter changes while
// the workspaces run (Engine.begin packs before every region, the backward panels only for a
// training one; the update runs between regions).

/// W_hh of every layer and direction packed for the forward (W_hhᵀ) and the backward (W_hh)
/// GEMMs, as the cell's first gate block and the rest. Nil where recur_gemm_packed is unavailable.
public final class PackedRecurrentWeights: @unchecked Sendable {
    let network: RecurrentNetwork
    /// [layer · D + direction] × [forward, backward].
    private let buffers: [FloatBuffer]

    public init?(network: RecurrentNetwork) {
        guard recur_packed_gemm_available() != 0 else { return nil }
        self.network = network
        let count = Self.floatsPerPass(network)
        buffers = (0..<(2 * network.config.layers * network.config.directions)).map { _ in FloatBuffer(count: count) }
    }

    /// Packs every layer's W_hh from `params` for the forward GEMMs, and with `backward` for the
    /// backward ones too (a region that only evaluates runs no backward).
    public func pack(_ params: UnsafePointer<Float>, backward: Bool) {
        let D = network.config.directions
        for l in 0..<network.config.layers {
            for d in 0..<D {
                let w = params + network.offsets(l, d).wHH, k = 2 * (l * D + d)
                _ = Self.pack(network, w, backward: false, into: buffers[k].base)
                if backward { _ = Self.pack(network, w, backward: true, into: buffers[k + 1].base) }
            }
        }
    }

    /// Layer l's panels in direction d for one pass: the first block and the rest (nil when the
    /// cell packs all its gates as one block).
    func panels(_ l: Int, _ d: Int, backward: Bool) -> (UnsafePointer<Float>, UnsafePointer<Float>?) {
        let base = buffers[2 * (l * network.config.directions + d) + (backward ? 1 : 0)].base
        return Self.views(network, base, backward: backward)
    }

    /// Bytes the packs of `network` take (0 where recur_gemm_packed is unavailable).
    public static func bytes(network: RecurrentNetwork) -> Double {
        guard recur_packed_gemm_available() != 0 else { return 0 }
        return Double(2 * network.config.layers * network.config.directions * floatsPerPass(network) * MemoryLayout<Float>.stride)
    }

    /// Floats one layer's W_hh takes packed for either pass: the first block, then the rest.
    static func floatsPerPass(_ network: RecurrentNetwork) -> Int {
        let cell = network.config.cellType, H = network.config.hiddenSize
        let first = cell.firstPackedBlock, rest = cell.gateCount - first
        return max(recur_packed_size(H, first * H), recur_packed_size(first * H, H))
            + (rest > 0 ? max(recur_packed_size(H, rest * H), recur_packed_size(rest * H, H)) : 0)
    }

    /// Packs W_hh [G·H, H] (at `w`) into `p` for the forward (W_hhᵀ: [H, G·H]) or the backward
    /// (W_hh) GEMMs, as the cell's first block and the rest, and returns their panels.
    static func pack(_ network: RecurrentNetwork, _ w: UnsafePointer<Float>, backward: Bool,
                     into p: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, UnsafePointer<Float>?) {
        let cell = network.config.cellType, H = network.config.hiddenSize
        let first = cell.firstPackedBlock * H, rest = cell.gateCount * H - first
        let (a, b) = views(network, p, backward: backward)
        if backward { recur_pack(w, first, H, H, p) } else { recur_pack_transposed(w, first, H, H, p) }
        if let b {
            let q = UnsafeMutablePointer(mutating: b)
            if backward { recur_pack(w + first * H, rest, H, H, q) } else { recur_pack_transposed(w + first * H, rest, H, H, q) }
        }
        return (a, b)
    }

    /// The two blocks' panels within a pack at `p`.
    private static func views(_ network: RecurrentNetwork, _ p: UnsafeMutablePointer<Float>,
                              backward: Bool) -> (UnsafePointer<Float>, UnsafePointer<Float>?) {
        let cell = network.config.cellType, H = network.config.hiddenSize
        let first = cell.firstPackedBlock * H, rest = cell.gateCount * H - first
        guard rest > 0 else { return (UnsafePointer(p), nil) }
        return (UnsafePointer(p), UnsafePointer(p + (backward ? recur_packed_size(first, H) : recur_packed_size(H, first))))
    }
}
