/*
 * agent_thread.c: the single consumer. Drains the ring into a write buffer,
 * sends each stack once before the first allocation that uses it, answers
 * commands, and runs the shutdown sequence. It sets the recursion guard for
 * good, so nothing it does is ever traced.
 */
#include "agent.h"
#include "pair_window.h"
#include "python_alloc.h"
#include "rw_mappings.h"
#include "sampling.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WBUF_BYTES (256u * 1024u)
#define STALL_NS 1000000000ull           /* reservation never completed: skip */
#define SHUTDOWN_STALL_NS 20000000ull    /* tracing is off: producers give up fast */

/* Its own symbol: LeakScan (AgentFootprint.swift) finds the buffer's
 * mapping through it and leaves it out of a reachability scan. Written once. */
static unsigned char *wbuf;

/* The consumer's state, on cache lines of its own (SL_OWN_LINES): it writes
 * some of it for every event, and a hook-path global on one of these lines
 * would cost every allocation a miss to this thread's core. */
static struct consumer {
    size_t wlen;
    int write_failed;
    uint32_t generation;      /* stack entries with sent == generation are on this stream */
    int out_fd;               /* the stream, for the window's output */
    int use_window;           /* exact mode, unless SL_ENV_PAIRS is "off" */
    int window_now;           /* this round's events go through the window */
    unsigned window_rest;     /* rounds left without it: it folded too little */
    struct sl_window window;
} SL_OWN_LINES consumer;

static void send_buffer(int fd)
{
    /* After a failed write everything is dropped: the stream is over. */
    if (consumer.wlen && !consumer.write_failed && sl_send_all(fd, wbuf, consumer.wlen) != 0)
        consumer.write_failed = 1;
    consumer.wlen = 0;
}

/* Inline: it runs for every event, and the send it rarely needs is the
 * only call in it. What the window holds comes after the buffer anyway. */
static inline void *reserve(int fd, size_t n)
{
    if (SL_UNLIKELY(WBUF_BYTES - consumer.wlen < n))
        send_buffer(fd);
    void *p = wbuf + consumer.wlen;
    consumer.wlen += n;
    return p;
}

/* Everything so far, the window's allocations and pair counts included. */
static void flush(int fd)
{
    if (consumer.window_now)
        sl_window_settle(&consumer.window);
    send_buffer(fd);
}

static void put_frame(int fd, uint16_t type, const void *payload, uint32_t size)
{
    unsigned char *p = reserve(fd, sizeof(struct sl_frame_header) + size);
    struct sl_frame_header h = {size, type, 0};
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h, payload, size);
}

/* A record ordered after every event before it. */
static void put_record(int fd, uint16_t type, const void *payload, uint32_t size)
{
    if (consumer.window_now)
        sl_window_settle(&consumer.window);
    put_frame(fd, type, payload, size);
}

/* An ALLOC or FREE frame, header and payload, in one fixed-size copy. */
struct wire_free {
    struct sl_frame_header h;
    struct sl_rec_free f;
};
struct wire_alloc {
    struct sl_frame_header h;
    struct sl_rec_alloc a;
};
_Static_assert(sizeof(struct wire_free) == 16 && sizeof(struct wire_alloc) == 32, "frames are header then payload, unpadded");

static void put_stack(int fd, uint32_t stack_id, struct sl_stack_entry *e)
{
    uint32_t size = sizeof(struct sl_rec_stack) + e->depth * sizeof(uint64_t);
    unsigned char *p = reserve(fd, sizeof(struct sl_frame_header) + size);
    struct sl_frame_header h = {size, SL_REC_STACK, 0};
    struct sl_rec_stack s = {stack_id, e->depth};
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h, &s, sizeof s);
    memcpy(p + sizeof h + sizeof s, e->ips, e->depth * sizeof(uint64_t));
    e->sent = consumer.generation;
}

static inline void put_free(int fd, uint64_t address)
{
    struct wire_free w = {{sizeof w.f, SL_REC_FREE, 0}, {address}};
    memcpy(reserve(fd, sizeof w), &w, sizeof w);
}

static inline void put_alloc(int fd, uint64_t address, uint64_t size, uint32_t stack_id)
{
    struct wire_alloc w = {{sizeof w.a, SL_REC_ALLOC, 0}, {address, size, stack_id, 0}};
    memcpy(reserve(fd, sizeof w), &w, sizeof w);
}

void sl_window_out_alloc(uint64_t address, uint64_t size, uint32_t stack_id)
{
    put_alloc(consumer.out_fd, address, size, stack_id);
}

void sl_window_out_free(uint64_t address)
{
    put_free(consumer.out_fd, address);
}

static void put_retag(int fd, uint64_t address, uint32_t stack_id)
{
    struct sl_rec_retag r = {address, stack_id, 0};
    put_frame(fd, SL_REC_RETAG, &r, sizeof r);
}

void sl_window_out_retag(uint64_t address, uint32_t stack_id)
{
    put_retag(consumer.out_fd, address, stack_id);
}

void sl_window_out_peak(uint64_t bytes, uint64_t blocks)
{
    struct sl_rec_peak p = {bytes, blocks};
    put_frame(consumer.out_fd, SL_REC_PEAK, &p, sizeof p);
}

void sl_window_out_pairs(uint32_t stack_id, uint64_t size, uint64_t count)
{
    struct sl_rec_pairs p = {stack_id, 0, size, count};
    put_frame(consumer.out_fd, SL_REC_PAIRS, &p, sizeof p);
}

/* Inlined into the drain loops, whose every event it is. */
__attribute__((always_inline)) static inline void put_event(int fd, const struct sl_event *ev)
{
#ifdef SL_BENCH_NO_SEND   /* measurement only (Scripts/bench-threads): the ring, and nothing after it */
    __asm__ volatile("" ::"r"(fd), "r"(ev->address));
    return;
#endif
    if (ev->kind == SL_EV_FREE) {
        if (consumer.window_now)
            sl_window_free(&consumer.window, ev->address);
        else
            put_free(fd, ev->address);
        return;
    }
    /* The stack goes out at once, ahead of what the window holds: it
     * changes no total, and whatever refers to it comes later. */
    struct sl_stack_entry *e = sl_stack_get(ev->stack_id);
    if (SL_UNLIKELY(e->sent != consumer.generation))
        put_stack(fd, ev->stack_id, e);
    if (SL_UNLIKELY(ev->kind == SL_EV_RETAG)) {
        if (consumer.window_now)
            sl_window_retag(&consumer.window, ev->address, ev->stack_id);
        else
            put_retag(fd, ev->address, ev->stack_id);
        return;
    }
    if (consumer.window_now)
        sl_window_alloc(&consumer.window, ev->address, ev->size, ev->stack_id);
    else
        put_alloc(fd, ev->address, ev->size, ev->stack_id);
}

/* Called between rounds. Where frees seldom find their allocation held
 * (blocks that live long, as in a cache or a FIFO), holding each allocation
 * costs the consumer a copy for nothing: then the window rests for some
 * rounds, and one round in WINDOW_PROBE tries again. */
#define WINDOW_PROBE 16u
static void pace_window(void)
{
    if (!consumer.use_window)
        return;
    if (!consumer.window_now) {
        if (--consumer.window_rest == 0)
            consumer.window_now = 1;
        return;
    }
    if (consumer.window.frees >= 256) {
        if (consumer.window.folded * 8u < consumer.window.frees) {
            sl_window_settle(&consumer.window);
            consumer.window_now = 0;
            consumer.window_rest = WINDOW_PROBE;
        }
        consumer.window.frees = consumer.window.folded = 0;
    }
}

/* What is ready right now, bounded so that commands and failures are looked
 * at even while producers keep up; returns how many events were taken. */
static unsigned drain_ready(int fd)
{
    struct sl_event batch[64];
    unsigned n = 0;
    while (n < 65536 && !consumer.write_failed) {
        unsigned k = sl_ring_pop_batch(batch, sizeof batch / sizeof batch[0], STALL_NS);
        if (!k)
            break;
        for (unsigned i = 0; i < k; i++)
            put_event(fd, &batch[i]);
        n += k;
    }
    return n;
}

/* Everything reserved before `target`, waiting for slow producers. */
static void drain_until(int fd, uint64_t target, uint64_t stall_ns)
{
    struct sl_event ev;
    unsigned idle = 0;
    while (sl_ring_head() < target) {
        if (sl_ring_pop(&ev, stall_ns)) {
            put_event(fd, &ev);
            idle = 0;
            continue;
        }
        if (++idle < 100) {
            sched_yield();
        } else {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- commands ---------------------------------------------------------- */

struct cmd_reader {
    unsigned char buf[64];
    size_t len;
    uint32_t skip;   /* payload bytes of an unknown or oversized command still to discard */
};

enum { CMD_NONE = 0, CMD_STOP = 1, CMD_GONE = 2 };

/* Read what is available and act on it. Returns CMD_STOP/CMD_GONE to end. */
static int read_commands(int fd, struct cmd_reader *r)
{
    for (;;) {
        unsigned char tmp[256];
        ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n == 0)
            return CMD_GONE;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return CMD_NONE;
            return CMD_GONE;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (r->skip) {
                r->skip--;
                continue;
            }
            r->buf[r->len++] = tmp[i];
            if (r->len < sizeof(struct sl_frame_header))
                continue;
            struct sl_frame_header h;
            memcpy(&h, r->buf, sizeof h);
            if (h.size > sizeof r->buf - sizeof h) {
                if (h.size > SL_FRAME_MAX_PAYLOAD)
                    return CMD_GONE;   /* broken stream */
                r->skip = h.size;
                r->len = 0;
                continue;
            }
            if (r->len < sizeof h + h.size)
                continue;
            const unsigned char *payload = r->buf + sizeof h;
            r->len = 0;
            if (h.type == SL_CMD_STOP)
                return CMD_STOP;
            if (h.type == SL_CMD_RELEASE)
                atomic_store(&sl_sess.released, 1);
            if (h.type == SL_CMD_SYNC && h.size >= sizeof(struct sl_cmd_sync)) {
                struct sl_cmd_sync c;
                memcpy(&c, payload, sizeof c);
                drain_until(fd, sl_ring_tail(), STALL_NS);
                struct sl_rec_sync s = {c.token, atomic_load(&sl_sess.lost)};
                put_record(fd, SL_REC_SYNC, &s, sizeof s);
                flush(fd);
            }
            if (h.type == SL_CMD_COLLECT && h.size >= sizeof(struct sl_cmd_collect)) {
                struct sl_cmd_collect c;
                memcpy(&c, payload, sizeof c);
                sl_python_alloc_collect(c.token);   /* answered by python_news */
            }
        }
    }
}

/* CPython's allocators (python_alloc.c): what became of the wrapping, and
 * the answer to SL_CMD_COLLECT, after every free the collector caused. */
static void python_news(int fd)
{
    struct sl_rec_python p;
    if (sl_python_alloc_news(&p))
        put_record(fd, SL_REC_PYTHON, &p, sizeof p);
    struct sl_rec_collected c;
    if (sl_python_alloc_collected(&c)) {
        drain_until(fd, sl_ring_tail(), STALL_NS);
        put_record(fd, SL_REC_COLLECTED, &c, sizeof c);
        flush(fd);
    }
}

/* ---- the loop ---------------------------------------------------------- */

static void shutdown_session(int fd, int peer_gone)
{
    atomic_store(&sl_sess.closing, 1);
    atomic_store(&sl_sess.tracing, 0);
    if (sl_got_active())
        sl_got_restore_all();
    sl_python_alloc_stop();
    /* Let hooks that passed the tracing check finish their push. */
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    drain_until(fd, sl_ring_tail(), SHUTDOWN_STALL_NS);
    uint32_t code = atomic_load(&sl_sess.stop_code);
    uint32_t detail = atomic_load(&sl_sess.stop_detail);
    if (!code)
        code = SL_STATUS_STOPPED;
    if (!consumer.write_failed) {
        /* After EOF the write side may still work; if not, nothing is lost. */
        (void)peer_gone;
        uint32_t size = sizeof(struct sl_rec_status);
        struct sl_rec_status s = {code, detail, atomic_load(&sl_sess.lost)};
        put_record(fd, SL_REC_STATUS, &s, size);
        flush(fd);
    }
    consumer.wlen = 0;
    sl_session_finished();
}

static void *agent_main(void *arg)
{
    (void)arg;
    sl_guard = 1;   /* for good: this thread is never traced */
    (void)prctl(PR_SET_NAME, "swiftleak", 0, 0, 0);
    int fd = sl_sess.fd;
    struct cmd_reader cr;
    memset(&cr, 0, sizeof cr);
    consumer.write_failed = 0;
    consumer.wlen = 0;
    consumer.generation++;
    consumer.out_fd = fd;
    sl_window_reset(&consumer.window);
    consumer.window_now = consumer.use_window;
    consumer.window_rest = 0;

    int peer_gone = 0;
    unsigned busy = 0;
    for (;;) {
        /* Drain in batches: a consumer right on the producers' heels makes
         * every slot's cache line bounce between cores twice. */
        struct pollfd p = {fd, POLLIN, 0};
        struct timespec wait = {0, busy ? 200000 : 2000000};
        int r = ppoll(&p, 1, &wait, NULL);
        if (r < 0 && errno != EINTR) {
            peer_gone = 1;
            break;
        }
        if (r > 0) {
            if (p.revents & POLLIN) {
                int c = read_commands(fd, &cr);
                if (c == CMD_STOP)
                    break;
                if (c == CMD_GONE) {
                    peer_gone = 1;
                    break;
                }
            } else if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
                peer_gone = 1;
                break;
            }
        }
        busy = drain_ready(fd);
        /* Idle, nothing stays held back. Busy, the window keeps what it
         * holds from round to round (at most 16 allocations): a round's end
         * would split pairs, more of them the more threads interleave. */
        if (consumer.window_now && !busy)
            sl_window_settle(&consumer.window);
        pace_window();
        python_news(fd);
        uint64_t want = atomic_load(&sl_sess.flush_request);
        if (want > atomic_load(&sl_sess.flushed_upto)) {
            drain_until(fd, want - 1, STALL_NS);
            if (atomic_load(&sl_sess.exiting)) {
                struct sl_rec_exiting x = {atomic_load(&sl_sess.lost)};
                put_record(fd, SL_REC_EXITING, &x, sizeof x);
            }
            flush(fd);
            atomic_store(&sl_sess.flushed_upto, want);
        }
        if (!busy || consumer.wlen > WBUF_BYTES / 2)
            send_buffer(fd);
        if (consumer.write_failed) {
            peer_gone = 1;
            break;
        }
        if (atomic_load(&sl_sess.stop_code))
            break;
        /* New modules get fast-unwinder tables, unloaded ones lose their
         * cached rules (until then their frames go to libunwind). */
        sl_fast_unwind_poll();
        sl_rw_mappings_poll();   /* mappings the async walk missed (async_frames.c) */
        if (!busy && sl_got_active() && sl_got_modules_changed()) {
            int e = sl_got_patch_all();
            if (e)
                sl_fail(SL_STATUS_HOOK_FAILED, (uint32_t)e);
        }
    }
    shutdown_session(fd, peer_gone);
    return NULL;
}

int sl_thread_start(void)
{
    /* Leftovers of an earlier session (re-attach) belong to no stream. The
     * previous consumer has exited, so this thread may act as consumer. */
    int e = sl_ring_reclaim(SHUTDOWN_STALL_NS);
    if (e)
        return e;
    atomic_store(&sl_sess.lost, 0);   /* what the reclaim skipped was the last session's */
    /* Sampled blocks are few, and their estimates need each block's peak
     * weighed: the window is for exact mode. */
    const char *pairs = getenv(SL_ENV_PAIRS);
    consumer.use_window = sl_sample_mean == 0 && !(pairs && strcmp(pairs, "off") == 0);

    if (!wbuf) {
        void *m = mmap(NULL, WBUF_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return errno ? errno : ENOMEM;
        wbuf = m;
    }
    /* All signals blocked: the host's handlers must never run on our thread. */
    sigset_t all, old;
    sigfillset(&all);
    e = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (e)
        return e;
    int was = sl_guard;
    sl_guard = 1;   /* pthread_create allocates (TLS, stack cache) */
    e = pthread_create(&sl_sess.thread, NULL, agent_main, NULL);
    sl_guard = was;
    int e2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e)
        return e;
    sl_sess.thread_joinable = 1;
    (void)e2;   /* restoring a mask we just read cannot fail */
    return 0;
}
