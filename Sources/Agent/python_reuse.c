/*
 * python_reuse.c: objects CPython hands out again from its free lists.
 *
 * CPython keeps freed lists, dicts, tuples, floats and more on free lists
 * and gives them to the next object of their kind with no allocator call.
 * The allocator wrappers (python_alloc.c) therefore see only a block's
 * first allocation, and without this file the block stays at that stack
 * however often it is reused: a request loop's kept list is counted where
 * some earlier temporary list was made. tracemalloc moves the block's
 * traceback whenever an object is created in it (_Py_NewReference).
 *
 * 3.13 lets a tool do the same: PyRefTracer_SetTracer has a function called
 * for every object created and destroyed. Ours skips the object its
 * thread's wrapper just allocated (recorded already, at that stack) and
 * records any other creation as a RETAG of the object's block to the
 * current stack. 3.11 and 3.12 have no such hook (tracemalloc's call there
 * is internal to libpython): reused objects keep their first stack there.
 *
 * Set and cleared with the GIL (the API's contract), by python_alloc.c's
 * helper thread, together with the allocator wrappers. A tracer set before
 * (tracemalloc's) is called after ours. tracemalloc started later replaces
 * ours without chaining it, and its stop clears it: from then on reuse goes
 * unrecorded, as on 3.12. In sampled mode only a sampled block is moved:
 * each block was drawn once, independently of every other, with the
 * probability its size gives, so the blocks that reach a site by reuse are
 * as fair a sample of it as the ones allocated there, and the estimate
 * stays unbiased.
 *
 * The tracer runs on the thread creating the object, with the GIL, on the
 * hook path's terms: no allocation, no lock, no syscall; with tracing off
 * (detached, swiftleak killed) it only passes the call on.
 */
#include "agent.h"
#include "python_reuse.h"
#include "python_debug_offsets.h"
#include "python_frames.h"
#include "sampling.h"

#include <dlfcn.h>

/* Include/cpython/object.h (3.13): PyRefTracer and PyRefTracerEvent. */
typedef int (*ref_tracer)(void *op, int event, void *data);
enum { REF_CREATE = 0 };

/* Include/object.h: the flags that decide _PyType_PreHeaderSize, the bytes
 * in front of an object (its GC links, its managed dict and weakref slots). */
#define TPFLAGS_MANAGED_WEAKREF (1ul << 3)
#define TPFLAGS_MANAGED_DICT (1ul << 4)
#define TPFLAGS_HAVE_GC (1ul << 14)
#define GC_HEAD_BYTES 16u

__thread uintptr_t sl_py_fresh_block __attribute__((tls_model("initial-exec")));

static struct {
    int (*set)(ref_tracer tracer, void *data);
    ref_tracer (*get)(void **data);
    uint64_t ob_type, tp_flags;   /* field offsets, from _Py_DebugOffsets */
} api;

/* The tracer ours calls after itself, as it was when ours was set. Written
 * with the GIL before ours is set, read by ours with the GIL. */
static ref_tracer previous;
static void *previous_data;
static int installed;

/* The allocated block an object lives in: its address less the pre-header. */
static inline uintptr_t block_of(uintptr_t op)
{
    uintptr_t type = *(const uintptr_t *)(op + api.ob_type);
    unsigned long flags = *(const unsigned long *)(type + api.tp_flags);
    return op - ((flags & TPFLAGS_HAVE_GC) ? GC_HEAD_BYTES : 0) -
           ((flags & (TPFLAGS_MANAGED_WEAKREF | TPFLAGS_MANAGED_DICT)) ? 2 * sizeof(void *) : 0);
}

/* As python_alloc.c's emit_alloc finds an allocation's stack: the capture
 * cache first, the walk on a miss. */
static __attribute__((noinline)) void record_reuse(uintptr_t block, const struct sl_caller *from)
{
    uint32_t id = sl_python_capture(from);
    if (!id) {
        id = sl_stack_id_at(from);
        sl_python_capture_end();
    }
    if (SL_LIKELY(id))
        (void)sl_ring_push(SL_EV_RETAG, block, 0, id);   /* dropped: the consumer counts it */
    else
        sl_count_lost(1);
}

/* Set while this thread runs the tracers after ours: a tool that set its
 * own over ours and calls ours on would otherwise make a loop of them once
 * ours is set again over it. */
static __thread int passing_on __attribute__((tls_model("initial-exec")));

static int trace_ref(void *op, int event, void *data)
{
    (void)data;
    if (passing_on)
        return 0;
    if (event == REF_CREATE && !sl_guard && atomic_load_explicit(&sl_sess.tracing, memory_order_relaxed)) {
        uintptr_t block = block_of((uintptr_t)op);
        if (block == sl_py_fresh_block) {
            sl_py_fresh_block = 0;
        } else if (sl_sample_holds((const void *)block)) {
            sl_guard = 1;
            struct sl_caller from = SL_CALLER();
            record_reuse(block, &from);
            sl_guard = 0;
        }
    }
    ref_tracer next = previous;
    if (!next)
        return 0;
    passing_on = 1;
    int r = next(op, event, previous_data);
    passing_on = 0;
    return r;
}

static int find_api(void)
{
    if (api.set)
        return 1;
    const uint64_t *d = sl_py_debug_offsets(dlsym(RTLD_DEFAULT, "_PyRuntime"));
    void *set = dlsym(RTLD_DEFAULT, "PyRefTracer_SetTracer"), *get = dlsym(RTLD_DEFAULT, "PyRefTracer_GetTracer");
    if (!d || d[SL_PYDO_FREE_THREADED] || !set || !get)
        return 0;
    api.ob_type = d[SL_PYDO_OBJECT_TYPE];
    api.tp_flags = d[SL_PYDO_TYPE_FLAGS];
    if (api.ob_type >= 64 || api.tp_flags >= 4096)
        return 0;   /* not offsets into a PyObject and a PyTypeObject */
    *(void **)&api.get = get;
    *(void **)&api.set = set;
    return 1;
}

void sl_python_reuse_install(void)
{
    if (installed || !find_api())
        return;
    void *data = NULL;
    ref_tracer now = api.get(&data);
    if (now == trace_ref) {   /* ours, left by an earlier session that could not take it out */
        installed = 1;
        return;
    }
    previous = now;
    previous_data = data;
    if (api.set(trace_ref, NULL) == 0)
        installed = 1;
}

void sl_python_reuse_remove(void)
{
    if (!installed)
        return;
    void *data = NULL;
    if (api.get(&data) == trace_ref)
        (void)api.set(previous, previous_data);
    /* Else another tool replaced ours (and may call it on): it passes
     * calls through once tracing is off, and `previous` stays as it was. */
    installed = 0;
}
