// The one error type of RecurOptim: a bad optimizer or schedule setting a user wrote in a config.
// It names the config key and says what was expected. Programmer errors (mismatched buffer sizes)
// are preconditions, not OptimErrors.

import RecurKernels
import Foundation

/// A configuration problem, printed as `<key> <problem>`,
/// e.g. `optimizer.beta1 must be in [0, 1), got 1.5`.
public struct OptimError: UserInputError, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The config key path, e.g. `optimizer.beta1` or `schedule.total_steps`.
    public var key: String
    /// What is wrong with it and what would be accepted.
    public var problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(key) \(problem)" }
    public var errorDescription: String? { description }
}

// MARK: - Checks shared by OptimizerConfig and LRSchedule

extension OptimError {
    static func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) throws(OptimError) {
        if !ok { throw OptimError(key: key, problem()) }
    }

    /// `value` is finite and `> 0`.
    static func positive(_ value: Double, _ key: String) throws(OptimError) {
        try require(value.isFinite && value > 0, key, "must be > 0, got \(value)")
    }

    /// `value` is finite and `>= 0`.
    static func nonNegative(_ value: Double, _ key: String) throws(OptimError) {
        try require(value.isFinite && value >= 0, key, "must be >= 0, got \(value)")
    }

    /// `value` lies in [0, 1).
    static func unitInterval(_ value: Double, _ key: String) throws(OptimError) {
        try require(value >= 0 && value < 1, key, "must be in [0, 1), got \(value)")
    }
}
