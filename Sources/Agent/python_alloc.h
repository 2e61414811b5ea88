/*
 * python_alloc.h: CPython's PyMem and PyObject allocator domains, wrapped
 * from inside the target as tracemalloc wraps them, so that objects served
 * from pymalloc's arenas (which malloc never sees) are traced, each once.
 * A helper thread of the agent's does everything that needs the GIL.
 */
#ifndef SWIFTLEAK_PYTHON_ALLOC_H
#define SWIFTLEAK_PYTHON_ALLOC_H

#include "swiftleak_protocol.h"

/* Session start (any thread, after tracing is on): find CPython's C API and
 * start the helper, which wraps the allocators as soon as the interpreter
 * allows it (wait_for_init: a launched program, whose interpreter starts
 * later; otherwise one that is not initialised is refused). */
void sl_python_alloc_start(int wait_for_init);

/* Agent thread: 1 with *out filled when the state changed since the last call. */
int sl_python_alloc_news(struct sl_rec_python *out);

/* Agent thread: ask the helper for gc.collect(); sl_python_alloc_collected
 * answers (1 with *out filled) once it ran or was refused. */
void sl_python_alloc_collect(uint64_t token);
int sl_python_alloc_collected(struct sl_rec_collected *out);

/* Agent thread, at shutdown (tracing already off): ask the helper to put
 * the original allocators back with the GIL and wait a bounded time. If the
 * GIL does not come, the wrappers stay, passing every call straight through. */
void sl_python_alloc_stop(void);

/* fork child: the helper thread does not exist here. */
void sl_python_alloc_forget_in_child(void);

#endif
