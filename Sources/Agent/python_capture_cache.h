/*
 * python_capture_cache.h: the whole stack id of a capture from CPython's
 * allocator wrappers, remembered under what the capture knows before it
 * walks (python_frames.h's sl_py_capture) and proven again, each time, by
 * comparisons alone (python_capture_cache.c says which and why). The probe
 * is inline here so that python_frames.c's capture, one body per layout
 * row, folds a frame's field offsets into its loads.
 */
#ifndef SWIFTLEAK_PYTHON_CAPTURE_CACHE_H
#define SWIFTLEAK_PYTHON_CAPTURE_CACHE_H

#include "agent.h"
#include "async_frames.h"
#include "python_frames.h"
#include "sampling.h"

#define SL_PY_CACHE_SLOTS 8192u
#define SL_PY_CACHE_WAYS 4u       /* slots a set: one key's native paths */
#define SL_PY_CACHE_NATIVE 48u    /* deeper native paths go the usual way */
#define SL_PY_CACHE_FRAMES 16u    /* and so do longer chains */

/* A slot is read on a hit from its start to its last check: the header
 * (48 bytes), then the checks in the order the probe compares them, packed
 * with no gap (a native frame's return address and its offset from sp0,
 * then a Python frame's address, code object and instruction), so a lookup
 * reads ceil((48 + 16 nn + 24 np) / 64) lines, the first check on the
 * header's line. */
struct sl_py_cache_slot {
    _Atomic uint64_t seq;   /* odd while being written */
    uint64_t ip0;                          /* the key's part the probe compares */
    uint64_t epoch;                        /* sl_py_cache_epoch() when filled */
    uint32_t nn, np;                       /* native and Python checks, written last */
    uint64_t end, id;                      /* the chain's last `previous`; the stack id */
    uint64_t chk[2 * SL_PY_CACHE_NATIVE + 3 * SL_PY_CACHE_FRAMES];
};

extern struct sl_py_cache_slot *sl_py_cache_table;

/* The slot this thread's last miss may fill, and the key's ip0 and sp0. */
struct sl_py_cache_miss {
    struct sl_py_cache_slot *slot;
    uintptr_t ip0, sp0;
};
extern __thread struct sl_py_cache_miss sl_py_cache_miss __attribute__((tls_model("initial-exec")));

/* A chain of Python frames as the chain memo vouched for it (python_frames.c):
 * per frame its address, code object and instruction pointer, and the last
 * frame's `previous`. Only chains whose frames' owner and is_entry decide
 * nothing (the memo's unflagged ones). */
struct sl_py_cache_chain {
    uint32_t n;
    uint64_t end;
    uint64_t f[SL_PY_CACHE_FRAMES][3];
};

/* Before tracing: the table. */
void sl_py_cache_setup(void);

/* From the Python merge, when the native path (path: its hint) and the
 * chain were both vouched for and the merged stack's id is id: remember
 * them in the slot the last lookup missed, if any. */
void sl_py_cache_remember(const struct sl_py_cache_chain *chain, const struct sl_stack_hint *path, uint32_t id);

/* Fork child (one thread): forget every id (the child's stack table is new). */
void sl_py_cache_forget(void);

static inline uint64_t sl_py_cache_rd64(const void *p) { return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED); }
static inline uint32_t sl_py_cache_rd32(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED); }
static inline uint64_t sl_py_cache_word(uintptr_t at)
{
    uint64_t v;
    __builtin_memcpy(&v, (const void *)at, sizeof v);
    return v;
}

/* What else a walk's result depends on: the rule cache's generation and
 * the depth limit. */
static inline uint64_t sl_py_cache_epoch(void)
{
    return (uint64_t)atomic_load_explicit(&sl_fu_generation, memory_order_relaxed) << 32 | sl_sess.frames;
}

/* The id slot s holds for capture c, if every check holds: 0 if not. Of
 * the key only ip0 is compared: the chain's compare covers the top frame
 * and its instruction. span: how far
 * above sp0 the stack goes, less a word. */
static inline __attribute__((always_inline)) uint32_t sl_py_cache_probe(const struct sl_py_cache_slot *s,
                                                                        const struct sl_py_capture *c, uintptr_t ip0,
                                                                        uintptr_t sp0, uintptr_t span, uint64_t epoch,
                                                                        uint32_t code_at, uint32_t instr_at,
                                                                        uint32_t previous_at)
{
    /* The sequence number first, so the one read of ip0 (another caller's
     * slot, the common miss of a way, costs that compare) is one the
     * closing check covers. */
    uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (sl_py_cache_rd64(&s->ip0) != ip0)
        return 0;
    /* Acquire: a writer stores the counts after everything they count, so
     * no frame address read below is one it has not written (never 0). */
    uint32_t nn = __atomic_load_n(&s->nn, __ATOMIC_ACQUIRE), np = __atomic_load_n(&s->np, __ATOMIC_ACQUIRE);
    uint64_t diff = (sl_py_cache_rd64(&s->epoch) ^ epoch) | (s1 & 1);
    if (diff || nn - 1 >= SL_PY_CACHE_NATIVE || np - 1 >= SL_PY_CACHE_FRAMES)
        return 0;
    /* Each offset is checked before its read: a slot being rewritten may
     * hand out another stack's (the sequence number catches it after). A
     * compare and branch a frame costs what an accumulated difference
     * does, and a path of another way mostly differs near its leaf. */
    const uint64_t *n = s->chk, *nend = s->chk + 2 * nn;
    for (; n != nend; n += 2) {
        uint64_t at = sl_py_cache_rd64(&n[1]);
        if (SL_UNLIKELY(at > span) || sl_py_cache_word(sp0 + at) != sl_py_cache_rd64(&n[0]))
            return 0;
    }
    /* f is this thread's live chain (top, then `previous` of frames that
     * matched), and every address a slot held was a live frame's: f
     * matching one is safe to read (0 never does: see above). */
    uintptr_t f = c->top;
    const uint64_t *py = nend, *pend = nend + 3 * np;
    for (; py != pend; py += 3) {
        if (f != sl_py_cache_rd64(&py[0]))
            return 0;
        if ((sl_py_cache_word(f + code_at) ^ sl_py_cache_rd64(&py[1])) |
            (sl_py_cache_word(f + instr_at) ^ sl_py_cache_rd64(&py[2])))
            return 0;
        f = sl_py_cache_word(f + previous_at);
    }
    uint32_t id = (uint32_t)sl_py_cache_rd64(&s->id);
    if (f != sl_py_cache_rd64(&s->end))
        return 0;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&s->seq, memory_order_relaxed) == s1 ? id : 0;
}

/* The top of the stack sp lies in, as the fast walk finds it (a thread's
 * descriptor sits above its stack; the main thread's ends at
 * __libc_stack_end), or 0. */
static inline uintptr_t sl_py_cache_stack_top(uintptr_t sp)
{
    extern void *__libc_stack_end;
    uintptr_t self = (uintptr_t)__builtin_thread_pointer(), main_top = (uintptr_t)__libc_stack_end;
    if (sp < self && self - sp <= SL_MAX_THREAD_STACK)
        return self;
    if (sp < main_top && main_top - sp <= SL_MAX_MAIN_STACK)
        return main_top;
    return 0;
}

/* This thread's stack as sl_py_cache_stack_top last found it: an sp in
 * [lo, lo + len) has top lo + len (python_capture_cache.c). */
struct sl_py_cache_stack {
    uintptr_t lo, len;
};
extern __thread struct sl_py_cache_stack sl_py_cache_stack __attribute__((tls_model("initial-exec")));

/* sl_py_cache_stack_top(sp), remembered in sl_py_cache_stack. */
uintptr_t sl_py_cache_stack_find(uintptr_t sp);

/* The top of this thread's stack for sp, as sl_py_cache_stack_top finds
 * it: one compare while sp stays in the range found last. */
static inline uintptr_t sl_py_cache_thread_top(uintptr_t sp)
{
    const struct sl_py_cache_stack r = sl_py_cache_stack;
    if (SL_LIKELY(sp - r.lo < r.len))
        return r.lo + r.len;
    return sl_py_cache_stack_find(sp);
}

/* The slot of set a miss fills (python_capture_cache.c). */
struct sl_py_cache_slot *sl_py_cache_victim(struct sl_py_cache_slot *set);

/* The stack id of capture c (top frame found) from `from`, when it is the
 * one remembered under its key: every native return address on the stack
 * where it was, every Python frame as it was. Else 0, having noted which
 * slot a capture that follows may fill (sl_py_cache_remember). Not in
 * sampled mode (sl_emit_alloc_at decides there) nor when the Swift async
 * merge may rewrite stacks. */
static inline __attribute__((always_inline)) uint32_t sl_py_cache_lookup(const struct sl_py_capture *c,
                                                                         const struct sl_caller *from,
                                                                         uint32_t code_at, uint32_t instr_at,
                                                                         uint32_t previous_at)
{
    struct sl_py_cache_slot *t = sl_py_cache_table;
    const uintptr_t sp0 = from->sp, ip0 = from->ip;
    sl_py_cache_miss.slot = NULL;
    if (!t || sl_sample_mean || sl_async_may_merge())
        return 0;
    const uintptr_t end = sl_py_cache_thread_top(sp0);
    if (!end)
        return 0;
    const uintptr_t span = end - sp0 - 8;
    /* Ways: one instruction's allocation may come by several native paths
     * (a C encoder's helpers for each kind of value). sp0 spreads one
     * instruction's paths of different depths over sets, as the anchor's
     * distance from it would, without 3.13's walk down the chain for the
     * anchor, which only a miss needs (python_frames.c). */
    uint64_t h = (ip0 ^ c->site ^ sp0 << 24) * 0x9e3779b97f4a7c15ull ^ c->top * 0xc2b2ae3d27d4eb4full;
    struct sl_py_cache_slot *set = &t[(h >> 40) & (SL_PY_CACHE_SLOTS - SL_PY_CACHE_WAYS)];
    const uint64_t epoch = sl_py_cache_epoch();
    for (uint32_t w = 0; w < SL_PY_CACHE_WAYS; w++) {
        uint32_t id = sl_py_cache_probe(&set[w], c, ip0, sp0, span, epoch, code_at, instr_at, previous_at);
        if (SL_LIKELY(id))
            return id;
    }
    sl_py_cache_miss = (struct sl_py_cache_miss){sl_py_cache_victim(set), ip0, sp0};
    return 0;
}

#endif
