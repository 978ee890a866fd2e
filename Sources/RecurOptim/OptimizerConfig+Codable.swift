// OptimizerConfig in config files: flat snake_case keys (`kind: adam`, `lr`, `beta1`, `weight_decay` …).
// Missing keys take PyTorch's defaults for the kind; unknown keys, and keys of another kind
// (`beta1` under `kind: sgd`), are errors, so a typo never passes silently. Range checks are validate()'s.

/// A coding key that accepts any name, so decoding can see and reject keys it does not know.
struct ConfigKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where K == ConfigKey {
    /// Throws if a key outside `allowed` is present; `what` ends the message ("for kind 'sgd'").
    func rejectUnknownKeys(allowed: [String], section: String, what: String) throws {
        for key in allKeys where !allowed.contains(key.stringValue) {
            throw OptimError(key: "\(section).\(key.stringValue)",
                             "is not a setting \(what); known keys: \(allowed.joined(separator: ", "))")
        }
    }

    func value<T: Decodable>(_ name: String, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: ConfigKey(name)) ?? fallback
    }
}

extension OptimizerConfig.Kind {
    /// The config keys this kind reads, `kind` included.
    var configKeys: [String] {
        let common = ["kind", "lr", "weight_decay"]
        switch self {
        case .sgd: return common + ["momentum", "dampening", "nesterov"]
        case .adam, .adamw: return common + ["beta1", "beta2", "eps", "amsgrad"]
        case .rmsprop: return common + ["alpha", "eps", "momentum", "centered"]
        case .adagrad: return common + ["lr_decay", "eps", "initial_accumulator_value"]
        }
    }
}

extension OptimizerConfig: Codable {
    /// Decodes `{kind: …, lr: …, …}`; absent keys take PyTorch's defaults for that kind.
    /// - Throws: `OptimError` for a missing or unknown `kind` and for keys the kind does not use;
    ///   `DecodingError` for a value of the wrong type.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ConfigKey.self)
        let names = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = try c.decodeIfPresent(String.self, forKey: ConfigKey("kind")) else {
            throw OptimError(key: "optimizer.kind", "is missing; expected one of \(names)")
        }
        guard let kind = Kind(rawValue: name) else {
            throw OptimError(key: "optimizer.kind", "must be one of \(names), got '\(name)'")
        }
        try c.rejectUnknownKeys(allowed: kind.configKeys, section: "optimizer", what: "for kind '\(name)'")

        let base = OptimizerConfig.defaults(for: kind)
        lr = try c.value("lr", default: base.lr)
        weightDecay = try c.value("weight_decay", default: base.weightDecay)
        switch base.algorithm {
        case let .sgd(momentum, dampening, nesterov):
            algorithm = .sgd(momentum: try c.value("momentum", default: momentum),
                             dampening: try c.value("dampening", default: dampening),
                             nesterov: try c.value("nesterov", default: nesterov))
        case let .adam(beta1, beta2, eps, amsgrad), let .adamw(beta1, beta2, eps, amsgrad):
            let b1 = try c.value("beta1", default: beta1), b2 = try c.value("beta2", default: beta2)
            let e = try c.value("eps", default: eps), ams = try c.value("amsgrad", default: amsgrad)
            algorithm = kind == .adam ? .adam(beta1: b1, beta2: b2, eps: e, amsgrad: ams)
                                      : .adamw(beta1: b1, beta2: b2, eps: e, amsgrad: ams)
        case let .rmsprop(alpha, eps, momentum, centered):
            algorithm = .rmsprop(alpha: try c.value("alpha", default: alpha),
                                 eps: try c.value("eps", default: eps),
                                 momentum: try c.value("momentum", default: momentum),
                                 centered: try c.value("centered", default: centered))
        case let .adagrad(lrDecay, eps, initialAccumulatorValue):
            algorithm = .adagrad(lrDecay: try c.value("lr_decay", default: lrDecay),
                                 eps: try c.value("eps", default: eps),
                                 initialAccumulatorValue: try c.value("initial_accumulator_value",
                                                                      default: initialAccumulatorValue))
        }
    }

    /// Writes every key the kind uses, defaults included, so a saved config is fully resolved.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ConfigKey.self)
        try c.encode(kind.rawValue, forKey: ConfigKey("kind"))
        try c.encode(lr, forKey: ConfigKey("lr"))
        try c.encode(weightDecay, forKey: ConfigKey("weight_decay"))
        switch algorithm {
        case let .sgd(momentum, dampening, nesterov):
            try c.encode(momentum, forKey: ConfigKey("momentum"))
            try c.encode(dampening, forKey: ConfigKey("dampening"))
            try c.encode(nesterov, forKey: ConfigKey("nesterov"))
        case let .adam(beta1, beta2, eps, amsgrad), let .adamw(beta1, beta2, eps, amsgrad):
            try c.encode(beta1, forKey: ConfigKey("beta1"))
            try c.encode(beta2, forKey: ConfigKey("beta2"))
            try c.encode(eps, forKey: ConfigKey("eps"))
            try c.encode(amsgrad, forKey: ConfigKey("amsgrad"))
        case let .rmsprop(alpha, eps, momentum, centered):
            try c.encode(alpha, forKey: ConfigKey("alpha"))
            try c.encode(eps, forKey: ConfigKey("eps"))
            try c.encode(momentum, forKey: ConfigKey("momentum"))
            try c.encode(centered, forKey: ConfigKey("centered"))
        case let .adagrad(lrDecay, eps, initialAccumulatorValue):
            try c.encode(lrDecay, forKey: ConfigKey("lr_decay"))
            try c.encode(eps, forKey: ConfigKey("eps"))
            try c.encode(initialAccumulatorValue, forKey: ConfigKey("initial_accumulator_value"))
        }
    }
}
