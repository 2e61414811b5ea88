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

/* What a capture from CPython's allocator domains (python_alloc.c's
 * wrappers, which run with the GIL) knows before it walks: the thread's
 * own state, without PyGILState_GetThisThreadState's TSS lookup, and the
 * anchor, the address of a local of the innermost _PyEval_EvalFrameDefault
 * C frame (3.11, 3.12: the _PyCFrame tstate->cframe points at; 3.13 the
 * entry frame, owner FRAME_OWNED_BY_CSTACK, of the current chain). The
 * anchor's distance from the walk's first frame pins the native path down
 * to that eval frame, so fast_unwind.c keys its path memo by it (and by
 * the instruction the top Python frame runs, site). All 0
 * outside such a capture (malloc's hooks: the GIL may be released there). */
struct sl_py_capture {
    uintptr_t tstate, anchor;
    uintptr_t top;    /* the innermost Python frame (0: none) */
    uintptr_t site;   /* its instruction: a native path mostly follows from it */
};
extern __thread struct sl_py_capture sl_py_capture __attribute__((tls_model("initial-exec")));

/* For a capture from the allocator wrappers (from: the wrapper's caller):
 * the stack id the capture cache (python_capture_cache.h) holds for it, or
 * 0, and then sl_py_capture filled for this thread, for the walk and merge
 * that follow (sl_python_capture_end after them). Hook path: plain loads,
 * one call into CPython that reads a global or a thread-local. */
struct sl_caller;
typedef uint32_t (*sl_python_capture_fn)(const struct sl_caller *from);
/* The capture body of the interpreter's layout row (its offsets folded
 * into its loads), set once captures may start: one indirect call, no
 * dispatch on the row per capture. Until then it answers 0. */
extern _Atomic(sl_python_capture_fn) sl_python_capture_with;
static inline uint32_t sl_python_capture(const struct sl_caller *from)
{
    return atomic_load_explicit(&sl_python_capture_with, memory_order_acquire)(from);
}

/* Fork child (one thread): forget the stack ids memoised by sl_python_merge
 * and the capture cache, which the child's empty stack table no longer
 * holds. */
void sl_python_forget_stack_ids(void);

static inline void sl_python_capture_end(void)
{
    sl_py_capture.tstate = 0;
    sl_py_capture.anchor = 0;
    sl_py_capture.top = 0;
    sl_py_capture.site = 0;
}

#endif
