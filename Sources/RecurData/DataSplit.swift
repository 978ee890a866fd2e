// The three splits and how fractions become contiguous, time-ordered ranges. Nothing is
// shuffled across a split boundary, so nothing leaks from validation or test into training.
// It does not read data; readers apply the ranges.

import RecurFiles

/// Training, validation or test part of a data set.
public enum DataSplit: String, Sendable, Codable, CaseIterable {
    case train, validation, test

    /// The split's name in messages: "training", "validation", "test".
    public var name: String {
        switch self { case .train: "training"; case .validation: "validation"; case .test: "test" }
    }

    var index: Int {
        switch self { case .train: 0; case .validation: 1; case .test: 2 }
    }
}

/// The fractions of the data in each split, taken in order: train first, then validation,
/// then test.
///
/// Rule: with N items and cumulative fractions c₁ = train, c₂ = train + validation,
/// c₃ = train + validation + test, the boundaries are bᵢ = ⌊N·cᵢ + ½⌋ (b₃ = N when the
/// fractions add up to 1), and the splits are [0, b₁), [b₁, b₂), [b₂, b₃). Items past b₃ are
/// unused.
public struct SplitFractions: Sendable, Equatable, Codable {
    /// Fraction of the items in the training split (first).
    public var train: Double
    /// Fraction in the validation split (after training).
    public var validation: Double
    /// Fraction in the test split (last).
    public var test: Double

    /// Defaults: 90 % training, 10 % validation, no test split.
    public init(train: Double = 0.9, validation: Double = 0.1, test: Double = 0) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// Checks that the fractions are in [0, 1], training is positive and they add up to at most 1.
    /// - Throws: `DataError.Kind.invalidSetting`.
    public func validate() throws(DataError) {
        for (name, f) in [("train", train), ("validation", validation), ("test", test)] where !(f >= 0 && f <= 1) {
            throw DataError(.invalidSetting, problem: "split fraction \(name) is \(f), outside [0, 1]",
                            fix: "give each split a fraction between 0 and 1")
        }
        if train <= 0 {
            throw DataError(.invalidSetting, problem: "the training split fraction is 0",
                            fix: "give the training split a positive fraction")
        }
        if train + validation + test > 1 + 1e-9 {
            throw DataError(.invalidSetting, problem: "split fractions add up to \(train + validation + test), more than 1",
                            fix: "make train + validation + test at most 1")
        }
    }

    /// The ranges of the three splits over `count` items, indexed like `DataSplit.allCases`.
    public func ranges(count: Int) -> [Range<Int>] {
        func boundary(_ c: Double) -> Int {
            if c >= 1 - 1e-9 { return count }
            return min(count, Int((Double(count) * c + 0.5).rounded(.down)))
        }
        let b1 = boundary(train), b2 = max(b1, boundary(train + validation)), b3 = max(b2, boundary(train + validation + test))
        return [0..<b1, b1..<b2, b2..<b3]
    }

    // Note [Given splits]
    // Benchmarks come as TRAIN and TEST files: data.validation_path and data.test_path name a
    // split's file, read with what the training file fitted (normalisation, vocabulary, columns,
    // classes), never fitting anything of their own, and appended after it: a split given as a
    // file is exactly that file, in its order. The training file is divided, as before, among the
    // training split and the splits no file was given for, their fractions scaled to fill it
    // (`forTrainingFile`); a fraction set for a split that has a file is refused, so all three
    // files leave no fraction to set. Each data set appends the parts (`appending`), so windows never
    // cross from one file into the next.

    /// The fractions that divide the training file when `given` splits come as files of their
    /// own (Note [Given splits]): those splits get none, and the others' are scaled to add up
    /// to 1 — the training file then holds exactly the training split and the splits without a file.
    public func forTrainingFile(given: Set<DataSplit>) -> SplitFractions {
        guard !given.isEmpty else { return self }
        let v = given.contains(.validation) ? 0 : validation, t = given.contains(.test) ? 0 : test
        let total = train + v + t
        return SplitFractions(train: train / total, validation: v / total, test: t / total)
    }

    /// The fraction of one split.
    public func fraction(_ split: DataSplit) -> Double {
        switch split { case .train: train; case .validation: validation; case .test: test }
    }
}
