// `recur bench`: placeholder until the benchmark lands (issue 6).

import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time full training steps on fixed synthetic workloads.")
    func run() throws { throw ValidationError("recur bench is not built yet") }
}
