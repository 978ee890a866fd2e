// Reduce-on-plateau as torch.optim.lr_scheduler.ReduceLROnPlateau (mode "min", threshold_mode
// "rel"): after each evaluation the rate is multiplied by `factor` when the metric has not
// improved for more than `patience` evaluations, then left alone for `cooldown` of them, never
// below `minLR`. Its state is four numbers, saved with a checkpoint so a resume continues it.

/// The settings of a plateau schedule.
public struct PlateauSettings: Sendable, Equatable {
    public var factor: Double
    public var patience: Int
    public var cooldown: Int
    public var minLR: Double
    /// Relative improvement that counts: metric < best · (1 − threshold).
    public var threshold: Double

    public init(factor: Double = 0.1, patience: Int = 10, cooldown: Int = 0, minLR: Double = 0, threshold: Double = 1e-4) {
        self.factor = factor; self.patience = patience; self.cooldown = cooldown; self.minLR = minLR; self.threshold = threshold
    }
}

/// The running state of a plateau schedule.
public struct PlateauState: Sendable, Equatable, Codable {
    public var learningRate: Double
    public var best = Double.infinity
    public var badEvaluations = 0
    public var cooldownLeft = 0

    public init(learningRate: Double) { self.learningRate = learningRate }

    /// One evaluation's metric (lower is better), as ReduceLROnPlateau.step(metric) sees it.
    public mutating func observe(_ metric: Double, _ s: PlateauSettings) {
        if metric < best * (1 - s.threshold) {
            best = metric
            badEvaluations = 0
        } else {
            badEvaluations += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEvaluations = 0
        }
        if badEvaluations > s.patience {
            let reduced = max(learningRate * s.factor, s.minLR)
            if learningRate - reduced > 1e-8 { learningRate = reduced }   // PyTorch's eps
            cooldownLeft = s.cooldown
            badEvaluations = 0
        }
    }

    /// The state as four numbers (a checkpoint keeps them) and back.
    public var values: [Double] { [learningRate, best, Double(badEvaluations), Double(cooldownLeft)] }
    public init?(values v: [Double]) {
        guard v.count == 4 else { return nil }
        learningRate = v[0]; best = v[1]; badEvaluations = Int(v[2]); cooldownLeft = Int(v[3])
    }
}
