/*
 * python_capture_cache.c: a Python allocation's stack id, remembered whole.
 *
 * A capture from the allocator wrappers goes through the path memo
 * (fast_unwind.c: which set, which way, the whole-path check), the chain
 * memo (python_frames.c: which slot, the chain compared) and the merged-id
 * memo (which slot, four fields compared), some 500 instructions even when
 * all three vouch. But what decides the stack is known before the walk:
 * the wrapper's caller (ip0, sp0) and the top Python frame and its
 * instruction (sl_py_capture). So the result of a
 * capture that all three memos vouched for is remembered under those, with
 * exactly what vouched for it: each native return address's offset from
 * sp0 and value (paths whose frames all find their CFA from the stack
 * pointer, where return addresses decide the walk: the path memo's
 * return-address-only case) and each Python frame's address, code object
 * and instruction pointer (chains where those decide what is shown: the
 * chain memo's unflagged case). A capture with that key compares them all,
 * one load and compare per native frame and three per Python frame, and
 * pushes the remembered id. Any difference and the capture goes the usual
 * way, which then fills the slot again.
 *
 * Exactness: the native frames the fast walk would find are those return
 * addresses (every CFA a fixed distance from the last: the rules of one
 * generation of the rule cache, which the slot keeps), and the walk ends at
 * the same eval frame; the Python frames shown follow from the compared
 * fields (python_frames.c's chain memo says why). The depth limit and the
 * Swift async merge are checked too. Stack reads stay inside this thread's
 * stack; frame reads follow this thread's live chain, as the chain memo's.
 *
 * Slots are shared by all threads and written under a sequence number (odd
 * while written; a writer that finds it odd skips, a reader that sees it
 * move goes the usual way). No thread waits.
 */
#include "python_capture_cache.h"
#include "unwind_modules.h"

#include <string.h>

struct sl_py_cache_slot *sl_py_cache_table;
__thread struct sl_py_cache_miss sl_py_cache_miss __attribute__((tls_model("initial-exec")));
__thread struct sl_py_cache_stack sl_py_cache_stack __attribute__((tls_model("initial-exec")));

/* The range remembered gives exactly sl_py_cache_stack_top's answer for
 * any sp in it: both tops are fixed for a thread, and the thread's own
 * range is tested first there. So the main thread's range is remembered
 * only where the thread's own range does not overlap it (a thread whose
 * stack lies within SL_MAX_MAIN_STACK below __libc_stack_end, or that once
 * ran on another stack there, would otherwise keep the main thread's top,
 * and the span that bounds the cache's reads with it). */
uintptr_t sl_py_cache_stack_find(uintptr_t sp)
{
    uintptr_t top = sl_py_cache_stack_top(sp);
    if (!top)
        return 0;
    uintptr_t self = (uintptr_t)__builtin_thread_pointer();
    uintptr_t len = top == self ? SL_MAX_THREAD_STACK : SL_MAX_MAIN_STACK;
    /* top - sp <= len, inclusive: the range starts at top - len. */
    uintptr_t lo = top - len, own_lo = self - SL_MAX_THREAD_STACK;   /* both ranges in wrapping arithmetic */
    int overlaps = top != self && (own_lo - lo < len || lo - own_lo < SL_MAX_THREAD_STACK);
    if (!overlaps)
        sl_py_cache_stack = (struct sl_py_cache_stack){lo, len};
    return top;
}

static inline void wr64(void *p, uint64_t v) { __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); }
static inline void wr32(void *p, uint32_t v) { __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED); }

void sl_py_cache_setup(void)
{
    if (!sl_py_cache_table)
        sl_py_cache_table = sl_map_zero(SL_PY_CACHE_SLOTS * sizeof(struct sl_py_cache_slot));
}

void sl_py_cache_forget(void)
{
    if (sl_py_cache_table)
        memset(sl_py_cache_table, 0, SL_PY_CACHE_SLOTS * sizeof(struct sl_py_cache_slot));
    sl_py_cache_miss.slot = NULL;
}

/* A slot never filled or filled in another epoch, else each in turn (per
 * thread, so no line is shared): a set keeps up to its ways' worth of
 * stacks, whichever keys they are under. */
static __thread uint32_t victim_turn __attribute__((tls_model("initial-exec")));

struct sl_py_cache_slot *sl_py_cache_victim(struct sl_py_cache_slot *set)
{
    const uint64_t epoch = sl_py_cache_epoch();
    for (uint32_t w = 0; w < SL_PY_CACHE_WAYS; w++) {
        const struct sl_py_cache_slot *s = &set[w];
        if (!sl_py_cache_rd32(&s->np) || sl_py_cache_rd64(&s->epoch) != epoch)
            return &set[w];
    }
    return &set[victim_turn++ % SL_PY_CACHE_WAYS];
}

void sl_py_cache_remember(const struct sl_py_cache_chain *chain, const struct sl_stack_hint *path, uint32_t id)
{
    struct sl_py_cache_miss miss = sl_py_cache_miss;
    struct sl_py_cache_slot *s = miss.slot;
    sl_py_cache_miss.slot = NULL;
    /* A walk that starts in the agent has another sp0: no slot ever holds
     * such an ip0, so lookups need not ask. */
    if (!s || !id || !chain->n || chain->n > SL_PY_CACHE_FRAMES || sl_in_agent(miss.ip0))
        return;
    uint32_t at[SL_PY_CACHE_NATIVE], gen;
    uint64_t ra[SL_PY_CACHE_NATIVE];
    uint32_t nn = sl_fast_unwind_path_checks(*path, at, ra, SL_PY_CACHE_NATIVE, &gen);
    if (!nn)
        return;
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((q & 1) || !atomic_compare_exchange_strong(&s->seq, &q, q + 1))
        return;   /* someone else is writing it: theirs is as good */
    atomic_thread_fence(memory_order_release);
    wr64(&s->ip0, miss.ip0);
    wr64(&s->epoch, (uint64_t)gen << 32 | sl_sess.frames);   /* as sl_py_cache_epoch(), the path's generation */
    wr64(&s->end, chain->end);
    wr64(&s->id, id);
    uint64_t *k = s->chk;
    for (uint32_t i = 0; i < nn; i++, k += 2) {
        wr64(&k[0], ra[i]);
        wr64(&k[1], at[i]);
    }
    for (uint32_t i = 0; i < chain->n; i++, k += 3) {
        wr64(&k[0], chain->f[i][0]);
        wr64(&k[1], chain->f[i][1]);
        wr64(&k[2], chain->f[i][2]);
    }
    /* The counts last (release): a reader that sees them sees what they count. */
    __atomic_store_n(&s->nn, nn, __ATOMIC_RELEASE);
    __atomic_store_n(&s->np, chain->n, __ATOMIC_RELEASE);
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}
