/*
 * session.c: one connection to swiftleak, shared by both front ends.
 *
 * Life cycle: connect -> hello -> agent thread -> tracing on ... any stop
 * reason -> tracing off -> (agent thread) drain, status, close -> idle.
 * A later session (re-attach) reuses the same ring and stack tables.
 */
#include "agent.h"
#include "python_alloc.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

struct sl_session sl_sess = {.fd = -1};

void sl_fail(uint32_t code, uint32_t detail)
{
    atomic_store_explicit(&sl_sess.tracing, 0, memory_order_relaxed);
    uint32_t zero = 0;
    if (code && atomic_compare_exchange_strong(&sl_sess.stop_code, &zero, code))
        atomic_store(&sl_sess.stop_detail, detail);
}

int sl_session_start(const char *socket_path, uint32_t frames, uint32_t mode)
{
    if (atomic_load(&sl_sess.active))
        return EBUSY;
    if (frames == 0)
        frames = SL_DEFAULT_FRAMES;
    if (frames > SL_MAX_FRAMES)
        frames = SL_MAX_FRAMES;

    int e = sl_ring_init();
    if (!e)
        e = sl_stacks_init();
    if (e)
        return e;
    int unwinder = sl_unwind_init();

    int fd = -1;
    e = sl_connect(socket_path, &fd);
    if (e)
        return e;
    e = sl_send_hello(fd, mode, frames);
    if (e) {
        sl_close_fd(fd);
        return e;
    }
    if (unwinder) {
        /* Say why nothing will follow, then stay a pass-through. */
        (void)sl_send_status(fd, SL_STATUS_UNWINDER_MISSING, (uint32_t)unwinder, 0);
        sl_close_fd(fd);
        return unwinder;
    }

    sl_sess.fd = fd;
    sl_sess.frames = frames;
    sl_sess.mode = mode;
    sl_sess.pid = getpid();
    atomic_store(&sl_sess.stop_code, 0);
    atomic_store(&sl_sess.stop_detail, 0);
    atomic_store(&sl_sess.lost, 0);
    atomic_store(&sl_sess.flush_request, 0);
    atomic_store(&sl_sess.flushed_upto, 0);
    atomic_store(&sl_sess.closing, 0);
    atomic_store(&sl_sess.exiting, 0);
    atomic_store(&sl_sess.released, 0);
    atomic_store(&sl_sess.active, 1);

    e = sl_thread_start();
    if (e) {
        atomic_store(&sl_sess.active, 0);
        sl_sess.fd = -1;
        sl_close_fd(fd);
        return e;
    }
    /* Tracing starts only now that the hello is on the wire. */
    atomic_store(&sl_sess.tracing, 1);
    /* CPython's object allocators (python_alloc.c); a launched program's interpreter starts later. */
    sl_python_alloc_start(mode == SL_MODE_PRELOAD);
    return 0;
}

void sl_session_finished(void)
{
    sl_close_fd(sl_sess.fd);
    sl_sess.fd = -1;
    atomic_store(&sl_sess.active, 0);
}

void sl_session_flush_at_exit(void)
{
    if (!atomic_load(&sl_sess.active) || sl_sess.pid != getpid())
        return;
    /* One past the last ring position, so that a process that allocated
     * nothing still says it is exiting: swiftleak then tells an exit from
     * an exec, which closes the socket silently. */
    uint64_t want = sl_ring_tail() + 1;
    atomic_store(&sl_sess.exiting, 1);
    atomic_store(&sl_sess.flush_request, want);
    uint64_t t0 = sl_now_ns(CLOCK_MONOTONIC);
    /* Bounded: a stuck reader must not keep the host from exiting. */
    while (atomic_load(&sl_sess.active) && atomic_load(&sl_sess.flushed_upto) < want) {
        if (sl_now_ns(CLOCK_MONOTONIC) - t0 > 1000000000ull)
            return;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    /* swiftleak reads our memory map to finish symbolizing; wait for its
     * go-ahead (SL_CMD_RELEASE), bounded too. */
    t0 = sl_now_ns(CLOCK_MONOTONIC);
    while (atomic_load(&sl_sess.active) && !atomic_load(&sl_sess.released)) {
        if (sl_now_ns(CLOCK_MONOTONIC) - t0 > SL_EXIT_WAIT_MS * 1000000ull)
            return;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

void sl_session_forget_in_child(void)
{
    /* The agent thread does not exist here and the stream is the parent's. */
    atomic_store(&sl_sess.tracing, 0);
    if (atomic_load(&sl_sess.active)) {
        sl_close_fd(sl_sess.fd);   /* else swiftleak would wait for this copy's EOF */
        sl_sess.fd = -1;
        atomic_store(&sl_sess.active, 0);
    }
    sl_sess.thread_joinable = 0;
    sl_got_forget_in_child();
    sl_python_alloc_forget_in_child();
}

int sl_session_start_in_child(const char *socket_path, uint32_t frames)
{
    int e = sl_ring_reset_in_child();
    if (!e)
        e = sl_stacks_reset_in_child();
    if (e)
        return e;
    return sl_session_start(socket_path, frames, SL_MODE_PRELOAD);
}
