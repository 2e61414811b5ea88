/*
 * t_ring.c: the event ring (Sources/Agent/ring.c) linked into the harness
 * on its own, with the session it reports to played here and a clock the
 * tests move by hand: order and contents over many laps, a producer that
 * publishes after the consumer skipped it, a reservation never published.
 */
#include "harness.h"

#include "agent.h"

#include <string.h>

/* ---- what ring.c needs from the rest of the agent ---------------------- */

struct sl_session sl_sess;
static uint32_t failed_with;
static uint64_t fake_ns = 1;
static uint64_t fake_step_ns;   /* added at every reading: time passes while a producer waits */

void sl_fail(uint32_t code, uint32_t detail)
{
    (void)detail;
    if (!failed_with)
        failed_with = code;
    atomic_store(&sl_sess.tracing, 0);
}

uint64_t sl_now_ns(int clock)
{
    (void)clock;
    fake_ns += fake_step_ns;
    return fake_ns;
}

#define CAP SL_RING_CAP
#define STALL 1000000ull

static void fresh(void)
{
    CHECK(sl_ring_reset_in_child() == 0, "a fresh ring");
    atomic_store(&sl_sess.tracing, 1);
    atomic_store(&sl_sess.lost, 0);
    failed_with = 0;
    fake_step_ns = 0;
}

/* Pushes n events numbered from `first`; 1 if all went in. */
static int push_run(uint64_t first, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!sl_ring_push(SL_EV_ALLOC, first + i, 16, 7))
            return 0;
    return 1;
}

/* Pops up to n events and checks they are numbered from *next on. */
static uint64_t pop_run(uint64_t *next, uint64_t n)
{
    struct sl_event ev;
    uint64_t got = 0;
    while (got < n && sl_ring_pop(&ev, STALL)) {
        if (ev.address != *next || ev.size != 16 || ev.stack_id != 7 || ev.kind != SL_EV_ALLOC) {
            CHECK(0, "event %llu came as address %llu", (unsigned long long)*next, (unsigned long long)ev.address);
            return got;
        }
        (*next)++;
        got++;
    }
    return got;
}

/* `batches` quarter rings numbered from `first`, each pushed then popped
 * whole and in order; returns the number after the last. */
static uint64_t quarter_laps(uint64_t first, int batches)
{
    uint64_t pushed = first, next = first;
    for (int batch = 0; batch < batches; batch++) {
        CHECK(push_run(pushed, CAP / 4), "batch %d pushed", batch);
        pushed += CAP / 4;
        CHECK(pop_run(&next, CAP) == CAP / 4, "batch %d popped whole", batch);
    }
    CHECK(next == pushed, "%llu of %llu", (unsigned long long)(next - first), (unsigned long long)(pushed - first));
    return pushed;
}

/* Three laps and a half in batches of a quarter ring: every event once, in order. */
static void t_ring_order(void)
{
    fresh();
    (void)quarter_laps(0, 14);
    CHECK(atomic_load(&sl_sess.lost) == 0, "%llu lost", (unsigned long long)atomic_load(&sl_sess.lost));
}

/* A producer preempted between reservation and publication for longer than
 * the consumer waits: the consumer skips it (one event lost), the events
 * after it flow, and when it publishes at last its slot serves the next lap. */
static void t_ring_late_publish(void)
{
    fresh();
    uint64_t next = 0;
    CHECK(push_run(0, 3), "3 pushed");
    CHECK(pop_run(&next, 3) == 3, "3 popped");
    uint64_t late = sl_ring_reserve();
    CHECK(late == 3, "reserved position %llu", (unsigned long long)late);
    CHECK(push_run(1000, 2), "2 pushed after the reservation");
    struct sl_event ev;
    CHECK(!sl_ring_pop(&ev, STALL), "nothing while the reservation is young");
    fake_ns += STALL + 1;
    next = 1000;
    CHECK(pop_run(&next, 2) == 2, "the 2 after it, once it is skipped");
    CHECK(atomic_load(&sl_sess.lost) == 1, "the skipped one counted lost: %llu",
          (unsigned long long)atomic_load(&sl_sess.lost));
    CHECK(sl_ring_publish(late, SL_EV_FREE, 42, 0, 0) == 1, "the late producer publishes");
    CHECK(!sl_ring_pop(&ev, STALL), "a skipped event is never delivered late");
    /* Two more laps through every slot, the late one's included, with no
     * producer waiting on it (it would give up after 2 s of the fake clock). */
    fake_step_ns = 1000000;
    (void)quarter_laps(2000, 8);
    CHECK(failed_with == 0 && atomic_load(&sl_sess.lost) == 1, "status %u, %llu lost", failed_with,
          (unsigned long long)atomic_load(&sl_sess.lost));
}

/* A reservation never published (its producer gave up as tracing went off):
 * between sessions sl_ring_reclaim frees its slot, and the next session
 * runs laps through it without a wait or a loss. */
static void t_ring_reclaim(void)
{
    fresh();
    uint64_t next = 0;
    CHECK(push_run(0, 5), "5 pushed");
    (void)sl_ring_reserve();
    CHECK(push_run(5, 5), "5 more pushed");
    CHECK(pop_run(&next, 5) == 5, "the 5 before the reservation");
    atomic_store(&sl_sess.tracing, 0);   /* the session ends */
    fake_step_ns = 1000000;
    CHECK(sl_ring_reclaim(20000000ull) == 0, "reclaimed");
    CHECK(sl_ring_head() == sl_ring_tail(), "drained: head %llu, tail %llu",
          (unsigned long long)sl_ring_head(), (unsigned long long)sl_ring_tail());
    atomic_store(&sl_sess.tracing, 1);   /* the next session */
    atomic_store(&sl_sess.lost, 0);
    (void)quarter_laps(100, 8);
    CHECK(failed_with == 0 && atomic_load(&sl_sess.lost) == 0, "status %u, %llu lost", failed_with,
          (unsigned long long)atomic_load(&sl_sess.lost));
}

/* The same reservation within a session: the producer that draws its slot
 * a lap later gives up after 2 s and turns tracing off, saying why. */
static void t_ring_dead_producer(void)
{
    fresh();
    uint64_t next = 0;
    (void)sl_ring_reserve();
    CHECK(push_run(1, 3), "3 pushed");
    struct sl_event ev;
    CHECK(!sl_ring_pop(&ev, STALL), "waiting on the reservation");
    fake_ns += STALL + 1;
    next = 1;
    CHECK(pop_run(&next, 3) == 3, "the 3 after it");
    fake_step_ns = 1000000;
    uint64_t pushed = 4, gave_up = 0;
    while (pushed < CAP + 8 && !gave_up) {
        if (!sl_ring_push(SL_EV_ALLOC, pushed, 16, 7))
            gave_up = pushed;
        pushed++;
        if (pushed % 1024 == 0)
            (void)pop_run(&next, CAP);
    }
    CHECK(gave_up == CAP, "the producer one lap later gave up: at %llu", (unsigned long long)gave_up);
    CHECK(failed_with == SL_STATUS_RING_STALLED, "status %u", failed_with);
    CHECK(!atomic_load(&sl_sess.tracing), "tracing off");
}

/* Batches: each as long as asked while events are ready, never past a
 * reservation not yet published, and past it once it is skipped. */
static void t_ring_batches(void)
{
    fresh();
    struct sl_event got[7];
    uint64_t next = 0;
    CHECK(push_run(0, 1000), "1000 pushed");
    while (next < 1000) {
        unsigned k = sl_ring_pop_batch(got, 7, STALL);
        CHECK(k == (1000 - next < 7 ? 1000 - next : 7), "a batch of %u at %llu", k, (unsigned long long)next);
        if (!k)
            return;
        for (unsigned i = 0; i < k; i++, next++)
            CHECK(got[i].address == next && got[i].stack_id == 7, "event %llu came as %llu", (unsigned long long)next,
                  (unsigned long long)got[i].address);
    }
    CHECK(sl_ring_pop_batch(got, 7, STALL) == 0, "empty");
    CHECK(push_run(1000, 3), "3 pushed");
    uint64_t late = sl_ring_reserve();
    CHECK(push_run(2000, 2), "2 pushed after a reservation");
    CHECK(sl_ring_pop_batch(got, 7, STALL) == 3 && got[2].address == 1002, "the 3 before the reservation");
    CHECK(sl_ring_pop_batch(got, 7, STALL) == 0, "nothing while the reservation is young");
    fake_ns += STALL + 1;
    CHECK(sl_ring_pop_batch(got, 7, STALL) == 2 && got[0].address == 2000 && got[1].address == 2001,
          "the 2 after it, once it is skipped");
    CHECK(atomic_load(&sl_sess.lost) == 1, "the skipped one counted lost");
    CHECK(sl_ring_publish(late, SL_EV_FREE, 42, 0, 0) == 1, "the late producer publishes");
    CHECK(sl_ring_pop_batch(got, 7, STALL) == 0, "a skipped event is never delivered late");
}

void t_ring(void)
{
    t_ring_order();
    t_ring_batches();
    t_ring_late_publish();
    t_ring_reclaim();
    t_ring_dead_producer();
}
