// Learning-rate schedules as closed-form functions of the update count: constant, step decay,
// exponential decay, and cosine decay after a linear warm-up. Stateless, so resuming a run needs
// only the optimizer's stepCount; no schedule changes the optimizer's config.

import Foundation

/// How the learning rate changes with the number of updates done.
///
/// `step` counts optimizer updates from 0 (the first update); with base rate `lr`:
/// - `constant`: `lr`.
/// - `step(stepSize, gamma)`: `lr · gamma^⌊step / stepSize⌋` (PyTorch's StepLR, counted in updates).
/// - `exponential(gamma)`: `lr · gamma^step` (ExponentialLR, counted in updates).
/// - `cosine(warmupSteps: W, totalSteps: N, minLR)`:
///   `lr · (step + 1) / W` for `step < W` (so the rate reaches `lr` at step W - 1), then
///   `minLR + (lr - minLR) · (1 + cos(π · p)) / 2` with `p = min(1, (step - W) / max(1, N - W))`,
///   so step W runs at `lr` and every step from N on at `minLR`.
public enum LRSchedule: Sendable, Equatable {
    case constant
    case step(stepSize: Int, gamma: Double)
    case exponential(gamma: Double)
    case cosine(warmupSteps: Int, totalSteps: Int, minLR: Double)

    /// The learning rate for update number `step` (0 = the first update).
    /// - Parameters:
    ///   - baseLR: the optimizer's configured `lr`.
    ///   - step: updates done before this one (`Optimizer.stepCount` before `step`).
    /// - Returns: the rate, computed in Double and rounded to Float once.
    public func learningRate(baseLR: Float, step: Int) -> Float {
        precondition(step >= 0, "LRSchedule.learningRate: negative step \(step)")
        let lr = Double(baseLR)
        switch self {
        case .constant:
            return baseLR
        case let .step(stepSize, gamma):
            return Float(lr * pow(gamma, Double(step / stepSize)))
        case let .exponential(gamma):
            return Float(lr * pow(gamma, Double(step)))
        case let .cosine(warmupSteps, totalSteps, minLR):
            if step < warmupSteps {
                return Float(lr * Double(step + 1) / Double(warmupSteps))
            }
            let progress = min(1, Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
            return Float(minLR + (lr - minLR) * (1 + cos(Double.pi * progress)) / 2)
        }
    }

    /// Checks the schedule's values before any work starts.
    /// - Parameter baseLR: when given, `min_lr` must not exceed it.
    /// - Throws: `OptimError` naming the key, e.g. `schedule.step_size must be >= 1, got 0`.
    public func validate(baseLR: Double? = nil) throws(OptimError) {
        switch self {
        case .constant:
            break
        case let .step(stepSize, gamma):
            try OptimError.require(stepSize >= 1, "schedule.step_size", "must be >= 1, got \(stepSize)")
            try OptimError.positive(gamma, "schedule.gamma")
        case let .exponential(gamma):
            try OptimError.positive(gamma, "schedule.gamma")
        case let .cosine(warmupSteps, totalSteps, minLR):
            try OptimError.require(totalSteps >= 1, "schedule.total_steps", "must be >= 1, got \(totalSteps)")
            try OptimError.require(warmupSteps >= 0 && warmupSteps <= totalSteps, "schedule.warmup_steps",
                                   "must be in [0, total_steps = \(totalSteps)], got \(warmupSteps)")
            try OptimError.nonNegative(minLR, "schedule.min_lr")
            if let baseLR {
                try OptimError.require(minLR <= baseLR, "schedule.min_lr",
                                       "must not exceed the optimizer's lr \(baseLR), got \(minLR)")
            }
        }
    }

    /// The schedule's name, the `kind` key of the config.
    public var kindName: String {
        switch self {
        case .constant: "constant"
        case .step: "step"
        case .exponential: "exponential"
        case .cosine: "cosine"
        }
    }
}
