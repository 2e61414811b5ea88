/*
 * ring.c: one bounded multi-producer / single-consumer ring of fixed slots.
 *
 * One ring for all threads gives a single global order: a free is pushed
 * before the real free runs and an allocation after the real allocator
 * returned, so an address reused by another thread is never seen before its
 * previous free. That order is also why each event takes its own position
 * from `tail` when it happens: positions reserved ahead in per-thread
 * batches would let an allocation that reuses an address land before the
 * free of it, which another thread recorded in a later position. The one
 * line every thread writes per event is the price; per-thread rings merged
 * by a timestamp taken at the same points would avoid it.
 *
 * Slot sequence states for position `pos` (Vyukov style):
 *   seq == pos            free for the producer that reserved `pos`
 *   seq == pos + 1        ready for the consumer
 *   seq == pos + CAP      consumed (or skipped), free for the next lap
 * A producer that finds its slot free writes the payload and publishes it
 * with a CAS (pos -> pos + 1): two atomic read-modify-writes per event (the
 * reservation and that CAS), which dominate the ring's cost. The consumer
 * may skip, with a CAS of its own, a reservation that was never completed
 * (thread killed, longjmp'd out of a hook, gave up); the producer's CAS then
 * fails and the event counts as lost, never as two.
 */
#include "agent.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#define RING_ORDER 16u
#define RING_CAP (1ull << RING_ORDER)
#define RING_MASK (RING_CAP - 1)
#define PRODUCER_GIVE_UP_NS 2000000000ull

struct slot {
    _Atomic uint64_t seq;
    uint64_t address;
    uint64_t size;
    uint32_t stack_id;
    uint32_t kind;
};

_Static_assert(sizeof(struct slot) == 32, "ring slots are 32 bytes");

static struct slot *slots;
static _Atomic uint64_t tail __attribute__((aligned(64)));
static uint64_t head __attribute__((aligned(64)));   /* consumer only */
static uint64_t head_wait_since;                     /* consumer only: 0 = not waiting */

int sl_ring_init(void)
{
    if (slots)
        return 0;
    void *m = mmap(NULL, RING_CAP * sizeof(struct slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return errno ? errno : ENOMEM;
    struct slot *s = m;
    for (uint64_t i = 0; i < RING_CAP; i++)
        atomic_store_explicit(&s[i].seq, i, memory_order_relaxed);
    slots = s;
    atomic_thread_fence(memory_order_release);
    return 0;
}

int sl_ring_reset_in_child(void)
{
    if (!slots)
        return sl_ring_init();
    /* A fresh mapping at the same place: the parent's slots (some reserved
     * by threads that do not exist here) are dropped without being copied. */
    void *m = mmap(slots, RING_CAP * sizeof(struct slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (m == MAP_FAILED)
        return errno ? errno : ENOMEM;
    for (uint64_t i = 0; i < RING_CAP; i++)
        atomic_store_explicit(&slots[i].seq, i, memory_order_relaxed);
    atomic_store(&tail, 0);
    head = 0;
    head_wait_since = 0;
    atomic_thread_fence(memory_order_release);
    return 0;
}

uint64_t sl_ring_tail(void) { return atomic_load_explicit(&tail, memory_order_acquire); }
uint64_t sl_ring_head(void) { return head; }

/* Escalating wait: spin, then yield, then sleep 50 us. No locks, no allocation. */
static void backoff(unsigned *round)
{
    unsigned r = (*round)++;
    if (r < 64) {
        __builtin_ia32_pause();
    } else if (r < 128) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);  /* EINTR just means we look again sooner */
    }
}

int sl_ring_push(uint32_t kind, uint64_t address, uint64_t size, uint32_t stack_id)
{
    uint64_t pos = atomic_fetch_add_explicit(&tail, 1, memory_order_relaxed);
    struct slot *s = &slots[pos & RING_MASK];
    if (SL_LIKELY(atomic_load_explicit(&s->seq, memory_order_acquire) == pos))
        goto claimed;

    /* Ring full (or the slot was skipped): wait, but never forever. */
    unsigned round = 0;
    uint64_t t0 = 0;
    for (;;) {
        if (!atomic_load_explicit(&sl_sess.tracing, memory_order_relaxed))
            goto give_up;
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (seq == pos)
            goto claimed;
        if (seq > pos)   /* the consumer skipped our reservation */
            goto give_up;
        if (round >= 64) {
            uint64_t now = sl_now_ns(CLOCK_MONOTONIC);
            if (!t0)
                t0 = now;
            else if (now - t0 > PRODUCER_GIVE_UP_NS) {
                sl_fail(SL_STATUS_RING_STALLED, 0);
                goto give_up;
            }
        }
        backoff(&round);
    }

give_up:
    /* The consumer skips the reservation after its own timeout and counts it. */
    return 0;

claimed:
    s->address = address;
    s->size = size;
    s->stack_id = stack_id;
    s->kind = kind;
    uint64_t expect = pos;
    if (!atomic_compare_exchange_strong_explicit(&s->seq, &expect, pos + 1,
                                                 memory_order_release, memory_order_relaxed))
        return 0;   /* the consumer gave up on us meanwhile; it counted the loss */
    return 1;
}

int sl_ring_pop(struct sl_event *ev, uint64_t stall_ns)
{
again:;
    /* Look at the slot first: reading `tail` on every pop would pull the
     * producers' hottest cache line over to this core each time. */
    struct slot *s = &slots[head & RING_MASK];
    for (;;) {
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (seq == head + 1) {
            ev->address = s->address;
            ev->size = s->size;
            ev->stack_id = s->stack_id;
            ev->kind = s->kind;
            atomic_store_explicit(&s->seq, head + RING_CAP, memory_order_release);
            head++;
            head_wait_since = 0;
            return 1;
        }
        if (head == atomic_load_explicit(&tail, memory_order_acquire)) {
            head_wait_since = 0;
            return 0;   /* empty */
        }
        /* Reserved (head < tail) but not completed yet. */
        uint64_t now = sl_now_ns(CLOCK_MONOTONIC);
        if (!head_wait_since) {
            head_wait_since = now;
            return 0;
        }
        if (now - head_wait_since < stall_ns)
            return 0;
        if (seq != head)
            return 0;   /* cannot happen; be conservative */
        /* Skip it. A CAS, so a producer finishing right now wins instead. */
        uint64_t expect = seq;
        if (atomic_compare_exchange_strong_explicit(&s->seq, &expect, head + RING_CAP,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            sl_count_lost(1);
            head++;
            head_wait_since = 0;
            goto again;
        }
        /* seq changed under us: look again. */
    }
}
