/*
 * preload.c: the LD_PRELOAD front end (`swiftleak run`).
 *
 * The constructor connects to SWIFTLEAK_SOCKET; if anything fails the agent
 * stays a pure pass-through. fork children stop tracing at once (their
 * writes would interleave with the parent's stream); a child that execs with
 * the environment still set starts its own session from scratch.
 */
#include "agent.h"

#include <dlfcn.h>
#include <stdlib.h>

static int atfork_registered;

static void atfork_child(void)
{
    sl_session_forget_in_child();
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

/* True when this copy of the agent is in the global scope (LD_PRELOAD), as
 * opposed to dlopen'ed RTLD_LOCAL by the injector, whose dlopen must not
 * start a session just because the variable happens to be set. */
static int loaded_globally(void)
{
    void *self = dlsym(RTLD_DEFAULT, SL_AGENT_ATTACH_SYMBOL);
    extern int swiftleak_agent_attach(const char *, uint32_t);
    return self == (void *)swiftleak_agent_attach;
}

__attribute__((constructor)) static void preload_init(void)
{
    const char *path = getenv(SL_ENV_SOCKET);
    if (!path || !*path)
        return;
    sl_guard = 1;
    if (sl_real_resolve_next() == 0 && loaded_globally()) {
        sl_register_atfork();
        (void)sl_session_start(path, parse_frames(getenv(SL_ENV_FRAMES)), SL_MODE_PRELOAD);
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
