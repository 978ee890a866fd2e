// Counts heap allocations of the whole `recur` process by replacing glibc's malloc family
// (the replacement glibc documents: the executable defines malloc, free, calloc, realloc and
// the aligned variants, and every shared library's calls resolve to them). Each call is
// counted, then forwarded to glibc's own allocator (__libc_malloc …). Only `recur bench`
// reads the count; elsewhere (macOS, musl) the functions exist and report "unavailable".
#pragma once
#include <stdint.h>

/// Allocation calls (malloc, calloc, realloc, memalign, posix_memalign, aligned_alloc, valloc)
/// made by any thread since the process started.
uint64_t recur_allocation_count(void);

/// 1 when allocations are really counted on this platform, 0 when the count is always 0.
int recur_allocation_counting_available(void);
