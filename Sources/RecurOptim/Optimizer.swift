// The optimizer: owns the moment buffers (one flat buffer per state tensor, laid out like the
// parameters) and applies one update per call, as one pass over the flat parameter buffer.
// It allocates only in init; it does not schedule the learning rate, clip, or reduce gradients.

import RecurKernels

/// A `torch.optim` optimizer over one flat parameter buffer.
///
/// Typical use, once per synchronized step:
/// ```
/// let lr = schedule.learningRate(baseLR: Float(config.lr), step: optimizer.stepCount)
/// optimizer.step(parameters: params, gradients: grads, learningRate: lr)
/// ```
/// Not thread-safe: one thread calls `step` (the update is identical on every rank).
public final class Optimizer {
    public let config: OptimizerConfig
    public let parameterCount: Int
    /// Updates applied so far; PyTorch's `state["step"]`. Set it when restoring a checkpoint.
    public var stepCount: Int = 0

    /// State tensors in PyTorch's order, each `parameterCount` long.
    private let slots: [FloatBuffer]
    private let slotNames: [String]

    /// Allocates the state tensors `config` needs, filled as PyTorch fills them
    /// (zeros; Adagrad's `sum` with `initial_accumulator_value`).
    /// - Parameters:
    ///   - config: a configuration that passed `validate()` (checked again here, as a precondition).
    ///   - parameterCount: length of the flat parameter and gradient buffers.
    public init(config: OptimizerConfig, parameterCount: Int) {
        do { try config.validate() } catch { preconditionFailure("Optimizer: \(error)") }
        precondition(parameterCount >= 0, "Optimizer: negative parameterCount \(parameterCount)")
        self.config = config
        self.parameterCount = parameterCount
        slotNames = Optimizer.stateNames(for: config)
        slots = slotNames.map { _ in FloatBuffer(count: parameterCount) }
        if case let .adagrad(_, _, initial) = config.algorithm, initial != 0 {
            slots[0].base.update(repeating: Float(initial), count: parameterCount)
        }
    }

    /// PyTorch's state names for `config`, in the order `torch.optim` creates them ("step" aside).
    public static func stateNames(for config: OptimizerConfig) -> [String] {
        switch config.algorithm {
        case let .sgd(momentum, _, _):
            return momentum != 0 ? ["momentum_buffer"] : []
        case let .adam(_, _, _, amsgrad), let .adamw(_, _, _, amsgrad):
            return ["exp_avg", "exp_avg_sq"] + (amsgrad ? ["max_exp_avg_sq"] : [])
        case let .rmsprop(_, _, momentum, centered):
            return ["square_avg"] + (momentum > 0 ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : [])
        case .adagrad:
            return ["sum"]
        }
    }

    /// The live state buffers with PyTorch's names (e.g. `exp_avg`, `exp_avg_sq`), in PyTorch's order.
    /// A checkpoint saves their contents and `stepCount`; restoring writes both back (bitwise).
    public var stateTensors: [(name: String, buffer: FloatBuffer)] {
        zip(slotNames, slots).map { (name: $0, buffer: $1) }
    }

    /// Restores state saved from an optimizer with the same config and parameter count.
    /// - Parameters:
    ///   - stepCount: the saved `stepCount`.
    ///   - tensors: the saved state tensors by name; exactly the names of `stateTensors`.
    /// - Throws: `OptimError` if a name is missing or unexpected or a length differs; the state is
    ///   then left unchanged.
    public func restoreState(stepCount: Int, tensors: [String: [Float]]) throws(OptimError) {
        let key = "optimizer state"
        try OptimError.require(stepCount >= 0, key, "has a negative step count \(stepCount)")
        for name in tensors.keys where !slotNames.contains(name) {
            throw OptimError(key: key, "has a tensor '\(name)' that \(config.kind.rawValue) does not use "
                                      + "(expected: \(slotNames.joined(separator: ", ")))")
        }
        for name in slotNames {
            guard let values = tensors[name] else {
                throw OptimError(key: key, "lacks the tensor '\(name)' that \(config.kind.rawValue) needs")
            }
            try OptimError.require(values.count == parameterCount, key,
                                   "tensor '\(name)' has \(values.count) values, expected \(parameterCount)")
        }
        for (name, slot) in zip(slotNames, slots) {
            tensors[name]!.withUnsafeBufferPointer { slot.base.update(from: $0.baseAddress!, count: parameterCount) }
        }
        self.stepCount = stepCount
    }

    /// Applies one update, `torch.optim`'s `step()` with `foreach=False`.
    /// - Parameters:
    ///   - parameters: the flat parameters, updated in place.
    ///   - gradients: the flat gradients (already averaged and clipped); read only.
    ///   - count: must equal `parameterCount`.
    ///   - learningRate: this step's learning rate (the scheduled one, not `config.lr`).
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                     count: Int, learningRate: Float) {
        precondition(count == parameterCount, "Optimizer.step: \(count) values, expected \(parameterCount)")
        precondition(learningRate.isFinite && learningRate >= 0, "Optimizer.step: learning rate \(learningRate)")
        let firstStep = stepCount == 0
        stepCount += 1
        let wd = config.weightDecay
        switch config.algorithm {
        case let .sgd(momentum, dampening, nesterov):
            Self.sgd(parameters, gradients, momentumBuffer: slots.first?.base, count: count, lr: learningRate,
                     weightDecay: wd, momentum: momentum, dampening: dampening, nesterov: nesterov,
                     firstStep: firstStep)
        case let .adam(beta1, beta2, eps, amsgrad), let .adamw(beta1, beta2, eps, amsgrad):
            Self.adam(parameters, gradients, expAvg: slots[0].base, expAvgSq: slots[1].base,
                      maxExpAvgSq: amsgrad ? slots[2].base : nil, count: count, lr: learningRate,
                      step: stepCount, beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd,
                      decoupled: config.kind == .adamw)
        case let .rmsprop(alpha, eps, momentum, centered):
            let buffer = momentum > 0 ? slots[1].base : nil
            let gradAvg = centered ? slots[slots.count - 1].base : nil
            Self.rmsprop(parameters, gradients, squareAvg: slots[0].base, momentumBuffer: buffer, gradAvg: gradAvg,
                         count: count, lr: learningRate, alpha: alpha, eps: eps, weightDecay: wd,
                         momentum: momentum)
        case let .adagrad(lrDecay, eps, _):
            Self.adagrad(parameters, gradients, sum: slots[0].base, count: count, lr: learningRate,
                         step: stepCount, lrDecay: lrDecay, eps: eps, weightDecay: wd)
        }
    }

    /// `step(parameters:gradients:count:learningRate:)` over whole buffers.
    public func step(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float) {
        precondition(parameters.count == gradients.count,
                     "Optimizer.step: \(parameters.count) parameters but \(gradients.count) gradients")
        step(parameters: parameters.base, gradients: gradients.base, count: parameters.count,
             learningRate: learningRate)
    }
}
