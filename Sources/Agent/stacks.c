/*
 * stacks.c: lock-free interning of call stacks.
 *
 * A stack is stored once in a bump-allocated arena and found again through an
 * open-addressing table of arena offsets. stack_id = offset / 8, so the agent
 * thread can find the entry from the id alone. Readers and writers never
 * lock: a new entry is written completely, then published with a CAS
 * (release); a thread that loses the CAS to an equal stack uses the winner's.
 */
#include "agent.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define TABLE_ORDER 20u
#define TABLE_SIZE (1u << TABLE_ORDER)
#define TABLE_MASK (TABLE_SIZE - 1)
#define TABLE_MAX_FILL (TABLE_SIZE / 4 * 3)
#define ARENA_BYTES (1ull << 30)    /* virtual only (MAP_NORESERVE) */

static _Atomic uint32_t *table;
unsigned char *sl_stack_arena;
/* Written for every new stack, by any thread: on lines of their own, away
 * from the pointers above, which the consumer reads for every allocation. */
static struct {
    _Atomic uint64_t arena_top;
    _Atomic uint32_t table_fill;
} SL_OWN_LINES grow;

int sl_stacks_init(void)
{
    if (table)
        return 0;
    void *t = mmap(NULL, TABLE_SIZE * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t == MAP_FAILED)
        return errno ? errno : ENOMEM;
    void *a = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a == MAP_FAILED) {
        int e = errno ? errno : ENOMEM;
        munmap(t, TABLE_SIZE * sizeof(uint32_t));
        return e;
    }
    sl_stack_arena = a;
    atomic_store(&grow.arena_top, 8);    /* offset 0 means "empty" in the table */
    table = t;
    return 0;
}

int sl_stacks_reset_in_child(void)
{
    if (!table)
        return sl_stacks_init();
    /* Fresh zero pages in place of the parent's (shared copy-on-write). */
    if (mmap((void *)table, TABLE_SIZE * sizeof(uint32_t), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED ||
        mmap(sl_stack_arena, ARENA_BYTES, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
        return errno ? errno : ENOMEM;
    atomic_store(&grow.arena_top, 8);
    atomic_store(&grow.table_fill, 0);
    sl_fast_unwind_forget_stack_ids();
    return 0;
}

/* Four independent lanes: a single multiply-xorshift chain is one long
 * dependency per frame (~6 cycles each); four lanes let the CPU overlap
 * them, which matters on every traced allocation. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static inline uint64_t hash_ips(const uint64_t *ips, uint32_t depth)
{
    uint64_t a = 0x243f6a8885a308d3ull ^ depth, b = 0x13198a2e03707344ull;
    uint64_t c = 0xa4093822299f31d0ull, d = 0x082efa98ec4e6c89ull;
    uint32_t i = 0;
    for (; i + 4 <= depth; i += 4) {
        a = mix(a, ips[i]);
        b = mix(b, ips[i + 1]);
        c = mix(c, ips[i + 2]);
        d = mix(d, ips[i + 3]);
    }
    for (; i < depth; i++)
        a = mix(a, ips[i]);
    uint64_t h = mix(mix(mix(a, b), c), d);
    return h ? h : 1;
}

static inline int same(const struct sl_stack_entry *e, uint64_t h, const uint64_t *ips, uint32_t depth)
{
    return e->hash == h && e->depth == depth && memcmp(e->ips, ips, depth * sizeof(uint64_t)) == 0;
}

uint32_t sl_stack_intern(const uint64_t *ips, uint32_t depth)
{
    uint64_t h = hash_ips(ips, depth);
    uint32_t idx = (uint32_t)(h ^ (h >> 32)) & TABLE_MASK;
    uint32_t mine = 0;   /* our own copy in the arena, written at most once */

    for (uint32_t probes = 0; probes < TABLE_SIZE; probes++, idx = (idx + 1) & TABLE_MASK) {
        uint32_t cur = atomic_load_explicit(&table[idx], memory_order_acquire);
        if (cur) {
            if (same(sl_stack_get(cur), h, ips, depth))
                return cur;
            continue;
        }
        if (!mine) {
            if (atomic_load_explicit(&grow.table_fill, memory_order_relaxed) >= TABLE_MAX_FILL)
                goto full;
            uint64_t bytes = sizeof(struct sl_stack_entry) + (uint64_t)depth * sizeof(uint64_t);
            uint64_t off = atomic_fetch_add_explicit(&grow.arena_top, bytes, memory_order_relaxed);
            if (off + bytes > ARENA_BYTES || off / 8 > UINT32_MAX)
                goto full;
            struct sl_stack_entry *e = (struct sl_stack_entry *)(sl_stack_arena + off);
            e->hash = h;
            e->depth = depth;
            e->sent = 0;
            memcpy(e->ips, ips, depth * sizeof(uint64_t));
            mine = (uint32_t)(off / 8);
        }
        uint32_t expect = 0;
        if (atomic_compare_exchange_strong_explicit(&table[idx], &expect, mine,
                                                    memory_order_release, memory_order_acquire)) {
            atomic_fetch_add_explicit(&grow.table_fill, 1, memory_order_relaxed);
            return mine;
        }
        /* Lost the slot: the winner may be our very stack. */
        if (same(sl_stack_get(expect), h, ips, depth))
            return expect;   /* our arena copy is wasted; harmless */
    }
full:
    sl_fail(SL_STATUS_OUT_OF_MEMORY, ENOMEM);
    return 0;
}

uint32_t sl_stack_intern_compared(const uint64_t *ips, uint32_t depth, struct sl_stack_hint hint)
{
    if (hint.slot) {
        /* The candidate sl_stack_intern_hinted did not take as vouched for:
         * the comparison decides. */
        uint64_t w = atomic_load_explicit(hint.slot, memory_order_acquire);
        uint32_t cand = (uint32_t)w;
        if (cand && depth) {
            const struct sl_stack_entry *e = sl_stack_get(cand);
            if (e->depth == depth) {
                if (memcmp(e->ips, ips, depth * sizeof(uint64_t)) == 0) {
                    if (!(hint.tag & 1))   /* vouched for from now on */
                        atomic_store_explicit(hint.slot, (uint64_t)hint.tag << 32 | cand, memory_order_release);
                    return cand;
                }
            }
        }
    }
    uint32_t id = sl_stack_intern(ips, depth);
    if (hint.slot && id)
        atomic_store_explicit(hint.slot, (uint64_t)hint.tag << 32 | id, memory_order_release);
    return id;
}
