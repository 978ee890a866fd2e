// prctl is variadic, so Swift cannot call it; this is the one call the tool needs.

#include "CKernels.h"
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

int recur_signal_when_parent_dies(int sig, int expected_parent) {
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) != 0) return -1;
    // The parent may have died before prctl: then this process was reparented already.
    return getppid() == expected_parent ? 0 : 1;
}
