// What an optimizer is: the algorithm (SGD, Adam, AdamW, RMSprop, Adagrad), its hyperparameters,
// the base learning rate and weight decay, with PyTorch's defaults and a validate() step.
// It does not hold state or do the update (Optimizer does), nor schedule the rate (LRSchedule).

/// One optimizer as written in an experiment config, e.g. `{kind: adam, lr: 0.001, beta2: 0.99}`.
///
/// Hyperparameters are `Double`, as PyTorch's Python scalars are: derived constants such as
/// `1 - beta1` or Adam's bias corrections are computed in double precision and rounded to `Float`
/// once, exactly where `torch.optim` rounds them, so the update matches PyTorch's bit for bit
/// wherever the float operations are the same.
public struct OptimizerConfig: Sendable, Equatable {
    /// The algorithm's name, the `kind` key of the config.
    public enum Kind: String, Sendable, CaseIterable {
        case sgd, adam, adamw, rmsprop, adagrad
    }

    /// The algorithm and the hyperparameters only it uses.
    public enum Algorithm: Sendable, Equatable {
        /// `torch.optim.SGD`. `nesterov` needs `momentum > 0` and `dampening == 0`.
        case sgd(momentum: Double, dampening: Double, nesterov: Bool)
        /// `torch.optim.Adam`; weight decay is L2, added to the gradient.
        case adam(beta1: Double, beta2: Double, eps: Double, amsgrad: Bool)
        /// `torch.optim.AdamW`; weight decay is decoupled: `p *= 1 - lr·weight_decay` first.
        case adamw(beta1: Double, beta2: Double, eps: Double, amsgrad: Bool)
        /// `torch.optim.RMSprop`.
        case rmsprop(alpha: Double, eps: Double, momentum: Double, centered: Bool)
        /// `torch.optim.Adagrad`; the step uses `lr / (1 + (step - 1)·lr_decay)`.
        case adagrad(lrDecay: Double, eps: Double, initialAccumulatorValue: Double)
    }

    public var algorithm: Algorithm
    /// Base learning rate; a schedule scales it and `Optimizer.step` receives the result.
    public var lr: Double
    /// L2 penalty added to the gradient, or the decoupled decay rate for AdamW.
    public var weightDecay: Double

    /// - Parameters:
    ///   - algorithm: the algorithm and its hyperparameters.
    ///   - lr: base learning rate.
    ///   - weightDecay: L2 penalty (decoupled for AdamW).
    public init(algorithm: Algorithm, lr: Double, weightDecay: Double) {
        self.algorithm = algorithm
        self.lr = lr
        self.weightDecay = weightDecay
    }

    public var kind: Kind {
        switch algorithm {
        case .sgd: .sgd
        case .adam: .adam
        case .adamw: .adamw
        case .rmsprop: .rmsprop
        case .adagrad: .adagrad
        }
    }

    // MARK: - Constructors with PyTorch's defaults

    /// `torch.optim.SGD` with PyTorch's defaults.
    public static func sgd(lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                           nesterov: Bool = false, weightDecay: Double = 0) -> OptimizerConfig {
        OptimizerConfig(algorithm: .sgd(momentum: momentum, dampening: dampening, nesterov: nesterov),
                        lr: lr, weightDecay: weightDecay)
    }

    /// `torch.optim.Adam` with PyTorch's defaults.
    public static func adam(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                            weightDecay: Double = 0, amsgrad: Bool = false) -> OptimizerConfig {
        OptimizerConfig(algorithm: .adam(beta1: beta1, beta2: beta2, eps: eps, amsgrad: amsgrad),
                        lr: lr, weightDecay: weightDecay)
    }

    /// `torch.optim.AdamW` with PyTorch's defaults (note `weightDecay` 1e-2).
    public static func adamw(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                             weightDecay: Double = 1e-2, amsgrad: Bool = false) -> OptimizerConfig {
        OptimizerConfig(algorithm: .adamw(beta1: beta1, beta2: beta2, eps: eps, amsgrad: amsgrad),
                        lr: lr, weightDecay: weightDecay)
    }

    /// `torch.optim.RMSprop` with PyTorch's defaults.
    public static func rmsprop(lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0,
                               momentum: Double = 0, centered: Bool = false) -> OptimizerConfig {
        OptimizerConfig(algorithm: .rmsprop(alpha: alpha, eps: eps, momentum: momentum, centered: centered),
                        lr: lr, weightDecay: weightDecay)
    }

    /// `torch.optim.Adagrad` with PyTorch's defaults.
    public static func adagrad(lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                               initialAccumulatorValue: Double = 0, eps: Double = 1e-10) -> OptimizerConfig {
        OptimizerConfig(algorithm: .adagrad(lrDecay: lrDecay, eps: eps, initialAccumulatorValue: initialAccumulatorValue),
                        lr: lr, weightDecay: weightDecay)
    }

    /// PyTorch's defaults for `kind`.
    public static func defaults(for kind: Kind) -> OptimizerConfig {
        switch kind {
        case .sgd: .sgd()
        case .adam: .adam()
        case .adamw: .adamw()
        case .rmsprop: .rmsprop()
        case .adagrad: .adagrad()
        }
    }

    // MARK: - Validation

    /// Checks every value is in range before any work starts.
    ///
    /// Stricter than PyTorch where PyTorch's accepted value cannot train: `lr` must be > 0 and
    /// every `eps` > 0; RMSprop's `alpha` must be < 1 (at 1 the average never moves).
    /// - Throws: `OptimError` naming the first offending key, e.g.
    ///   `optimizer.beta1 must be in [0, 1), got 1.5`.
    public func validate() throws(OptimError) {
        try OptimError.positive(lr, "optimizer.lr")
        try OptimError.nonNegative(weightDecay, "optimizer.weight_decay")
        switch algorithm {
        case let .sgd(momentum, dampening, nesterov):
            try OptimError.nonNegative(momentum, "optimizer.momentum")
            try OptimError.require(dampening >= 0 && dampening <= 1, "optimizer.dampening",
                                   "must be in [0, 1], got \(dampening)")
            if nesterov {
                try OptimError.require(momentum > 0, "optimizer.nesterov",
                                       "needs momentum > 0, got momentum \(momentum)")
                try OptimError.require(dampening == 0, "optimizer.nesterov",
                                       "needs dampening 0, got dampening \(dampening)")
            }
        case let .adam(beta1, beta2, eps, _), let .adamw(beta1, beta2, eps, _):
            try OptimError.unitInterval(beta1, "optimizer.beta1")
            try OptimError.unitInterval(beta2, "optimizer.beta2")
            try OptimError.positive(eps, "optimizer.eps")
        case let .rmsprop(alpha, eps, momentum, _):
            try OptimError.unitInterval(alpha, "optimizer.alpha")
            try OptimError.positive(eps, "optimizer.eps")
            try OptimError.nonNegative(momentum, "optimizer.momentum")
        case let .adagrad(lrDecay, eps, initialAccumulatorValue):
            try OptimError.nonNegative(lrDecay, "optimizer.lr_decay")
            try OptimError.positive(eps, "optimizer.eps")
            try OptimError.nonNegative(initialAccumulatorValue, "optimizer.initial_accumulator_value")
        }
    }
}
