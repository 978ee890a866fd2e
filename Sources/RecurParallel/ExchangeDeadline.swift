// The deadline on every exchange between ranks during training (Note [Exchange deadline]).
// The watching thread is C (CKernels/deadline.c); MPICommunicator arms it around each blocking
// call, and the training loop names the step and widens the deadline around known pauses.

import CKernels
import RecurKernels
#if canImport(Glibc)
import Glibc
#endif

// Note [Exchange deadline]
// Open MPI over TCP does not notice a peer that stops answering without closing its
// connection (a cut cable, a dead switch port, a host frozen in the kernel): a blocking
// receive waits forever, and SIGTERM to mpirun does not end a job whose daemon it cannot
// reach. So every blocking MPI call of a training run is timed: before the call the main
// thread stores the time and the peer it waits on (two relaxed atomic stores, nothing
// allocated), after it clears them, and a thread started with the run looks every 100 ms.
// A wait longer than `parallel.exchange_timeout` (default 20 s) prints which rank and host the
// process waited on, at which step, and how to continue, and ends the process with status 75
// (EX_TEMPFAIL); mpirun then ends the rest of the job as for any dead rank, and the last
// checkpoint is intact (checkpoints are written whole or not at all). A wait includes the time
// a peer is still computing its step, so the deadline must exceed the ranks' largest
// difference in step time: known pauses of one rank get a longer one (rank 0 writing a
// checkpoint: the ranks meet after it under `pauseFactor` times the deadline). Nothing runs
// with one process, where there is nothing to wait on.

/// The deadline on blocking exchanges between ranks; process-wide.
public enum ExchangeDeadline {
    /// How much longer than the deadline a known pause of one rank may take.
    public static let pauseFactor = 10.0

    /// Starts watching (once per process; every rank calls it together, since it gathers the
    /// ranks' host names). `resumeHint` ends the message ("continue with: …").
    public static func start(seconds: Double, comm: Communicator, resumeHint: String) {
        guard comm.size > 1, comm is MPICommunicator else { return }
        let mine = hostName()
        var words = [UInt64](repeating: 0, count: 8)
        for (i, byte) in mine.utf8.prefix(63).enumerated() { words[i / 8] |= UInt64(byte) << (8 * UInt64(i % 8)) }
        let names = comm.allgather(words).map { w -> String in
            let bytes = (0..<64).map { UInt8(truncatingIfNeeded: w[$0 / 8] >> (8 * UInt64($0 % 8))) }
            return String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        var cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let rc = cNames.withUnsafeMutableBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: p.count) {
                recur_deadline_start(seconds, Int32(comm.rank), mine, Int32(comm.size), $0, resumeHint)
            }
        }
        if rc != 0 { Console.error("recur: rank \(comm.rank): could not start the exchange deadline thread; a lost peer may hang the job\n") }
    }

    /// The step named if the deadline passes.
    public static func setStep(_ step: Int) { recur_deadline_set_step(step) }

    /// Runs `body` (a collective) with `pauseFactor` times the deadline.
    public static func allowingPause<T>(_ body: () throws -> T) rethrows -> T {
        recur_deadline_scale(pauseFactor)
        defer { recur_deadline_scale(1) }
        return try body()
    }

    /// A blocking wait on `peer` (nil: several ranks) around `body`.
    @inline(__always)
    static func waiting<T>(on peer: Int?, _ body: () -> T) -> T {
        recur_deadline_arm(Int32(peer ?? -1))
        defer { recur_deadline_disarm() }
        return body()
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(cString: buffer)
    }
}
