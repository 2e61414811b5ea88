/*
 * async_frames.h: the awaiting callers of a Swift async function in the
 * stacks captured while it runs. The thread's stack only holds the task's
 * current partial function and the executor that runs it; the callers wait
 * in the task's chain of async contexts.
 */
#ifndef SWIFTLEAK_ASYNC_FRAMES_H
#define SWIFTLEAK_ASYNC_FRAMES_H

#include <stdint.h>

/* Look for the Swift concurrency runtime's job entry points and read the
 * process's mappings (not for the hook path: dlsym, dladdr, a file read).
 * Without them stacks stay as captured. */
void sl_async_init(void);

/* When ips[0..depth) runs a task (a swift_job_run frame), insert after the
 * task's partial function the resume points of its awaiting callers, tagged
 * SL_ASYNC_FRAME_TAG, innermost first, keeping at most max entries. Returns
 * the new depth. Hook-path safe: no allocation, no lock, no system call. */
uint32_t sl_async_merge(uint64_t *ips, uint32_t depth, uint32_t max);

#endif
