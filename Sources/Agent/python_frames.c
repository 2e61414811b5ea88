/*
 * python_frames.c: reads the allocating thread's CPython frame chain.
 *
 * A thread reading its own frames needs no GIL: nobody else pushes or pops
 * them. What it can meet is its own chain mid-update, when a signal handler
 * allocates while a frame is being linked (only a handler that is unsafe
 * anyway can: malloc is not async-signal-safe). So every pointer is checked
 * for plausibility before it is followed, every code object must have
 * PyCode_Type as its type, and the walk is bounded: a torn chain ends the
 * walk early. (A stale pointer into memory unmapped since cannot be told
 * from a good one without a system call per frame; that case is not covered.)
 */
#include "agent.h"
#include "python_frames.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <link.h>
#include <string.h>

/* Field offsets, one row per minor version. Source: the versions' own
 * headers (Include/cpython/pystate.h, Include/internal/pycore_frame.h,
 * Include/cpython/code.h of 3.11.7, 3.12.1 and 3.13.0, as installed under
 * include/python3.X/internal), measured with offsetof against them; they are
 * stable within a minor version (3.13 publishes the same numbers in
 * _Py_DebugOffsets). */
struct sl_py_layout {
    uint32_t minor;                /* 3.minor; a free-threaded 3.13t is refused by _Py_DebugOffsets */
    uint32_t tstate_cframe;        /* PyThreadState.cframe (3.11, 3.12); 0 = none */
    uint32_t cframe_current;       /* _PyCFrame.current_frame */
    uint32_t tstate_current;       /* PyThreadState.current_frame (3.13) */
    uint32_t tstate_thread_id;     /* PyThreadState.thread_id (pthread_self) */
    uint32_t frame_code;           /* f_code / f_executable */
    uint32_t frame_previous;
    uint32_t frame_instr;          /* prev_instr (3.11, 3.12) / instr_ptr (3.13) */
    int32_t frame_is_entry;        /* 3.11 is_entry; -1 = none */
    uint32_t frame_owner;
    int32_t owner_cstack;          /* FRAME_OWNED_BY_CSTACK (3.12+); -1 = none */
    uint32_t code_firsttraceable;  /* PyCodeObject._co_firsttraceable */
    uint32_t code_adaptive;        /* PyCodeObject.co_code_adaptive */
};

#define SL_PY_OWNED_BY_GENERATOR 1   /* FRAME_OWNED_BY_GENERATOR, all three */

static const struct sl_py_layout layouts[] = {
    {11, 56, 8, 0, 152, 32, 48, 56, 68, 69, -1, 168, 184},
    {12, 56, 0, 0, 136, 0, 8, 56, -1, 70, 3, 176, 192},
    {13, 0, 0, 72, 152, 0, 8, 56, -1, 70, 3, 184, 200},
};

#define SL_PY_MAX_FRAMES 256u   /* a longer chain is a broken one */

static const struct sl_py_layout *_Atomic layout;   /* set once; then read-only */
static void *(*get_tstate)(void);
static uintptr_t code_type, eval_lo, eval_hi;

static inline int plausible(uintptr_t p)
{
    return p >= 4096 && p < (1ull << 47) && (p & 7) == 0;
}

/* Plain loads (nothing else writes this thread's frames while it runs
 * here), so the compiler keeps the layout in registers across them. */
static inline uintptr_t load_ptr(uintptr_t base, uint32_t off)
{
    uintptr_t v;
    __builtin_memcpy(&v, (const void *)(base + off), sizeof v);
    return v;
}

static inline unsigned char load_byte(uintptr_t base, uint32_t off)
{
    return *(const unsigned char *)(base + off);
}

/* 3.13 and later start _PyRuntime with _Py_DebugOffsets, for tools like
 * this one (Include/internal/pycore_runtime.h): where it exists, the table
 * row must agree with it, field by field, or no Python frames are read. The
 * indexes are its uint64_t fields' positions in 3.13.0's declaration. */
static int agrees_with_debug_offsets(const struct sl_py_layout *l, const uint64_t *runtime)
{
    if (l->minor < 13)
        return 1;
    if (!runtime || memcmp(runtime, "xdebugpy", 8) != 0 || runtime[2] /* free_threaded */)
        return 0;
    return runtime[23] == l->tstate_current && runtime[24] == l->tstate_thread_id &&
           runtime[29] == l->frame_previous && runtime[30] == l->frame_code &&
           runtime[31] == l->frame_instr && runtime[33] == l->frame_owner &&
           runtime[43] == l->code_adaptive;
}

void sl_python_init(void)
{
    if (atomic_load_explicit(&layout, memory_order_acquire))
        return;
    /* SWIFTLEAK_PYTHON=off: native frames only (measures the walk's cost). */
    const char *setting = getenv(SL_ENV_PYTHON);
    if (setting && strcmp(setting, "off") == 0)
        return;
    /* One lookup decides for every process that is not CPython (a failed
     * dlsym formats an error message: keep session start short). */
    const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
    if (!version)
        return;
    void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    void *type = dlsym(RTLD_DEFAULT, "PyCode_Type");
    /* The thread's own state from its TSS slot (pthread_getspecific): the
     * "current" thread state is the GIL holder's (3.11) or unset while the
     * thread has released the GIL (3.12+), as it does around a ctypes or
     * blocking C call, whose allocations need their Python frames most. */
    void *getter = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    if (!eval || !type || !getter)
        return;   /* not CPython 3.11+ (or embedded privately): native frames only */
    Dl_info di;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(eval, &di, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
        return;
    uint32_t major = (uint32_t)(*version >> 24) & 0xff, minor = (uint32_t)(*version >> 16) & 0xff;
    const struct sl_py_layout *found = NULL;
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
        if (major == 3 && layouts[i].minor == minor)
            found = &layouts[i];
    if (!found) {
        sl_debug("python: no frame layout for this version, native frames only", major, minor);
        return;
    }
    if (!agrees_with_debug_offsets(found, dlsym(RTLD_DEFAULT, "_PyRuntime"))) {
        sl_debug("python: _Py_DebugOffsets disagree with the layout table, native frames only", major, minor);
        return;
    }
    code_type = (uintptr_t)type;
    eval_lo = (uintptr_t)eval;
    eval_hi = eval_lo + sym->st_size;
    get_tstate = (void *(*)(void))getter;
    /* The native walk ends at the innermost eval loop: the interpreter's
     * frames under it cost a walk per allocation (perf: the largest single
     * cost of a Python request loop) and say nothing the Python frames
     * (sl_python_merge reads every one from the chain) don't. */
    sl_fast_unwind_stop_at(eval_lo, eval_hi - eval_lo + 1);
    atomic_store_explicit(&layout, found, memory_order_release);
}

/* The calling thread's innermost interpreter frame, or 0. */
static uintptr_t current_frame(const struct sl_py_layout *l)
{
    uintptr_t ts = (uintptr_t)get_tstate();
    /* Another thread's state would have frames that move under us. */
    if (!plausible(ts) || load_ptr(ts, l->tstate_thread_id) != (uintptr_t)pthread_self())
        return 0;
    if (!l->tstate_cframe)
        return load_ptr(ts, l->tstate_current);
    uintptr_t cf = load_ptr(ts, l->tstate_cframe);
    return plausible(cf) ? load_ptr(cf, l->cframe_current) : 0;
}

/* Emits the Python frames of one eval call from *cursor outwards, stops
 * after its entry frame; advances *cursor. Returns entries written. */
static uint32_t one_eval_call(const struct sl_py_layout *l, uintptr_t *cursor, uint32_t *budget,
                              uint64_t *out, uint32_t room)
{
    uint32_t n = 0;
    uintptr_t f = *cursor;
    while (plausible(f) && *budget) {
        (*budget)--;
        uintptr_t next = load_ptr(f, l->frame_previous);
        unsigned char owner = load_byte(f, l->frame_owner);
        if (l->owner_cstack >= 0 && owner == (unsigned char)l->owner_cstack) {
            f = next;   /* the shim this eval call pushed: its Python frames end here */
            break;
        }
        int entry = l->frame_is_entry >= 0 && load_byte(f, (uint32_t)l->frame_is_entry);
        uintptr_t code = load_ptr(f, l->frame_code);
        if (plausible(code) && load_ptr(code, 8) == code_type) {   /* ob_type */
            uintptr_t start = code + l->code_adaptive;
            intptr_t lasti = ((intptr_t)load_ptr(f, l->frame_instr) - (intptr_t)start) / 2;
            int32_t first;
            __builtin_memcpy(&first, (const void *)(code + l->code_firsttraceable), sizeof first);
            /* A frame still being set up has no line yet (CPython's own
             * tracebacks skip it too). */
            int incomplete = owner != SL_PY_OWNED_BY_GENERATOR && lasti < first;
            if (!incomplete && n < room) {
                intptr_t cap = (intptr_t)SL_PY_FRAME_LASTI_MAX;
                uint64_t enc = (uint64_t)(lasti + 1 < 0 ? 0 : lasti + 1 > cap ? cap : lasti + 1);
                out[n++] = SL_PY_FRAME_TAG | (enc << SL_PY_FRAME_LASTI_SHIFT) | (uint64_t)code;
            }
        }
        f = next;
        if (entry)
            break;
    }
    *cursor = f;
    return n;
}

uint32_t sl_python_merge(uint64_t *ips, uint32_t depth, uint32_t max)
{
    const struct sl_py_layout *published = atomic_load_explicit(&layout, memory_order_acquire);
    if (!published)
        return depth;
    const struct sl_py_layout row = *published, *l = &row;
    uint64_t scratch[SL_MAX_FRAMES];
    if (max > SL_MAX_FRAMES)
        max = SL_MAX_FRAMES;
    uintptr_t cursor = 0;
    int looked = 0;
    uint32_t budget = SL_PY_MAX_FRAMES, n = 0;
    for (uint32_t i = 0; i < depth && n < max; i++) {
        uint64_t ip = ips[i];
        if (ip < eval_lo || ip > eval_hi) {
            scratch[n++] = ip;
            continue;
        }
        if (!looked) {
            cursor = current_frame(l);
            looked = 1;
        }
        uint32_t got = one_eval_call(l, &cursor, &budget, scratch + n, max - n);
        if (!got)
            scratch[n++] = ip;   /* nothing to show for it: keep the native frame */
        n += got;
        if (i + 1 == depth) {
            /* The walk stopped here (sl_fast_unwind_stop_at), or the stack
             * was cut at max: the outer eval calls' Python frames come from
             * the chain alone. Native frames between them (a C function
             * that called back into Python) are not in this stack. */
            while (n < max && plausible(cursor) && budget)
                n += one_eval_call(l, &cursor, &budget, scratch + n, max - n);
        }
    }
    if (!looked)
        return depth;   /* no eval frame: the stack is unchanged */
    memcpy(ips, scratch, n * sizeof(uint64_t));
    return n;
}
