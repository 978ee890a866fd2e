// A test hook, not a feature: RECUR_FAIL_STEP=n (and optionally RECUR_FAIL_RANK=r) makes that
// rank fail just before update n, so the tests (and an operator rehearsing a job) can check that
// one failing rank ends the whole job quickly with its message. Read once; inert when unset.

import Foundation

struct FailureDrill {
    let step: Int
    let rank: Int?

    /// The drill the environment asks for, or nil (the normal case).
    static let fromEnvironment: FailureDrill? = {
        let env = ProcessInfo.processInfo.environment
        guard let step = env["RECUR_FAIL_STEP"].flatMap(Int.init) else { return nil }
        return FailureDrill(step: step, rank: env["RECUR_FAIL_RANK"].flatMap(Int.init))
    }()

    /// Throws on the drilled rank just before update `nextStep`.
    func check(nextStep: Int, rank: Int) throws {
        if nextStep == step && (self.rank ?? rank) == rank {
            throw TrainingError(description: "injected failure at step \(step) (RECUR_FAIL_STEP)")
        }
    }
}
