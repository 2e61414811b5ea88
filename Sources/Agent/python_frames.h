/*
 * python_frames.h: Python frames in the stacks captured in a CPython
 * process (3.11, 3.12, 3.13). Found once at session start; on the hook path
 * the allocating thread reads its own frame chain with plain loads.
 */
#ifndef SWIFTLEAK_PYTHON_FRAMES_H
#define SWIFTLEAK_PYTHON_FRAMES_H

#include <stdatomic.h>
#include <stdint.h>

/* Look for a CPython interpreter in the process (not for the hook path: it
 * calls dlsym/dladdr). Python frames are captured only when it finds a
 * version whose layout it knows; otherwise stacks stay native. */
void sl_python_init(void);

/* Replace each native _PyEval_EvalFrameDefault frame in ips[0..depth) by
 * the Python frames it was running (tagged SL_PY_FRAME_TAG), innermost
 * first, keeping at most max entries; a stack that ends at such a frame (the
 * fast walk stops at the first) goes on with the rest of the chain. Returns
 * the new depth. When Python frames were added, *id_hint becomes the place
 * to look for the merged stack's id (for sl_stack_intern_hinted). Hook-path
 * safe: no allocation, no lock, no syscall. */
uint32_t sl_python_merge(uint64_t *ips, uint32_t depth, uint32_t max, struct sl_stack_hint *id_hint);

#endif
