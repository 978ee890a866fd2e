// The resolved experiment written back in the experiment-file schema, every default filled in
// (for `recur config show` and the run directory's config.yaml). The output reads back with
// ExperimentConfig.load to the same value; keys appear in the order docs/config.md lists them.

import Foundation
import RecurOptim
import Yams

extension ExperimentConfig {
    /// The experiment as YAML that `ExperimentConfig.parse` reads back to an equal value.
    public func yaml() throws -> String {
        try Yams.serialize(node: fileNode())
    }

    func fileNode() -> Node {
        func map(_ pairs: [(String, Node?)]) -> Node {
            Node(pairs.compactMap { k, v in v.map { (Node(k), $0) } })
        }
        func n(_ v: Int) -> Node { Node(String(v)) }
        func n(_ v: Double) -> Node { Node(v == v.rounded() && abs(v) < 1e15 ? String(format: "%.1f", v) : "\(v)") }
        func n(_ v: Bool) -> Node { Node(v ? "true" : "false") }
        func n(_ v: String) -> Node { Node(v, .implicit, v.isEmpty || Double(v) != nil || ["true", "false", "null", "~", "yes", "no"].contains(v.lowercased()) ? .doubleQuoted : .plain) }
        func list(_ v: [String]?) -> Node? { v.map { Node($0.map { n($0) }, .implicit, .flow) } }

        let d = data, m = model, t = training
        let o = t.optimizer
        var opt: [(String, Node?)] = [("kind", n(o.kind.rawValue)), ("lr", n(o.lr)), ("weight_decay", n(o.weightDecay))]
        switch o.algorithm {
        case let .sgd(momentum, dampening, nesterov):
            opt += [("momentum", n(momentum)), ("dampening", n(dampening)), ("nesterov", n(nesterov))]
        case let .adam(b1, b2, eps, ams), let .adamw(b1, b2, eps, ams):
            opt += [("beta1", n(b1)), ("beta2", n(b2)), ("eps", n(eps)), ("amsgrad", n(ams))]
        case let .rmsprop(alpha, eps, momentum, centered):
            opt += [("alpha", n(alpha)), ("eps", n(eps)), ("momentum", n(momentum)), ("centered", n(centered))]
        case let .adagrad(lrDecay, eps, initial):
            opt += [("lr_decay", n(lrDecay)), ("eps", n(eps)), ("initial_accumulator_value", n(initial))]
        }
        let schedule: [(String, Node?)]
        switch t.schedule {
        case .constant: schedule = [("kind", n("constant"))]
        case let .step(size, gamma): schedule = [("kind", n("step")), ("step_size", n(size)), ("gamma", n(gamma))]
        case let .exponential(gamma): schedule = [("kind", n("exponential")), ("gamma", n(gamma))]
        case let .cosine(w, total, minLR):
            schedule = [("kind", n("cosine")), ("warmup_steps", n(w)), ("total_steps", n(total)), ("min_lr", n(minLR))]
        }
        return map([
            ("experiment", map([("name", n(name)), ("seed", n(Int(seed)))])),
            ("data", map([
                ("kind", n(d.kind.rawValue)), ("path", n(d.path)), ("columns", list(d.columns)), ("targets", list(d.targets)),
                ("normalize", n(d.normalize.rawValue)), ("missing", n(d.missing.rawValue)),
                ("seq_len", n(d.seqLen)), ("stride", n(d.stride)), ("target", n(d.target.rawValue)), ("horizon", n(d.horizon)),
                ("split", map([("train", n(d.split.train)), ("validation", n(d.split.validation)), ("test", n(d.split.test))])),
                ("shuffle", n(d.shuffle)), ("drop_last", n(d.dropLast)), ("stateful", n(d.stateful)),
                ("vocabulary", map([("min_count", n(d.minCount)), ("max_size", d.maxSize.map { n($0) }),
                                    ("unknown", n(d.unknownToken)), ("lowercase", n(d.lowercase))])),
            ])),
            ("model", map([
                ("cell", n(m.cell.rawValue)), ("hidden_size", n(m.hiddenSize)), ("layers", n(m.layers)), ("dropout", n(m.dropout)),
                ("input", n(m.input.rawValue)), ("embedding_size", n(m.embeddingSize)),
                ("gru", map([("reset", n(m.gruReset.rawValue))])), ("rnn", map([("nonlinearity", n(m.nonlinearity.rawValue))])),
                ("forget_bias", n(m.forgetBias)), ("init_from", m.initFrom.map { n($0) }),
            ])),
            ("training", map([
                ("epochs", t.epochs.map { n($0) }), ("steps", t.steps.map { n($0) }), ("batch_size", n(t.batchSize)),
                ("optimizer", map(opt)), ("schedule", map(schedule)),
                ("clip", map([("norm", n(t.clipNorm ?? 0)), ("value", t.clipValue.map { n($0) })])),
                ("log_every", n(t.logEvery)), ("eval_every", n(t.evalEvery)), ("checkpoint_every", n(t.checkpointEvery)),
                ("keep_checkpoints", n(t.keepCheckpoints)), ("on_nonfinite", n(t.onNonFinite.rawValue)),
            ])),
            ("parallel", map([("threads", parallel.threads.map { n($0) }), ("bucket_size", n(parallel.bucketSize))])),
            ("output", map([("dir", n(output.dir))])),
        ])
    }
}
