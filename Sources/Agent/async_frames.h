/*
 * async_frames.h: the awaiting callers of a Swift async function in the
 * stacks captured while it runs. The thread's stack only holds the task's
 * current partial function and the executor that runs it; the callers wait
 * in the task's chain of async contexts.
 */
#ifndef SWIFTLEAK_ASYNC_FRAMES_H
#define SWIFTLEAK_ASYNC_FRAMES_H

#include <stdatomic.h>
#include <stdint.h>

/* Look for the Swift concurrency runtime's job entry points and read the
 * process's mappings (not for the hook path: dlsym, dladdr, a file read).
 * Without them stacks stay as captured. */
void sl_async_init(void);

/* Set once sl_async_init found the runtime; never cleared. Read inline so
 * that a process without Swift concurrency pays one load, not a call. */
extern _Atomic int sl_async_on;

/* Whether sl_async_merge may change a stack (the fast unwinder's path memo
 * vouches for a stack id only when nothing does). */
static inline int sl_async_may_merge(void) { return atomic_load_explicit(&sl_async_on, memory_order_relaxed); }

uint32_t sl_async_merge_tasks(uint64_t *ips, uint32_t depth, uint32_t max);

/* When ips[0..depth) runs a task (a swift_job_run frame), insert after the
 * task's partial function the resume points of its awaiting callers, tagged
 * SL_ASYNC_FRAME_TAG, innermost first, keeping at most max entries. Returns
 * the new depth. Hook-path safe: no allocation, no lock, no system call. */
static inline uint32_t sl_async_merge(uint64_t *ips, uint32_t depth, uint32_t max)
{
    return __builtin_expect(!sl_async_may_merge(), 1) ? depth : sl_async_merge_tasks(ips, depth, max);
}

#endif
