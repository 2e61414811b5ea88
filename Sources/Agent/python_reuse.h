/*
 * python_reuse.h: objects CPython hands out again from its free lists
 * (python_reuse.c), told to the reader as RETAG events.
 */
#ifndef SWIFTLEAK_PYTHON_REUSE_H
#define SWIFTLEAK_PYTHON_REUSE_H

#include <stdint.h>

/* The block this thread's allocator wrapper recorded last (python_alloc.c
 * sets it): the object CPython creates in it next is not a reuse. */
extern __thread uintptr_t sl_py_fresh_block __attribute__((tls_model("initial-exec")));

/* With the GIL, once the allocator wrappers are in place: put the reference
 * tracer in front of any already set. Nothing before 3.13 or where the
 * layout cannot be confirmed. Idempotent. */
void sl_python_reuse_install(void);

/* With the GIL: take it out again, if it is still the one set. */
void sl_python_reuse_remove(void);

#endif
