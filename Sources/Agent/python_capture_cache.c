/*
 * python_capture_cache.c: a Python allocation's stack id, remembered whole.
 *
 * A capture from the allocator wrappers goes through the path memo
 * (fast_unwind.c: which set, which way, the whole-path check), the chain
 * memo (python_frames.c: which slot, the chain compared) and the merged-id
 * memo (which slot, four fields compared), some 500 instructions even when
 * all three vouch. But what decides the stack is known before the walk:
 * the wrapper's caller (ip0, sp0), the eval frame's anchor and the top
 * Python frame and its instruction (sl_py_capture). So the result of a
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
#include "agent.h"
#include "async_frames.h"
#include "python_capture_cache.h"
#include "python_frames.h"
#include "sampling.h"
#include "unwind_modules.h"

#include <string.h>

#define CACHE_SLOTS 8192u
#define CACHE_NATIVE 48u   /* deeper native paths go the usual way */

struct cache_slot {
    _Atomic uint64_t seq;
    uint64_t ip0, top, site, anchor_rel;
    uint32_t gen, max, nn, np;
    uint64_t end;
    uint64_t id;
    uint32_t at[CACHE_NATIVE];   /* where frame i's return address is: sp0 + at[i] */
    uint64_t ra[CACHE_NATIVE];
    uint64_t py[SL_PY_CACHE_FRAMES][3];   /* address, code object, instruction */
};

static struct cache_slot *table;
static uint32_t code_at, instr_at, previous_at;

/* The slot the last miss of this thread's capture may fill, and its key's
 * start (ip0, sp0). */
static __thread struct cache_slot *pending __attribute__((tls_model("initial-exec")));
static __thread uintptr_t pending_ip0 __attribute__((tls_model("initial-exec")));
static __thread uintptr_t pending_sp0 __attribute__((tls_model("initial-exec")));

static inline uint64_t rd64(const void *p) { return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED); }
static inline uint32_t rd32(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED); }
static inline void wr64(void *p, uint64_t v) { __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); }
static inline void wr32(void *p, uint32_t v) { __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED); }

static inline uint64_t load_word(uintptr_t at)
{
    uint64_t v;
    __builtin_memcpy(&v, (const void *)at, sizeof v);
    return v;
}

void sl_py_cache_setup(uint32_t code, uint32_t instr, uint32_t previous)
{
    if (!table)
        table = sl_map_zero(CACHE_SLOTS * sizeof(struct cache_slot));
    code_at = code;
    instr_at = instr;
    previous_at = previous;
}

void sl_py_cache_forget(void)
{
    if (table)
        memset(table, 0, CACHE_SLOTS * sizeof(struct cache_slot));
    pending = NULL;
}

static inline struct cache_slot *set_of(uintptr_t ip0, uintptr_t top, uintptr_t site, uintptr_t anchor_rel)
{
    uint64_t h = ip0 * 0x9e3779b97f4a7c15ull ^ top * 0xc2b2ae3d27d4eb4full ^ site * 0x165667b19e3779f9ull ^
                 anchor_rel * 0xd6e8feb86659fd93ull;
    return &table[(h >> 40) & (CACHE_SLOTS - 2)];
}

/* The top of the stack sp lies in, as the fast walk finds it (a thread's
 * descriptor sits above its stack; the main thread's ends at
 * __libc_stack_end), or 0. */
extern void *__libc_stack_end;
static inline uintptr_t stack_top(uintptr_t sp)
{
    uintptr_t self = (uintptr_t)__builtin_thread_pointer(), main_top = (uintptr_t)__libc_stack_end;
    if (sp < self && self - sp <= (256ull << 20))
        return self;
    if (sp < main_top && main_top - sp <= (4ull << 30))
        return main_top;
    return 0;
}

/* The id slot s holds for this capture, if every check holds: 0 if not.
 * *same_key: whether s was filled under this key (a path it did not see
 * then goes to the other way of the set). */
static inline __attribute__((always_inline)) uint32_t probe(const struct cache_slot *s, uintptr_t ip0, uintptr_t sp0,
                                                            uintptr_t span, uintptr_t top, uintptr_t site,
                                                            uintptr_t anchor_rel, int *same_key)
{
    uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    uint32_t nn = rd32(&s->nn), np = rd32(&s->np);
    uint64_t diff = (rd64(&s->ip0) ^ ip0) | (rd64(&s->top) ^ top) | (rd64(&s->site) ^ site) |
                    (rd64(&s->anchor_rel) ^ anchor_rel);
    *same_key = !diff;
    diff |= (s1 & 1) | (rd32(&s->gen) ^ atomic_load_explicit(&sl_fu_generation, memory_order_relaxed)) |
            (rd32(&s->max) ^ sl_sess.frames);
    if (diff || nn - 1 >= CACHE_NATIVE || np - 1 >= SL_PY_CACHE_FRAMES)
        return 0;
    /* Each offset is checked before its read: a slot being rewritten may
     * hand out another stack's (the sequence number catches it after). */
    uint64_t worse = 0;
    for (uint32_t i = 0; i < nn; i++) {
        uint32_t at = rd32(&s->at[i]);
        if (SL_UNLIKELY(at > span))
            return 0;
        worse |= load_word(sp0 + at) ^ rd64(&s->ra[i]);
    }
    if (worse)
        return 0;
    /* f is this thread's live chain (top, then `previous` of frames that
     * matched), and every address a slot held was a live frame's: f
     * matching one is safe to read. */
    const uint32_t code = code_at, instr = instr_at, previous = previous_at;
    uintptr_t f = top;
    for (uint32_t i = 0; i < np; i++) {
        if (!f || f != rd64(&s->py[i][0]))
            return 0;
        if ((load_word(f + code) ^ rd64(&s->py[i][1])) | (load_word(f + instr) ^ rd64(&s->py[i][2])))
            return 0;
        f = load_word(f + previous);
    }
    uint32_t id = (uint32_t)rd64(&s->id);
    if (f != rd64(&s->end))
        return 0;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&s->seq, memory_order_relaxed) == s1 ? id : 0;
}

int sl_py_cache_emit(void *p, size_t size, const struct sl_caller *from)
{
    pending = NULL;
    struct cache_slot *t = table;
    const uintptr_t top = sl_py_capture.top, site = sl_py_capture.site, sp0 = from->sp, ip0 = from->ip;
    /* Sampled mode decides in sl_emit_alloc_at; a walk that starts in the
     * agent has another sp0. */
    if (!t || !top || sl_sample_mean || sl_in_agent(ip0) || sl_async_may_merge())
        return 0;
    const uintptr_t anchor_rel = sl_py_capture.anchor - sp0, end = stack_top(sp0);
    if (!end)
        return 0;
    const uintptr_t span = end - sp0 - 8;
    /* Two ways a set: one instruction's allocation may come by two native
     * paths in turn (a container that grows now and then). */
    struct cache_slot *set = set_of(ip0, top, site, anchor_rel);
    int same0, same1;
    uint32_t id = probe(&set[0], ip0, sp0, span, top, site, anchor_rel, &same0);
    if (!id)
        id = probe(&set[1], ip0, sp0, span, top, site, anchor_rel, &same1);
    if (!id) {
        pending = same0 && !same1 ? &set[1] : &set[0];
        pending_ip0 = ip0;
        pending_sp0 = sp0;
        return 0;
    }
    /* A dropped event is counted by the consumer when it skips the slot. */
    (void)sl_ring_push(SL_EV_ALLOC, (uint64_t)(uintptr_t)p, size, id);
    return 1;
}

void sl_py_cache_remember(const struct sl_py_cache_chain *chain, const struct sl_stack_hint *path, uint32_t id)
{
    struct cache_slot *s = pending;
    pending = NULL;
    if (!s || !id || !chain->n || chain->n > SL_PY_CACHE_FRAMES)
        return;
    uint32_t at[CACHE_NATIVE], gen;
    uint64_t ra[CACHE_NATIVE];
    uint32_t nn = sl_fast_unwind_path_checks(*path, at, ra, CACHE_NATIVE, &gen);
    if (!nn)
        return;
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((q & 1) || !atomic_compare_exchange_strong(&s->seq, &q, q + 1))
        return;   /* someone else is writing it: theirs is as good */
    atomic_thread_fence(memory_order_release);
    const uintptr_t sp0 = pending_sp0;
    wr64(&s->ip0, pending_ip0);
    wr64(&s->top, sl_py_capture.top);
    wr64(&s->site, sl_py_capture.site);
    wr64(&s->anchor_rel, sl_py_capture.anchor - sp0);
    wr32(&s->gen, gen);
    wr32(&s->max, sl_sess.frames);
    wr32(&s->nn, nn);
    wr32(&s->np, chain->n);
    wr64(&s->end, chain->end);
    wr64(&s->id, id);
    for (uint32_t i = 0; i < nn; i++) {
        wr32(&s->at[i], at[i]);
        wr64(&s->ra[i], ra[i]);
    }
    for (uint32_t i = 0; i < chain->n; i++) {
        wr64(&s->py[i][0], chain->f[i][0]);
        wr64(&s->py[i][1], chain->f[i][1]);
        wr64(&s->py[i][2], chain->f[i][2]);
    }
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}
