// The linear head and its losses: outputs = Y · W_headᵀ + b_head over the rows the head reads
// (every step, or the last), softmax cross-entropy or squared error with the gradient of the
// loss written in the same pass, and the head's backward. It knows nothing of recurrence; the
// workspace hands it the top layer's rows and takes dY back.

import CKernels
import RecurKernels

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

/// One replica's head: outputs, their gradient, and W_head packed for the packed GEMM.
final class Head {
    let weight: Int, bias: Int
    let H: Int, O: Int
    /// Head outputs: [rows, O], and the loss's gradient with respect to them.
    let outputs: FloatBuffer
    let dOutputs: FloatBuffer
    /// W_head packed for recur_gemm_packed (forward: W_headᵀ, backward: W_head), or empty where
    /// recur_sgemm runs the head: the packed kernel is not available, or W_head is larger than a
    /// layer's W_hh (a word vocabulary), where packing per call is as good.
    private let packed: FloatBuffer
    /// Rows of the last forward.
    private(set) var rows = 0

    init(network: RecurrentNetwork, maxRows: Int) {
        H = network.headInputSize; O = network.config.outputSize
        weight = network.headWeight; bias = network.headBias
        outputs = FloatBuffer(count: Self.outputCount(network: network, maxRows: maxRows))
        dOutputs = FloatBuffer(count: Self.outputCount(network: network, maxRows: maxRows))
        packed = FloatBuffer(count: Self.packedCount(network: network))
    }

    /// Floats of `packed`: W_head's packed size, or 0 where recur_sgemm runs the head.
    static func packedCount(network: RecurrentNetwork) -> Int {
        let c = network.config, H = network.headInputSize, O = c.outputSize, GH = c.cell.gateCount * c.hiddenSize
        let own = max(recur_packed_size(H, O), recur_packed_size(O, H))
        let layer = max(recur_packed_size(c.hiddenSize, GH), recur_packed_size(GH, c.hiddenSize))
        return recur_packed_gemm_available() != 0 && own <= layer ? own : 0
    }

    /// Floats of `outputs` (and of `dOutputs`): [maxRows, O].
    static func outputCount(network: RecurrentNetwork, maxRows: Int) -> Int { maxRows * network.config.outputSize }

    /// Floats a head for `maxRows` rows allocates: outputs and their gradient, and `packed`
    /// (NetworkWorkspace.Sizes counts them).
    static func floatCount(network: RecurrentNetwork, maxRows: Int) -> Int {
        2 * outputCount(network: network, maxRows: maxRows) + packedCount(network: network)
    }

    /// outputs[rows, O] = y[rows, H] · W_headᵀ + b_head.
    func forward(params: UnsafePointer<Float>, y: UnsafePointer<Float>, rows: Int) {
        self.rows = rows
        Vec.broadcastRows(params + bias, nil, into: outputs.base, rows: rows, cols: O, ldc: O)
        if packed.count > 0 {
            recur_pack_transposed(params + weight, O, H, H, packed.base)
            recur_gemm_packed(rows, O, H, y, H, packed.base, outputs.base, O, 1)
        } else {
            BLAS.gemm(.none, .transposed, m: rows, n: O, k: H, a: y, lda: H, b: params + weight, ldb: H,
                      beta: 1, c: outputs.base, ldc: O)
        }
    }

    /// dY[rows, H] = dOutputs · W_head (written, not accumulated); dW_head += dOutputsᵀ · y;
    /// db_head += Σ dOutputs.
    func backward(params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>, y: UnsafePointer<Float>,
                  dY: UnsafeMutablePointer<Float>) {
        if packed.count > 0 {
            recur_pack(params + weight, O, H, H, packed.base)
            recur_gemm_packed(rows, H, O, dOutputs.base, O, packed.base, dY, H, 0)
        } else {
            BLAS.gemm(.none, .none, m: rows, n: H, k: O, a: dOutputs.base, lda: O, b: params + weight, ldb: H, beta: 0,
                      c: dY, ldc: H)
        }
        BLAS.gemm(.transposed, .none, m: O, n: H, k: rows, a: dOutputs.base, lda: O, b: y, ldb: H,
                  beta: 1, c: grads + weight, ldc: H)
        Vec.addColumnSums(dOutputs.base, rows: rows, cols: O, lda: O, into: grads + bias)
    }

    /// Softmax cross-entropy of `outputs` against class ids (one per output row); writes
    /// dOutputs = (softmax − onehot) / normalizer. A target of −1 (a padded step) is no
    /// target: its row adds nothing and gets a zero gradient.
    /// - Parameter normalizer: the count the loss is divided by (the global target count).
    func crossEntropy(targets: UnsafePointer<Int32>, normalizer: Float) -> LossSums {
        let scale = 1 / normalizer
        var sums = LossSums()
        for r in 0..<rows {
            let x = outputs.base + r * O, d = dOutputs.base + r * O
            let target = Int(targets[r])
            if target == -1 {
                Vec.zero(d, count: O)
                continue
            }
            sums.count += 1
            precondition(target >= 0 && target < O, "target \(target) outside 0..<\(O)")
            let lse = Act.logSumExp(x, count: O)
            sums.loss += Double(lse - x[target])
            if Act.argmax(x, count: O) == target { sums.correct += 1 }
            let l = F8(repeating: lse), s = F8(repeating: scale)
            Act.map(x, d, count: O) { Act.exp($0 - l) * s }
            d[target] -= scale
        }
        return sums
    }

    /// Squared error of `outputs` against targets laid out like them; writes
    /// dOutputs = 2 (y − target) / normalizer.
    /// - Parameter normalizer: the count the loss is divided by (the global count of values).
    func squaredError(targets: UnsafePointer<Float>, normalizer: Float) -> LossSums {
        let n = rows * O, scale = 2 / normalizer
        var sum = 0.0
        for i in 0..<n {
            let diff = outputs.base[i] - targets[i]
            sum += Double(diff * diff)
            dOutputs.base[i] = scale * diff
        }
        return LossSums(loss: sum, correct: 0, count: n)
    }
}
