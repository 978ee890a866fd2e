// SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1 during training: the first one asks the run to stop after the step in
// flight (Note [Stopping on a signal]); a second one ends the process at once. The handler only
// stores the signal number and writes one line, both async-signal-safe; the run loop reads it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Note [Stopping on a signal]
// Ctrl-C, `kill`, and a scheduler's preemption (Slurm sends SIGTERM, then SIGKILL after its
// KillWait; `sbatch --signal=USR1@120` asks for SIGUSR1 first) should cost no work. mpirun
// turns SIGTERM and SIGINT into SIGTERM for every rank followed by SIGKILL after
// odls_base_sigkill_timeout (1 s by default; launch/train raises it to 120 s), and forwards
// SIGUSR1 as it is. SIGHUP (the terminal closed: an ssh session dropped) and SIGQUIT (Ctrl-\\)
// stop the same way, with no crash report; SIGPIPE is ignored (the command line's main), so a
// closed pipe is a write error, and progress lost to a closed terminal never ends a run. A signal sets a flag; every rank adds its flag to the step's
// loss-sum allreduce (Engine.step's `stopRequested`), so all ranks learn of a stop after the
// same step, write one consistent checkpoint together, and exit 128 + the signal (130 SIGINT,
// 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT, 138 SIGUSR1) with a line saying how to resume. A second
// signal exits at once.
public enum StopRequest {
    /// The first stop signal received, 0 while none. Written only by the handler.
    private static let received: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    private static let announce: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 1)
        return p
    }()
    private static let notice: [UInt8] = Array("\nrecur: stopping after this step and writing a checkpoint (signal again to stop at once)\n".utf8)
    private static let noticeBytes: UnsafeMutablePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: notice.count)
        p.initialize(from: notice, count: notice.count)
        return p
    }()

    /// The signals that ask a run to stop.
    public static let stopSignals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1]

    /// Installs the handlers for `stopSignals` (idempotent); only an `announcing` process
    /// (rank 0) writes the notice.
    public static func install(announcing: Bool = true) {
        _ = received; _ = noticeBytes             // initialise before any signal can arrive
        announce.pointee = announcing ? 1 : 0
        for sig in stopSignals {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { sig in StopRequest.handle(sig) }
            #else
            action.__sigaction_u.__sa_handler = { sig in StopRequest.handle(sig) }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
    }

    /// Stops like SIGTERM when SIGUSR2 arrives, for the death of a parent that asked for SIGUSR2
    /// (prctl PR_SET_PDEATHSIG; `recur sweep`'s runs). The kernel sends that signal again each
    /// time the orphan is passed to another of the dying parent's threads, so a repeat is never
    /// the "second signal" that ends the process at once: the run still writes its checkpoint.
    public static func installParentDeathStop() {
        install(announcing: announce.pointee != 0)
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in StopRequest.handleParentDeath() }
        #else
        action.__sigaction_u.__sa_handler = { _ in StopRequest.handleParentDeath() }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGUSR2, &action, nil)
    }

    private static func handleParentDeath() {
        if received.pointee != 0 { return }
        received.pointee = SIGTERM
        if announce.pointee != 0 { _ = write(2, noticeBytes, notice.count) }
    }

    private static func handle(_ sig: Int32) {
        if received.pointee != 0 { _exit(128 + sig) }
        received.pointee = sig
        if announce.pointee != 0 { _ = write(2, noticeBytes, notice.count) }
    }

    /// The signal that asked to stop, or nil.
    public static var signal: Int32? {
        let s = received.pointee
        return s == 0 ? nil : s
    }

    /// Clears the request (tests).
    static func reset() { received.pointee = 0 }

    /// The exit status for a run stopped by `signal` (130 SIGINT, 143 SIGTERM, 138 SIGUSR1).
    public static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }

    /// The signal's name for messages.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGQUIT: return "SIGQUIT"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(signal)"
        }
    }
}

/// A run that stopped early on a signal, after writing a checkpoint of `step`.
public struct StoppedBySignal: Error, CustomStringConvertible {
    public var signal: Int32
    public var step: Int
    public var totalSteps: Int
    public var description: String {
        "stopped by \(StopRequest.name(signal)) at step \(step) of \(totalSteps); the checkpoint of step \(step) is written"
    }
}
