/*
 * python_debug_offsets.h: where CPython 3.13+ publishes its own layout.
 *
 * _PyRuntime starts with _Py_DebugOffsets (Include/internal/pycore_runtime.h),
 * for out-of-process tools and for this one: a cookie, then uint64_t
 * fields. These are the positions of the ones the agent reads, counted in
 * 3.13.0's declaration (the cookie is word 0).
 */
#ifndef SWIFTLEAK_PYTHON_DEBUG_OFFSETS_H
#define SWIFTLEAK_PYTHON_DEBUG_OFFSETS_H

#include <stdint.h>
#include <string.h>

enum sl_py_debug_offset {
    SL_PYDO_FREE_THREADED = 2,
    SL_PYDO_TSTATE_CURRENT_FRAME = 23,
    SL_PYDO_TSTATE_THREAD_ID = 24,
    SL_PYDO_FRAME_PREVIOUS = 29,
    SL_PYDO_FRAME_EXECUTABLE = 30,
    SL_PYDO_FRAME_INSTR_PTR = 31,
    SL_PYDO_FRAME_OWNER = 33,
    SL_PYDO_CODE_ADAPTIVE = 43,
    SL_PYDO_OBJECT_TYPE = 45,      /* PyObject.ob_type */
    SL_PYDO_TYPE_FLAGS = 49,       /* PyTypeObject.tp_flags */
};

/* _PyRuntime's debug offsets, or NULL where it has none (before 3.13). */
static inline const uint64_t *sl_py_debug_offsets(const void *runtime)
{
    return runtime && memcmp(runtime, "xdebugpy", 8) == 0 ? (const uint64_t *)runtime : NULL;
}

#endif
