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
 * by a timestamp taken at the same points would avoid it (rdtsc costs as
 * much as the atomic on the VMs measured).
 *
 * Slot sequence states for position `pos` (Vyukov style):
 *   seq == pos            free for the producer that reserved `pos`
 *   seq == pos + 1        ready for the consumer
 *   seq == pos + CAP      consumed, free for the next lap
 * A producer reserves with one atomic add on `tail` (sl_ring_tail_line),
 * writes the payload and publishes with a plain release store (inline in
 * the hooks, agent.h): one read-modify-write per event
 * (a second one, a CAS to publish, cost 8 ns more per event). Only the
 * producer writes a slot between its reservation and publication; only the
 * consumer releases it.
 *
 * A reservation that stays unpublished for `stall_ns` (a producer
 * preempted that long) is skipped by the consumer, which counts the event
 * lost and remembers the position without touching the slot. When the late
 * producer publishes after all, the consumer sees it and releases the slot
 * for the next lap, so a slow producer costs one event and nothing else. A
 * producer that never publishes (gave up on a full ring when tracing turned
 * off, or was longjmp'd out of the few instructions between reservation and
 * publication by a signal handler) leaves its slot held: within a session
 * the producer that draws that slot one lap later waits its 2 s and turns
 * tracing off (SL_STATUS_RING_STALLED); between sessions sl_ring_reclaim()
 * resets every slot, because by then no producer can still be inside a push.
 */
#include "agent.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#define PRODUCER_GIVE_UP_NS 2000000000ull

_Static_assert(sizeof(struct sl_ring_slot) == 32, "ring slots are 32 bytes");

struct sl_ring_slot *sl_ring_slots;
struct sl_ring_tail sl_ring_tail_line;

/* The consumer's side, on lines of its own (it reads stalled_count on every
 * pop, and on the tail's line that would pull it from the producers each
 * time). Positions skipped unpublished, whose slot the consumer must
 * release if their producer publishes late: a skip beyond the table's size
 * is not remembered; its slot waits for sl_ring_reclaim() (see above). */
#define STALLED_MAX 64
static struct {
    uint64_t head;
    uint64_t wait_since;   /* 0 = not waiting */
    unsigned stalled_count;
    uint64_t stalled[STALLED_MAX];
} SL_OWN_LINES cons;

/* Every slot free for the position at or after `from` that maps to it:
 * the ring empty, its next lap starting at `from`. */
static void free_every_slot(struct sl_ring_slot *s, uint64_t from)
{
    for (uint64_t i = 0; i < SL_RING_CAP; i++)
        atomic_store_explicit(&s[i].seq, from + ((i - from) & SL_RING_MASK), memory_order_relaxed);
}

int sl_ring_init(void)
{
    if (sl_ring_slots)
        return 0;
    void *m = mmap(NULL, SL_RING_CAP * sizeof(struct sl_ring_slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return errno ? errno : ENOMEM;
    free_every_slot(m, 0);
    sl_ring_slots = m;
    atomic_thread_fence(memory_order_release);
    return 0;
}

int sl_ring_reset_in_child(void)
{
    if (!sl_ring_slots)
        return sl_ring_init();
    /* A fresh mapping at the same place: the parent's slots (some reserved
     * by threads that do not exist here) are dropped without being copied. */
    void *m = mmap(sl_ring_slots, SL_RING_CAP * sizeof(struct sl_ring_slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (m == MAP_FAILED)
        return errno ? errno : ENOMEM;
    free_every_slot(sl_ring_slots, 0);
    atomic_store(&sl_ring_tail_line.pos, 0);
    cons.head = 0;
    cons.wait_since = 0;
    cons.stalled_count = 0;
    atomic_thread_fence(memory_order_release);
    return 0;
}

uint64_t sl_ring_tail(void) { return atomic_load_explicit(&sl_ring_tail_line.pos, memory_order_acquire); }
uint64_t sl_ring_head(void) { return cons.head; }

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

/* Ring full (or the slot was skipped): wait for the slot, but never
 * forever. Out of line and cold, so the push that finds its slot free
 * (inline, agent.h) saves no registers and keeps no stack frame. */
__attribute__((noinline, cold)) int sl_ring_publish_when_free(struct sl_ring_slot *s, uint64_t pos, uint32_t kind,
                                                              uint64_t address, uint64_t size, uint32_t stack_id)
{
    unsigned round = 0;
    uint64_t t0 = 0;
    for (;;) {
        if (!atomic_load_explicit(&sl_sess.tracing, memory_order_relaxed))
            return 0;   /* the consumer skips the reservation after its own timeout and counts it */
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (seq == pos) {
            sl_ring_fill(s, pos, kind, address, size, stack_id);
            return 1;
        }
        if (seq > pos)   /* cannot happen: a slot is released one lap at a time */
            return 0;
        if (round >= 64) {
            uint64_t now = sl_now_ns(CLOCK_MONOTONIC);
            if (!t0)
                t0 = now;
            else if (now - t0 > PRODUCER_GIVE_UP_NS) {
                sl_fail(SL_STATUS_RING_STALLED, 0);
                return 0;
            }
        }
        backoff(&round);
    }
}

/* Consumer: release the slots of skipped positions whose producer has
 * published since (the event was already counted lost when skipped). */
static void release_late(void)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < cons.stalled_count; i++) {
        uint64_t pos = cons.stalled[i];
        struct sl_ring_slot *s = &sl_ring_slots[pos & SL_RING_MASK];
        if (atomic_load_explicit(&s->seq, memory_order_acquire) == pos + 1)
            atomic_store_explicit(&s->seq, pos + SL_RING_CAP, memory_order_release);
        else
            cons.stalled[kept++] = pos;
    }
    cons.stalled_count = kept;
}

/* The position at head is not ready: the ring is empty, or a producer
 * reserved it and has not published yet. Skips it, without touching the
 * slot (its producer may still publish), once it stayed so for `stall_ns`:
 * returns 1 then, and the caller looks again. Out of line: a drain meets
 * it once per batch, not once per event. */
static __attribute__((noinline)) int skip_stalled(uint64_t stall_ns)
{
    if (cons.head == atomic_load_explicit(&sl_ring_tail_line.pos, memory_order_acquire)) {
        cons.wait_since = 0;
        return 0;   /* empty */
    }
    uint64_t now = sl_now_ns(CLOCK_MONOTONIC);
    if (!cons.wait_since) {
        cons.wait_since = now;
        return 0;
    }
    if (now - cons.wait_since < stall_ns)
        return 0;
    if (cons.stalled_count < STALLED_MAX)
        cons.stalled[cons.stalled_count++] = cons.head;
    sl_count_lost(1);
    cons.head++;
    cons.wait_since = 0;
    return 1;
}

unsigned sl_ring_pop_batch(struct sl_event *out, unsigned max, uint64_t stall_ns)
{
    if (SL_UNLIKELY(cons.stalled_count))
        release_late();
    for (;;) {
        /* Each slot is looked at, never `tail`: reading it on every pop
         * would pull the producers' hottest cache line over to this core. */
        uint64_t head = cons.head;
        unsigned n = 0;
        while (n < max) {
            struct sl_ring_slot *s = &sl_ring_slots[head & SL_RING_MASK];
            if (atomic_load_explicit(&s->seq, memory_order_acquire) != head + 1)
                break;
            out[n].address = s->address;
            out[n].size = s->size;
            out[n].stack_id = s->stack_id;
            out[n].kind = s->kind;
            atomic_store_explicit(&s->seq, head + SL_RING_CAP, memory_order_release);
            head++;
            n++;
        }
        cons.head = head;
        if (n) {
            cons.wait_since = 0;
            return n;
        }
        if (!skip_stalled(stall_ns))
            return 0;
    }
}

int sl_ring_pop(struct sl_event *ev, uint64_t stall_ns)
{
    return sl_ring_pop_batch(ev, 1, stall_ns) != 0;
}

int sl_ring_reclaim(uint64_t stall_ns)
{
    if (!sl_ring_slots)
        return 0;
    struct sl_event ev;
    unsigned round = 0;
    uint64_t t0 = sl_now_ns(CLOCK_MONOTONIC);
    while (cons.head != atomic_load_explicit(&sl_ring_tail_line.pos, memory_order_acquire)) {
        if (sl_ring_pop(&ev, stall_ns))
            continue;
        if (sl_now_ns(CLOCK_MONOTONIC) - t0 > 4 * stall_ns + 1000000000ull)
            return ETIMEDOUT;   /* producers still pushing: tracing is not off */
        backoff(&round);
    }
    free_every_slot(sl_ring_slots, cons.head);
    cons.stalled_count = 0;
    cons.wait_since = 0;
    atomic_thread_fence(memory_order_release);
    return 0;
}
