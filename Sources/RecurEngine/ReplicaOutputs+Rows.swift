// How a replica's output rows are laid out, said once: every-step heads write T·b rows, time
// major (row t·b + j is step t of window j); last-step heads write b rows. Inference reads
// rows through these and never computes an offset itself.

extension ReplicaOutputs {
    /// Whether the head wrote a row for every step (else one per window, its last step).
    public var everyStep: Bool { rows != windows }

    /// Steps per window in the batch (1 for a last-step head).
    public var stepsPerWindow: Int { rows / max(windows, 1) }

    /// The real steps of window `j`: its length for data of variable lengths, else every step
    /// the head wrote.
    public func steps(ofWindow j: Int) -> Int { everyStep ? lengths.map { Int($0[j]) } ?? stepsPerWindow : 1 }

    /// The row index of step `t` of window `j` (t = 0 for a last-step head).
    public func row(window j: Int, step t: Int = 0) -> Int { t * windows + j }

    /// The row of window `j`'s last output: its last step for an every-step head of fixed
    /// length, its only row for a last-step head.
    public func lastRow(window j: Int) -> Int { row(window: j, step: stepsPerWindow - 1) }

    /// The `outputSize` values of row `r`.
    public func output(row r: Int) -> UnsafePointer<Float> { outputs + r * outputSize }
}
