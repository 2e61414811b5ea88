/*
 * preload.c: the LD_PRELOAD front end (`swiftleak run`).
 *
 * The constructor connects to SWIFTLEAK_SOCKET; if anything fails the agent
 * stays a pure pass-through. fork children stop tracing at once (their
 * writes would interleave with the parent's stream), unless
 * SWIFTLEAK_FOLLOW_FORKS=1 (`run --follow-forks`): then a child of a traced
 * process starts a session of its own on a new connection. A process that
 * execs with the environment still set starts its own session from scratch
 * in the new image.
 */
#include "agent.h"
#include "sampling.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int atfork_registered;

/* What a fork child needs to start its own session, copied at start-up:
 * the program may change its environment later, and the child handler must
 * not allocate. */
static char follow_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
static uint32_t follow_frames;

static void atfork_child(void)
{
    int traced = atomic_load(&sl_sess.active);
    sl_session_forget_in_child();
    if (traced && follow_socket[0]) {
        int was = sl_guard;
        sl_guard = 1;   /* the agent thread's creation allocates */
        (void)sl_session_start_in_child(follow_socket, follow_frames);
        sl_guard = was;
    }
}

/* Registered once per process image, from the first session start. */
void sl_register_atfork(void);
void sl_register_atfork(void)
{
    if (atfork_registered)
        return;
    int was = sl_guard;
    sl_guard = 1;   /* registration allocates */
    if (pthread_atfork(NULL, NULL, atfork_child) == 0)
        atfork_registered = 1;
    sl_guard = was;
}

static uint32_t parse_frames(const char *s)
{
    if (!s || !*s)
        return SL_DEFAULT_FRAMES;
    uint32_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return SL_DEFAULT_FRAMES;
        v = v * 10 + (uint32_t)(*s - '0');
        if (v > SL_MAX_FRAMES)
            return SL_MAX_FRAMES;
    }
    return v ? v : SL_DEFAULT_FRAMES;
}

/* SL_ENV_SAMPLE_BYTES: 0 (exact) when unset; -1 when it is not a number in
 * 1..SL_MAX_SAMPLE_BYTES (swiftleak validates it: someone else set it). */
static int64_t parse_sample_bytes(const char *s)
{
    if (!s || !*s)
        return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > SL_MAX_SAMPLE_BYTES)
            return -1;
    }
    return v ? (int64_t)v : -1;
}

/* True when this copy of the agent is in the global scope (LD_PRELOAD), as
 * opposed to dlopen'ed RTLD_LOCAL by the injector, whose dlopen must not
 * start a session just because the variable happens to be set. */
static int loaded_globally(void)
{
    void *self = dlsym(RTLD_DEFAULT, SL_AGENT_ATTACH_SYMBOL);
    extern int swiftleak_agent_attach(const char *, uint32_t, uint64_t);
    return self == (void *)swiftleak_agent_attach;
}

__attribute__((constructor)) static void preload_init(void)
{
    const char *path = getenv(SL_ENV_SOCKET);
    if (!path || !*path)
        return;
    sl_guard = 1;
    if (sl_real_resolve_next() == 0 && loaded_globally()) {
        uint32_t frames = parse_frames(getenv(SL_ENV_FRAMES));
        const char *follow = getenv(SL_ENV_FOLLOW_FORKS);
        size_t len = strlen(path);
        if (follow && strcmp(follow, "1") == 0 && len < sizeof follow_socket) {
            memcpy(follow_socket, path, len + 1);
            follow_frames = frames;
        }
        sl_register_atfork();
        /* A bad rate is no reason to trace everything at full cost: stay a pass-through. */
        int64_t sample = parse_sample_bytes(getenv(SL_ENV_SAMPLE_BYTES));
        if (sample >= 0 && sl_sampling_configure((uint64_t)sample) == 0)
            (void)sl_session_start(path, frames, SL_MODE_PRELOAD);
    }
    sl_guard = 0;
}

__attribute__((destructor)) static void preload_fini(void)
{
    /* Put what is still in the ring on the wire before the process is gone. */
    int was = sl_guard;
    sl_guard = 1;
    sl_session_flush_at_exit();
    sl_guard = was;
}

/* _exit and _Exit skip destructors: a child that leaves this way (Python's
 * os._exit, as multiprocessing's workers do) would lose the events still in
 * the ring, and swiftleak the moment it needs to finish symbolizing. Flush
 * here too (bounded, and a no-op in any process that is not the session's
 * own, such as a vfork child), then leave as glibc's _exit does. */
SL_EXPORT void _exit(int status)
{
    int was = sl_guard;
    sl_guard = 1;
    sl_session_flush_at_exit();
    sl_guard = was;
    for (;;)
        syscall(SYS_exit_group, status);
}

SL_EXPORT void _Exit(int status)
{
    _exit(status);
}
