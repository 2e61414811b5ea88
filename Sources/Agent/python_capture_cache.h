/*
 * python_capture_cache.h: the whole stack id of a capture from CPython's
 * allocator wrappers, remembered under what the capture knows before it
 * walks (python_frames.h's sl_py_capture) and proven again, each time, by
 * comparisons alone.
 */
#ifndef SWIFTLEAK_PYTHON_CAPTURE_CACHE_H
#define SWIFTLEAK_PYTHON_CAPTURE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct sl_caller;
struct sl_stack_hint;

/* A chain of Python frames as the chain memo vouched for it (python_frames.c):
 * per frame its address, code object and instruction pointer, and the last
 * frame's `previous`. Only chains whose frames' owner and is_entry decide
 * nothing (the memo's unflagged ones). */
#define SL_PY_CACHE_FRAMES 16u
struct sl_py_cache_chain {
    uint32_t n;
    uint64_t end;
    uint64_t f[SL_PY_CACHE_FRAMES][3];
};

/* Before tracing: the table, and where a frame keeps its code object,
 * instruction pointer and `previous` (the layout row's offsets). */
void sl_py_cache_setup(uint32_t code_at, uint32_t instr_at, uint32_t previous_at);

/* In a wrapper, between sl_python_capture_begin and _end: when the stack
 * of this allocation is the one remembered under its key (every native
 * return address on the stack where it was, every Python frame as it was),
 * pushes the ALLOC event with its id and returns 1. Else 0, having noted
 * which slot a capture that follows may fill (sl_py_cache_remember). */
int sl_py_cache_emit(void *p, size_t size, const struct sl_caller *from);

/* From the Python merge, when the native path (path: its hint) and the
 * chain were both vouched for and the merged stack's id is id: remember
 * them in the slot the last sl_py_cache_emit missed, if any. */
void sl_py_cache_remember(const struct sl_py_cache_chain *chain, const struct sl_stack_hint *path, uint32_t id);

/* Fork child (one thread): forget every id (the child's stack table is new). */
void sl_py_cache_forget(void);

#endif
