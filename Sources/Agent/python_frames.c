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
#include "async_frames.h"
#include "python_capture_cache.h"
#include "python_debug_offsets.h"
#include "unwind_modules.h"

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

static void memo_setup(const struct sl_py_layout *l);
static const sl_python_capture_fn captures[];

static const struct sl_py_layout *_Atomic layout;   /* set once; then read-only */
static uint32_t layout_row;   /* 1 + its index in layouts[] (read after layout) */
static void *(*get_tstate)(void);
/* The thread state CPython calls current, unchecked: the GIL holder's
 * (3.11) or the calling thread's while it holds the GIL (3.12+). Only
 * asked with the GIL held (sl_python_capture). */
static void *(*held_tstate)(void);

__thread struct sl_py_capture sl_py_capture __attribute__((tls_model("initial-exec")));
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
 * this one (python_debug_offsets.h): where it exists, the table row must
 * agree with it, field by field, or no Python frames are read. */
static int agrees_with_debug_offsets(const struct sl_py_layout *l, const void *runtime)
{
    if (l->minor < 13)
        return 1;
    const uint64_t *d = sl_py_debug_offsets(runtime);
    if (!d || d[SL_PYDO_FREE_THREADED])
        return 0;
    return d[SL_PYDO_TSTATE_CURRENT_FRAME] == l->tstate_current && d[SL_PYDO_TSTATE_THREAD_ID] == l->tstate_thread_id &&
           d[SL_PYDO_FRAME_PREVIOUS] == l->frame_previous && d[SL_PYDO_FRAME_EXECUTABLE] == l->frame_code &&
           d[SL_PYDO_FRAME_INSTR_PTR] == l->frame_instr && d[SL_PYDO_FRAME_OWNER] == l->frame_owner &&
           d[SL_PYDO_CODE_ADAPTIVE] == l->code_adaptive;
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
    memo_setup(found);
    code_type = (uintptr_t)type;
    eval_lo = (uintptr_t)eval;
    eval_hi = eval_lo + sym->st_size;
    get_tstate = (void *(*)(void))getter;
    void *held = dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked");   /* 3.13; 3.11, 3.12 below */
    held_tstate = (void *(*)(void))(held ? held : dlsym(RTLD_DEFAULT, "_PyThreadState_UncheckedGet"));
    /* The native walk ends at the innermost eval loop: the interpreter's
     * frames under it cost a walk per allocation (perf: the largest single
     * cost of a Python request loop) and say nothing the Python frames
     * (sl_python_merge reads every one from the chain) don't. */
    sl_fast_unwind_stop_at(eval_lo, eval_hi - eval_lo + 1);
    layout_row = (uint32_t)(found - layouts) + 1;
    atomic_store_explicit(&layout, found, memory_order_release);
    if (held_tstate)
        atomic_store_explicit(&sl_python_capture_with, captures[found - layouts], memory_order_release);
}

/* ts if it is the calling thread's own state, else 0: another thread's
 * state would have frames that move under us. */
static inline uintptr_t own_tstate(const struct sl_py_layout *l, uintptr_t ts)
{
    /* fs base: what pthread_self() returns, without the call. */
    if (!plausible(ts) || load_ptr(ts, l->tstate_thread_id) != (uintptr_t)__builtin_thread_pointer())
        return 0;
    return ts;
}

/* The calling thread's innermost interpreter frame, or 0. */
static uintptr_t current_frame(const struct sl_py_layout *l)
{
    uintptr_t ts = sl_py_capture.tstate;   /* checked by sl_python_capture */
    if (!ts && !(ts = own_tstate(l, (uintptr_t)get_tstate())))
        return 0;
    if (!l->tstate_cframe)
        return load_ptr(ts, l->tstate_current);
    uintptr_t cf = load_ptr(ts, l->tstate_cframe);
    return plausible(cf) ? load_ptr(cf, l->cframe_current) : 0;
}


/* 3.13's entry frames further down than this are not looked for: the
 * anchor only picks a memo set, so going without costs a rule step. */
#define SL_PY_ANCHOR_FRAMES 16u

/* l is one row of layouts[], a constant: every offset below is folded
 * into its load (sl_python_capture). */
static inline __attribute__((always_inline)) uint32_t capture_with(const struct sl_py_layout *l,
                                                                   const struct sl_caller *from)
{
    uintptr_t ts = own_tstate(l, (uintptr_t)held_tstate());
    if (!ts)
        return 0;
    struct sl_py_capture c = {ts, 0, 0, 0};
    /* The eval loop points tstate->cframe at a _PyCFrame local of its own
     * while it runs (3.11, 3.12: ceval.c, `tstate->cframe = &cframe`); 3.13
     * pushes an entry frame that is a local of its own (`entry_frame`,
     * owner FRAME_OWNED_BY_CSTACK) under the Python frames it runs. No eval
     * loop running: the root _PyCFrame inside the thread state, or no entry
     * frame, neither on the stack, which fast_unwind.c checks. */
    uintptr_t f;
    if (l->tstate_cframe) {
        uintptr_t cf = load_ptr(ts, l->tstate_cframe);
        c.anchor = cf;
        f = plausible(cf) ? load_ptr(cf, l->cframe_current) : 0;
        if (plausible(f)) {
            c.top = f;
            c.site = load_ptr(f, l->frame_instr);
        }
    } else {
        f = load_ptr(ts, l->tstate_current);
        if (plausible(f)) {
            c.top = f;
            c.site = load_ptr(f, l->frame_instr);
        }
    }
    uint32_t id = c.top ? sl_py_cache_lookup(&c, from, l->frame_code, l->frame_instr, l->frame_previous) : 0;
    if (id)
        return id;
    /* 3.13's anchor is a walk down the chain: only the walk that follows
     * a miss needs it (the capture cache's set does not depend on it). */
    for (uint32_t i = 0; !l->tstate_cframe && i < SL_PY_ANCHOR_FRAMES && plausible(f); i++) {
        if (load_byte(f, l->frame_owner) == (unsigned char)l->owner_cstack) {
            c.anchor = f;
            break;
        }
        f = load_ptr(f, l->frame_previous);
    }
    sl_py_capture = c;
    return 0;
}

static uint32_t capture_row1(const struct sl_caller *from) { return capture_with(&layouts[0], from); }
static uint32_t capture_row2(const struct sl_caller *from) { return capture_with(&layouts[1], from); }
static uint32_t capture_row3(const struct sl_caller *from) { return capture_with(&layouts[2], from); }
static const sl_python_capture_fn captures[] = {capture_row1, capture_row2, capture_row3};
_Static_assert(sizeof(layouts) / sizeof(layouts[0]) == sizeof(captures) / sizeof(captures[0]),
               "a capture body for each row");

static uint32_t no_capture(const struct sl_caller *from)
{
    (void)from;
    return 0;
}
_Atomic(sl_python_capture_fn) sl_python_capture_with = no_capture;

/* ---- the chain memo ---------------------------------------------------------
 * A Python request loop allocates dozens of objects per request, almost all
 * under a chain of frames it saw a moment ago. Reading a chain from scratch
 * costs per frame a check of the code object's type, its first traceable
 * offset and the encoding; checking that the chain is the one seen before
 * costs three loads from the frame itself. So the last chain seen under
 * each (top frame, instruction) is remembered with what it produced, and
 * the next capture from that pair only compares each frame's address
 * (its successor's `previous`), code object and instruction pointer (and
 * its owner, where that decides what it shows: chain_rec) with the memo's,
 * every frame down to the end of the chain: any difference (another
 * caller, another line below) and the chain is read as before. Nothing shorter can vouch for the
 * frames below the top: CPython pops and pushes them at the same addresses
 * with no counter a reader could watch.
 *
 * What a frame contributes depends only on those four fields and its code
 * object, which cannot change or go away while a live frame holds it. (A
 * code object freed and another allocated at its address, with a frame of
 * the new one at the same address and instruction pointer as a frame of
 * the old one in the memo, reads as the old one: only whether a frame still
 * being set up is shown can differ then.)
 *
 * Slots are shared by all threads (a thread's frames live in its own data
 * stack, so their addresses pick different slots) and written under a
 * sequence number, as fast_unwind.c's path memo: a writer that finds a slot
 * being written skips its write, a reader that sees the number move reads
 * the chain itself. No thread waits. */
#define PY_MEMO_SLOTS 1024u
#define PY_MEMO_FRAMES 64u   /* a deeper chain is read every time */
#define PY_HINT_SLOTS 8192u

struct py_memo_frame {
    uint64_t addr, code, instr, flags;
};

struct py_memo {
    _Atomic uint64_t seq;   /* odd while being written */
    uint32_t n;             /* frames in the chain */
    uint32_t out_n;         /* entries it produced */
    uint32_t flagged;       /* some frame's flags decide what it produced (chain_rec) */
    uint64_t end;           /* the chain's last `previous` (0 at its root) */
    uint64_t sig;           /* a hash of out, for the stack-id hint */
    struct py_memo_frame f[PY_MEMO_FRAMES];
    uint64_t out[PY_MEMO_FRAMES];
};

/* The chain a walk read, for the memo. */
struct chain_rec {
    uint32_t n;
    int fits;
    /* What a frame produces depends on its owner and (3.11) is_entry only
     * when it is not a code object's frame past its set-up (the incomplete
     * test, where the eval calls split): a chain without such a frame is
     * vouched for by address, code object and instruction alone. A shim
     * frame's owner follows from its code object (3.12: the interpreter's
     * trampoline code, 3.13: None, used by no other frame). */
    int flagged;
    struct py_memo_frame f[PY_MEMO_FRAMES];
};

/* hints: stack ids by (chain, native frames above it), candidates for
 * sl_stack_intern_hinted, which compares before it trusts one, so a stale
 * or colliding value costs a comparison, never a wrong id. */

static inline uint64_t rd64(const void *p) { return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED); }
static inline uint32_t rd32(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED); }
static inline void wr64(void *p, uint64_t v) { __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); }
static inline void wr32(void *p, uint32_t v) { __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED); }

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* Owner and (3.11) is_entry, side by side in every layout: which frames
 * end an eval call and which may be shown before their first instruction.
 * One 16-bit load (set with the layout). */
static uint32_t flags_at;
static uint64_t flags_mask;

static struct py_memo *memo;
static _Atomic uint64_t *hints;   /* as struct sl_stack_hint's slots: (tag << 32) | stack id */

/* ---- merged stack ids --------------------------------------------------
 * A stack merged from a native path the path memo vouched for whole
 * (fast_unwind.c's slot and sequence number, in the odd tag of its hint)
 * and a chain this memo vouched for (slot and sequence number) is the same
 * stack each time all four are: a slot's contents change only with its
 * number. So its stack id is remembered under the four, and a capture that
 * finds them goes to the ring with that id: no hash of the native frames,
 * no candidate compared. Written under a sequence number as the memo. */
#define PY_ID_SLOTS 4096u

struct py_id {
    _Atomic uint64_t seq;   /* odd while being written */
    uint64_t path, path_tag, chain, chain_seq;
    uint64_t id;
};

static struct py_id *ids;

/* The id handed to stacks.c as vouched for (sl_stack_intern_hinted takes a
 * slot whose tag is the hint's as is): this thread's own slot, tag 2. */
static __thread _Atomic uint64_t vouched_id __attribute__((tls_model("initial-exec")));
#define PY_VOUCHED_TAG 2u

/* Before tracing. Without the tables every chain is read in full. */
static void memo_setup(const struct sl_py_layout *l)
{
    if (!memo)
        memo = sl_map_zero(PY_MEMO_SLOTS * sizeof(struct py_memo));
    if (!hints)
        hints = sl_map_zero(PY_HINT_SLOTS * sizeof(*hints));
    if (!ids)
        ids = sl_map_zero(PY_ID_SLOTS * sizeof(*ids));
    sl_py_cache_setup();
    int pair = l->frame_is_entry >= 0 && l->frame_owner == (uint32_t)l->frame_is_entry + 1;
    flags_at = pair ? (uint32_t)l->frame_is_entry : l->frame_owner;
    flags_mask = pair ? 0xffff : 0xff;
}

static inline uint64_t frame_flags(uintptr_t f, uint32_t at, uint64_t mask)
{
    uint16_t v;
    __builtin_memcpy(&v, (const void *)(f + at), sizeof v);
    return v & mask;
}

/* Emits the Python frames of one eval call from *cursor outwards, stops
 * after its entry frame; advances *cursor. Returns entries written. Every
 * frame visited goes into rec (when given), for the memo. */
static uint32_t one_eval_call(const struct sl_py_layout *l, uintptr_t *cursor, uint32_t *budget,
                              uint64_t *out, uint32_t room, struct chain_rec *rec)
{
    uint32_t n = 0;
    uintptr_t f = *cursor;
    while (plausible(f) && *budget) {
        (*budget)--;
        uintptr_t next = load_ptr(f, l->frame_previous);
        unsigned char owner = load_byte(f, l->frame_owner);
        uintptr_t code = load_ptr(f, l->frame_code);
        if (rec) {
            if (rec->n < PY_MEMO_FRAMES)
                rec->f[rec->n++] = (struct py_memo_frame){f, code, load_ptr(f, l->frame_instr),
                                                          frame_flags(f, flags_at, flags_mask)};
            else
                rec->fits = 0;
        }
        if (l->owner_cstack >= 0 && owner == (unsigned char)l->owner_cstack) {
            f = next;   /* the shim this eval call pushed: its Python frames end here */
            break;
        }
        int entry = l->frame_is_entry >= 0 && load_byte(f, (uint32_t)l->frame_is_entry);
        if (plausible(code) && load_ptr(code, 8) == code_type) {   /* ob_type */
            uintptr_t start = code + l->code_adaptive;
            intptr_t lasti = ((intptr_t)load_ptr(f, l->frame_instr) - (intptr_t)start) / 2;
            int32_t first;
            __builtin_memcpy(&first, (const void *)(code + l->code_firsttraceable), sizeof first);
            if (rec && lasti < first)
                rec->flagged = 1;
            /* A frame still being set up has no line yet (CPython's own
             * tracebacks skip it too). */
            int incomplete = owner != SL_PY_OWNED_BY_GENERATOR && lasti < first;
            if (!incomplete && n < room) {
                intptr_t cap = (intptr_t)SL_PY_FRAME_LASTI_MAX;
                uint64_t enc = (uint64_t)(lasti + 1 < 0 ? 0 : lasti + 1 > cap ? cap : lasti + 1);
                out[n++] = SL_PY_FRAME_TAG | (enc << SL_PY_FRAME_LASTI_SHIFT) | (uint64_t)code;
            }
        } else if (rec) {
            rec->flagged = 1;
        }
        f = next;
        if (entry)
            break;
    }
    *cursor = f;
    return n;
}

static inline __attribute__((always_inline)) struct py_memo *memo_slot(uintptr_t top, uintptr_t instr)
{
    uint64_t h = mix(top, instr);
    return &memo[(h ^ (h >> 32)) & (PY_MEMO_SLOTS - 1)];
}

/* Whether m holds the chain from top as it is now, with at most room
 * entries: how many it has, or 0; *seq gets the sequence number it was
 * compared at (memo_copy's). */
static inline __attribute__((always_inline)) uint32_t memo_matches(const struct sl_py_layout *l, struct py_memo *m,
                                                                   uintptr_t top, uint32_t room, uint64_t *seq)
{
    uint64_t s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
    *seq = s1;
    if (s1 & 1)
        return 0;
    uint32_t n = rd32(&m->n), out_n = rd32(&m->out_n);
    if (!n || n > PY_MEMO_FRAMES || !out_n || out_n > PY_MEMO_FRAMES || out_n > room)
        return 0;
    /* The offsets in registers: the memo's loads are atomic, after which
     * the compiler would reload the layout row from memory each frame. */
    const uint32_t code_at = l->frame_code, instr_at = l->frame_instr, prev_at = l->frame_previous;
    const uint32_t fl_at = flags_at;
    const uint64_t fl_mask = flags_mask;
    /* f is this thread's live chain (top, then `previous` links of frames
     * that matched), and every address a memo ever held was a plausible
     * frame's or 0 (never written): so f matching one is safe to read,
     * once 0 is ruled out. */
    uintptr_t f = top;
    const struct py_memo_frame *mf = m->f, *mend = m->f + n;
    if (rd32(&m->flagged)) {
        for (; mf != mend; mf++) {
            if (!f || f != rd64(&mf->addr))
                return 0;
            uint64_t diff = (load_ptr(f, code_at) ^ rd64(&mf->code)) | (load_ptr(f, instr_at) ^ rd64(&mf->instr)) |
                            (frame_flags(f, fl_at, fl_mask) ^ rd64(&mf->flags));
            if (diff)
                return 0;
            f = load_ptr(f, prev_at);
        }
    } else {
        /* The usual chain (chain_rec's flagged): three fields a frame. */
        for (; mf != mend; mf++) {
            if (!f || f != rd64(&mf->addr))
                return 0;
            if ((load_ptr(f, code_at) ^ rd64(&mf->code)) | (load_ptr(f, instr_at) ^ rd64(&mf->instr)))
                return 0;
            f = load_ptr(f, prev_at);
        }
    }
    if (f != rd64(&m->end))
        return 0;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&m->seq, memory_order_relaxed) == s1 ? out_n : 0;
}

/* The n entries m held at sequence number s1 into out, and their hash into
 * *sig; 0 if m was rewritten since (out is scratch then), else n. */
static uint32_t memo_copy(struct py_memo *m, uint64_t s1, uint64_t *out, uint32_t n, uint64_t *sig)
{
    /* A copy torn by a writer is thrown away below, as it is read. */
    __builtin_memcpy(out, m->out, n * sizeof(uint64_t));
    *sig = rd64(&m->sig);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&m->seq, memory_order_relaxed) == s1 ? n : 0;
}

static void memo_write(struct py_memo *m, const struct chain_rec *rec, uintptr_t end, const uint64_t *out,
                       uint32_t out_n, uint64_t sig)
{
    uint64_t s = atomic_load_explicit(&m->seq, memory_order_relaxed);
    if ((s & 1) || !atomic_compare_exchange_strong(&m->seq, &s, s + 1))
        return;   /* someone else is writing it: theirs is as good */
    atomic_thread_fence(memory_order_release);
    wr32(&m->n, rec->n);
    wr32(&m->out_n, out_n);
    wr32(&m->flagged, (uint32_t)rec->flagged);
    wr64(&m->end, end);
    wr64(&m->sig, sig);
    for (uint32_t j = 0; j < rec->n; j++) {
        wr64(&m->f[j].addr, rec->f[j].addr);
        wr64(&m->f[j].code, rec->f[j].code);
        wr64(&m->f[j].instr, rec->f[j].instr);
        wr64(&m->f[j].flags, rec->f[j].flags);
    }
    for (uint32_t j = 0; j < out_n; j++)
        wr64(&m->out[j], out[j]);
    atomic_store_explicit(&m->seq, s + 2, memory_order_release);
}

static inline __attribute__((always_inline)) struct py_id *id_slot(const struct sl_stack_hint *path, const struct py_memo *chain)
{
    uint64_t h = mix((uintptr_t)path->slot, (uintptr_t)chain);
    return &ids[(h ^ (h >> 32)) & (PY_ID_SLOTS - 1)];
}

/* The remembered id of (path, chain at chain_seq), or 0. */
static inline __attribute__((always_inline)) uint32_t id_lookup(const struct py_id *r, const struct sl_stack_hint *path,
                                                                const struct py_memo *chain, uint64_t chain_seq)
{
    uint64_t s1 = atomic_load_explicit(&r->seq, memory_order_acquire);
    if (s1 & 1)
        return 0;
    uint64_t diff = (rd64(&r->path) ^ (uintptr_t)path->slot) | (rd64(&r->path_tag) ^ path->tag) |
                    (rd64(&r->chain) ^ (uintptr_t)chain) | (rd64(&r->chain_seq) ^ chain_seq);
    uint32_t id = (uint32_t)rd64(&r->id);
    atomic_thread_fence(memory_order_acquire);
    return !diff && atomic_load_explicit(&r->seq, memory_order_relaxed) == s1 ? id : 0;
}

static void id_write(struct py_id *r, const struct sl_stack_hint *path, const struct py_memo *chain,
                     uint64_t chain_seq, uint32_t id)
{
    uint64_t s = atomic_load_explicit(&r->seq, memory_order_relaxed);
    if ((s & 1) || !atomic_compare_exchange_strong(&r->seq, &s, s + 1))
        return;   /* someone else is writing it */
    atomic_thread_fence(memory_order_release);
    wr64(&r->path, (uintptr_t)path->slot);
    wr64(&r->path_tag, path->tag);
    wr64(&r->chain, (uintptr_t)chain);
    wr64(&r->chain_seq, chain_seq);
    wr64(&r->id, id);
    atomic_store_explicit(&r->seq, s + 2, memory_order_release);
}

void sl_python_forget_stack_ids(void)
{
    if (ids)
        memset(ids, 0, PY_ID_SLOTS * sizeof(*ids));
    sl_py_cache_forget();
}

/* A capture the merged-id memo answered (the capture cache missed it): the
 * chain m held at chain_seq, the native path and the id, for the capture
 * cache. Only chains compared on address, code object and instruction. */
static __attribute__((noinline)) void remember_capture(struct py_memo *m, uint64_t chain_seq,
                                                       const struct sl_stack_hint *path, uint32_t id)
{
    struct sl_py_cache_chain c;
    uint32_t n = rd32(&m->n);
    if (rd32(&m->flagged) || !n || n > SL_PY_CACHE_FRAMES)
        return;
    for (uint32_t j = 0; j < n; j++) {
        c.f[j][0] = rd64(&m->f[j].addr);
        c.f[j][1] = rd64(&m->f[j].code);
        c.f[j][2] = rd64(&m->f[j].instr);
    }
    c.n = n;
    c.end = rd64(&m->end);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&m->seq, memory_order_relaxed) == chain_seq)
        sl_py_cache_remember(&c, path, id);
}

/* The common case: the native walk stopped at the innermost eval loop,
 * ips[at] (sl_fast_unwind_stop_at), so the whole chain replaces it, in
 * place. Returns the new depth. Out of line: merge_tail, small enough to
 * be cheap to enter, answers almost every capture without it. */
static __attribute__((noinline)) uint32_t merge_tail_full(const struct sl_py_layout *l, uint64_t *ips, uint32_t at,
                                                          uint32_t max, struct sl_stack_hint *id_hint)
{
    uintptr_t top = sl_py_capture.top, site = sl_py_capture.site;   /* from the allocator wrappers */
    /* What is remembered for the capture cache: the wrappers' captures
     * only (the slot their lookup missed, sl_py_cache_remember). */
    const int cache_fill = top && !sl_async_may_merge();
    if (!top) {
        top = current_frame(l);
        if (!plausible(top))
            return at + 1;   /* no Python frames: the native frame stays */
        site = load_ptr(top, l->frame_instr);
    }
    uint64_t *out = ips + at, native = ips[at], sig = 0, chain_seq = 0;
    uint32_t room = max - at;
    struct py_memo *m = memo ? memo_slot(top, site) : NULL;
    uint32_t n = m ? memo_matches(l, m, top, room, &chain_seq) : 0;
    /* The native path is vouched for (an odd tag other than 1, see
     * fast_unwind.c's hint_for) and so is the chain (n): the merged stack
     * may have a remembered id. Not when the Swift async merge may still
     * rewrite the stack. */
    const struct sl_stack_hint path = *id_hint;
    struct py_id *idr = n && ids && path.tag != 1 && !sl_async_may_merge() ? id_slot(&path, m) : NULL;
    if (idr) {
        uint32_t id = id_lookup(idr, &path, m, chain_seq);
        if (id) {
            if (cache_fill)
                remember_capture(m, chain_seq, &path, id);
            /* ips past at are not filled: stacks.c takes a vouched id
             * without reading them (the id's entry has this depth). */
            atomic_store_explicit(&vouched_id, (uint64_t)PY_VOUCHED_TAG << 32 | id, memory_order_relaxed);
            *id_hint = (struct sl_stack_hint){&vouched_id, PY_VOUCHED_TAG};
            return at + n;
        }
    }
    /* A chain read afresh, for the capture cache (one the chain memo keeps
     * too, compared on address, code object and instruction alone). */
    struct sl_py_cache_chain fresh;
    fresh.n = 0;
    if (n)
        n = memo_copy(m, chain_seq, out, n, &sig);
    if (!n) {
        idr = NULL;
        out[0] = native;
        struct chain_rec rec;
        rec.n = 0;
        rec.fits = 1;
        rec.flagged = 0;
        struct chain_rec *r = m ? &rec : NULL;
        uintptr_t cursor = top;
        uint32_t budget = SL_PY_MAX_FRAMES;
        uint32_t got = one_eval_call(l, &cursor, &budget, out, room, r);
        n = got ? got : 1;   /* nothing to show for it: keep the native frame */
        /* The outer eval calls' Python frames come from the chain alone.
         * Native frames between them (a C function that called back into
         * Python) are not in this stack. */
        while (n < room && plausible(cursor) && budget)
            n += one_eval_call(l, &cursor, &budget, out + n, room - n, r);
        /* Remembered only when nothing was cut: the chain ended, every
         * entry fit, the first eval call showed frames of its own. */
        if (!r || !rec.fits || !got || plausible(cursor) || n >= room)
            return at + n;
        for (uint32_t j = 0; j < n; j++)
            sig = mix(sig, out[j]);
        memo_write(m, &rec, cursor, out, n, sig);
        if (cache_fill && path.tag != 1 && !rec.flagged && rec.n <= SL_PY_CACHE_FRAMES) {
            for (uint32_t j = 0; j < rec.n; j++) {
                fresh.f[j][0] = rec.f[j].addr;
                fresh.f[j][1] = rec.f[j].code;
                fresh.f[j][2] = rec.f[j].instr;
            }
            fresh.n = rec.n;
            fresh.end = cursor;
        }
    }
    if (!hints)
        return at + n;
    /* The stack id depends on the native frames above the chain too. */
    uint64_t key = (uintptr_t)id_hint->slot;
    for (uint32_t j = 0; j < at; j++)
        key = ((key << 5) | (key >> 59)) ^ ips[j];   /* a short chain: two cheap steps a frame */
    key = mix(key, sig);
    /* An odd tag: no memo vouches for this stack, so the candidate is compared. */
    *id_hint = (struct sl_stack_hint){&hints[(key ^ (key >> 32)) & (PY_HINT_SLOTS - 1)], 1};
    if (!idr && !fresh.n)
        return at + n;
    /* Interned here, to be remembered; stacks.c then takes it as is. A
     * full table (0) is left to stacks.c, which counts the loss. */
    uint32_t id = sl_stack_intern_hinted(ips, at + n, *id_hint);
    if (id) {
        if (idr)
            id_write(idr, &path, m, chain_seq, id);
        if (idr && cache_fill)
            remember_capture(m, chain_seq, &path, id);
        else if (fresh.n)
            sl_py_cache_remember(&fresh, &path, id);
        atomic_store_explicit(&vouched_id, (uint64_t)PY_VOUCHED_TAG << 32 | id, memory_order_relaxed);
        *id_hint = (struct sl_stack_hint){&vouched_id, PY_VOUCHED_TAG};
    }
    return at + n;
}

/* merge_tail_full's answer when the wrappers' capture found the top frame,
 * the memo vouches for the chain and the merged stack's id is remembered
 * (a request loop's steady state): the id alone, with no copy of the
 * chain. Otherwise merge_tail_full, which compares the chain again (a
 * mismatch is mostly seen at its first frame). */
static inline __attribute__((always_inline)) uint32_t merge_tail(const struct sl_py_layout *l, uint64_t *ips, uint32_t at, uint32_t max,
                                  struct sl_stack_hint *id_hint)
{
    uintptr_t top = sl_py_capture.top;
    if (top && memo && ids && id_hint->tag != 1 && !sl_async_may_merge()) {
        struct py_memo *m = memo_slot(top, sl_py_capture.site);
        uint64_t chain_seq;
        uint32_t n = memo_matches(l, m, top, max - at, &chain_seq);
        uint32_t id = n ? id_lookup(id_slot(id_hint, m), id_hint, m, chain_seq) : 0;
        if (id) {
            remember_capture(m, chain_seq, id_hint, id);
            /* As merge_tail_full's: ips past at are not read. */
            atomic_store_explicit(&vouched_id, (uint64_t)PY_VOUCHED_TAG << 32 | id, memory_order_relaxed);
            *id_hint = (struct sl_stack_hint){&vouched_id, PY_VOUCHED_TAG};
            return at + n;
        }
    }
    return merge_tail_full(l, ips, at, max, id_hint);
}

/* Any other stack (libunwind's, which goes on past the eval loops): each
 * native _PyEval_EvalFrameDefault frame is replaced where it stands. */
static uint32_t merge_each(const struct sl_py_layout *l, uint64_t *ips, uint32_t depth, uint32_t max)
{
    uint64_t scratch[SL_MAX_FRAMES];
    uintptr_t cursor = current_frame(l);
    uint32_t budget = SL_PY_MAX_FRAMES, n = 0;
    for (uint32_t i = 0; i < depth && n < max; i++) {
        uint64_t ip = ips[i];
        if (ip < eval_lo || ip > eval_hi) {
            scratch[n++] = ip;
            continue;
        }
        uint32_t got = one_eval_call(l, &cursor, &budget, scratch + n, max - n, NULL);
        if (!got)
            scratch[n++] = ip;   /* nothing to show for it: keep the native frame */
        n += got;
        if (i + 1 == depth) {
            /* The stack ends here (cut at max, or a walk that stopped
             * there): the outer eval calls come from the chain alone. */
            while (n < max && plausible(cursor) && budget)
                n += one_eval_call(l, &cursor, &budget, scratch + n, max - n, NULL);
        }
    }
    memcpy(ips, scratch, n * sizeof(uint64_t));
    return n;
}

/* sl_python_merge in a process with Python frames to read. Out of line, so
 * that every other process's captures (no layout) save no registers. */
static __attribute__((noinline)) uint32_t merge_with(const struct sl_py_layout *l, uint64_t *ips, uint32_t depth,
                                                     uint32_t max, struct sl_stack_hint *id_hint)
{
    if (max > SL_MAX_FRAMES)
        max = SL_MAX_FRAMES;
    const uintptr_t lo = eval_lo, span = eval_hi - eval_lo;
    /* The fast walk (it gave a hint) ends at the first eval frame. */
    if (id_hint->slot && depth && depth <= max && ips[depth - 1] - lo <= span) {
        /* A constant row: merge_tail's offsets folded into its loads. */
        switch (layout_row) {
        case 1: return merge_tail(&layouts[0], ips, depth - 1, max, id_hint);
        case 2: return merge_tail(&layouts[1], ips, depth - 1, max, id_hint);
        case 3: return merge_tail(&layouts[2], ips, depth - 1, max, id_hint);
        default: return merge_tail(l, ips, depth - 1, max, id_hint);
        }
    }
    uint32_t at = 0;
    while (at < depth && ips[at] - lo > span)
        at++;
    if (at == depth)
        return depth;   /* no eval frame: the stack is unchanged */
    if (at + 1 == depth && depth <= max)
        return merge_tail(l, ips, at, max, id_hint);
    return merge_each(l, ips, depth, max);
}

uint32_t sl_python_merge(uint64_t *ips, uint32_t depth, uint32_t max, struct sl_stack_hint *id_hint)
{
    const struct sl_py_layout *l = atomic_load_explicit(&layout, memory_order_acquire);
    return l ? merge_with(l, ips, depth, max, id_hint) : depth;
}
