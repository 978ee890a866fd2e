// A child's life tied to its parent's (Linux prctl PR_SET_PDEATHSIG), for `recur sweep`'s runs.

import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Ties a child process's life to its parent's.
public enum ParentWatch {
    /// Delivers `signal` to this process when its parent dies (also by SIGKILL), and at once
    /// when the parent is no longer `parent` (it died before the call).
    public static func signalWhenParentDies(_ signal: Int32, parent: Int32) {
        if recur_signal_when_parent_dies(signal, parent) == 1 { kill(getpid(), signal) }
    }
}
