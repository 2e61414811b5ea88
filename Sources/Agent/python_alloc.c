/*
 * python_alloc.c: wraps CPython's PyMem and PyObject allocator domains.
 *
 * pymalloc serves every object up to 512 bytes from arenas it maps itself,
 * so the malloc hooks never see them. Like tracemalloc, the agent puts its
 * own functions in front of the two domains (PyMem_GetAllocator /
 * PyMem_SetAllocator; the raw domain is plain malloc, hooked already). Each
 * object is counted once: while a wrapper calls the allocator it wraps,
 * sl_guard is set, so a block pymalloc passes on to malloc (over 512 bytes)
 * is not recorded a second time by the malloc hook.
 *
 * When: the domains may only be changed with the GIL held. The helper
 * thread below takes it with PyGILState_Ensure rather than asking the main
 * thread through Py_AddPendingCall: a pending call runs only when the main
 * thread next passes the eval loop's check, and a service idle in
 * epoll_wait or accept may not do that for minutes; PyGILState_Ensure works
 * while every Python thread sleeps in I/O (they released the GIL). It is
 * refused when the interpreter is not initialised (attach only: a launched
 * program is waited for), is finalizing (a thread taking the GIL then is
 * ended by CPython with pthread_exit: the helper, never the agent thread),
 * or is a free-threaded build (no GIL to make the swap safe).
 *
 * A launched program (`run`) is wrapped earlier, from the agent's
 * constructor before main(): setting the allocators before Py_Initialize
 * is what the C API documents for embedders, and it makes what is traced
 * the same from one run to the next, as the malloc hooks are. The helper
 * then checks, with the GIL once the interpreter is initialised, that its
 * wrappers are still reached (PYTHONMALLOC or -X dev replace the domains
 * during start-up) and wraps again where they are not.
 *
 * The wrappers test the session's tracing flag first: after a detach that
 * could not restore the allocators, or a kill -9 of swiftleak, they pass
 * every call straight through (the agent is never unloaded).
 */
#include "agent.h"
#include "python_alloc.h"
#include "emit_free.h"
#include "python_frames.h"
#include "python_debug_offsets.h"
#include "python_reuse.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* CPython's PyMemAllocatorEx and PyMemAllocatorDomain (Include/cpython/pymem.h,
 * unchanged since 3.5). */
struct py_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
};
enum { PY_DOMAIN_MEM = 1, PY_DOMAIN_OBJ = 2 };
static const int domains[2] = {PY_DOMAIN_MEM, PY_DOMAIN_OBJ};

/* The C API, found with dlsym in the target's libpython or executable. */
static struct {
    void (*get_allocator)(int domain, struct py_allocator *out);
    void (*set_allocator)(int domain, struct py_allocator *in);
    int (*gil_ensure)(void);
    void (*gil_release)(int state);
    int (*is_initialized)(void);
    int (*is_finalizing)(void);
    ssize_t (*gc_collect)(void);
    int (*gc_is_enabled)(void);
    void *(*domain_malloc[2])(size_t size);   /* PyMem_Malloc, PyObject_Malloc */
    void (*domain_free[2])(void *ptr);
    uint32_t minor;
} api;

/* What each wrapper calls (its ctx points here), and whether the wrapper is
 * in the interpreter's chain for that domain. Both are touched only with
 * the GIL held, by the helper thread. Once installed, inner[i] never
 * changes while the wrapper may be in the chain, even buried under another
 * tool's wrapper (tracemalloc started later): re-wrapping then would make
 * our wrapper call itself. */
static struct py_allocator inner[2];
static int installed[2];
static int before_init;   /* wrapped from the constructor, not verified yet */

/* The helper's check that a wrapper is still reached (see wrapped_early). */
static __thread int probing __attribute__((tls_model("initial-exec")));
static int probe_reached;

/* ---- the wrappers (hook path: no lock, no syscall, no allocation) ------ */

static inline int tracing(void)
{
    return !sl_guard && atomic_load_explicit(&sl_sess.tracing, memory_order_relaxed);
}

/* The wrappers run with the GIL (the domains' contract), so the capture
 * may take the thread state CPython calls current (python_frames.h). The
 * walk starts at the wrapper's caller (SL_CALLER, taken in the wrapper
 * itself), as it does for the malloc hooks: no agent frame to skip. A
 * stack seen before is mostly answered by the capture cache, with no walk. */
static inline void emit_alloc(void *p, size_t size, const struct sl_caller *from)
{
    sl_py_fresh_block = (uintptr_t)p;   /* the object made in it is no reuse (python_reuse.c) */
    uint32_t id = sl_python_capture(from);
    if (SL_LIKELY(id)) {
        /* A dropped event is counted by the consumer when it skips the slot. */
        (void)sl_ring_push(SL_EV_ALLOC, (uint64_t)(uintptr_t)p, size, id);
        return;
    }
    sl_emit_alloc_at(p, size, from);
    sl_python_capture_end();
}

static void *wrap_malloc(void *ctx, size_t size)
{
    const struct py_allocator *in = ctx;
    if (SL_LIKELY(!tracing())) {
        if (SL_UNLIKELY(probing))
            probe_reached = 1;
        return in->malloc(in->ctx, size);
    }
    sl_guard = 1;
    struct sl_caller from = SL_CALLER();
    void *p = in->malloc(in->ctx, size);
    if (p)
        emit_alloc(p, size, &from);
    sl_guard = 0;
    return p;
}

static void *wrap_calloc(void *ctx, size_t nelem, size_t elsize)
{
    const struct py_allocator *in = ctx;
    if (SL_LIKELY(!tracing()))
        return in->calloc(in->ctx, nelem, elsize);
    sl_guard = 1;
    struct sl_caller from = SL_CALLER();
    void *p = in->calloc(in->ctx, nelem, elsize);
    if (p)
        emit_alloc(p, nelem * elsize, &from);   /* no overflow: it succeeded */
    sl_guard = 0;
    return p;
}

static void *wrap_realloc(void *ctx, void *old, size_t size)
{
    const struct py_allocator *in = ctx;
    if (SL_LIKELY(!tracing()))
        return in->realloc(in->ctx, old, size);
    sl_guard = 1;
    struct sl_caller from = SL_CALLER();
    /* Before the real call: a block pymalloc hands to libc's realloc may
     * be reused by another (GIL-free) thread's malloc at once. */
    if (old)
        sl_emit_free_inline(old);
    void *p = in->realloc(in->ctx, old, size);
    if (p)
        emit_alloc(p, size, &from);
    else if (old)
        emit_alloc(old, size, &from);   /* failed: old lives on (its old size is not known) */
    sl_guard = 0;
    return p;
}

static void wrap_free(void *ctx, void *p)
{
    const struct py_allocator *in = ctx;
    if (SL_LIKELY(!tracing()) || !p) {
        in->free(in->ctx, p);
        return;
    }
    sl_emit_free_inline(p);   /* before the real free (ring.c's order) */
    sl_guard = 1;
    in->free(in->ctx, p);
    sl_guard = 0;
}

/* ---- the helper thread and its requests -------------------------------- */

static _Atomic uint32_t wake;              /* futex word: bumped with every request */
static _Atomic int stop_requested;
static _Atomic int collect_wanted;
static _Atomic uint64_t collect_token;
static _Atomic int collect_ready;          /* collect_result is filled */
static struct sl_rec_collected collect_result;
static _Atomic uint32_t state;             /* enum sl_python_state; 0 before the first start */
static uint32_t state_sent;                /* agent thread only (and fork child) */
static _Atomic int helper_alive;
static pthread_t helper;
static int helper_joinable;

static void futex_wait(_Atomic uint32_t *word, uint32_t seen, long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void poke(void)
{
    atomic_fetch_add(&wake, 1);
    (void)syscall(SYS_futex, (uint32_t *)&wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Why the interpreter cannot be used now; 0 when it can. Finalizing is
 * asked first: Py_FinalizeEx clears the initialized flag as it sets the
 * finalizing one, so a finalizing interpreter is "not initialized" too. */
static uint32_t unusable(void)
{
    if (api.is_finalizing())
        return SL_PY_FINALIZING;
    if (!api.is_initialized())
        return SL_PY_NOT_INITIALIZED;
    return 0;
}

/* With the GIL (or before Py_Initialize, when there is none): put the
 * wrappers in front of each domain not wrapped yet. */
static void wrap_domains(void)
{
    static const struct py_allocator shape = {NULL, wrap_malloc, wrap_calloc, wrap_realloc, wrap_free};
    for (int i = 0; i < 2; i++) {
        if (installed[i])
            continue;
        api.get_allocator(domains[i], &inner[i]);
        struct py_allocator w = shape;
        w.ctx = &inner[i];
        api.set_allocator(domains[i], &w);
        installed[i] = 1;
    }
}

/* With the GIL: take the wrappers out where they are still on top. */
static void unwrap_domains(void)
{
    for (int i = 0; i < 2; i++) {
        struct py_allocator now;
        if (!installed[i])
            continue;
        api.get_allocator(domains[i], &now);
        if (now.malloc == wrap_malloc && now.ctx == &inner[i]) {
            api.set_allocator(domains[i], &inner[i]);
            installed[i] = 0;
        }
    }
}

/* With the GIL, after wrapping before Py_Initialize: forget the wrappers
 * that start-up replaced (no call through the domain reaches them). */
static void drop_replaced_wrappers(void)
{
    for (int i = 0; i < 2; i++) {
        if (!installed[i])
            continue;
        probing = 1;
        probe_reached = 0;
        void *p = api.domain_malloc[i](1);
        probing = 0;
        api.domain_free[i](p);
        if (!probe_reached)
            installed[i] = 0;
    }
}

static uint32_t wrap_when_allowed(int wait_for_init)
{
    /* Still in place from an earlier session, or inherited by a fork child
     * (whose interpreter is being re-initialised after the fork: no GIL
     * taken there), they serve again as they are. */
    if (installed[0] && installed[1] && !before_init)
        return SL_PY_WRAPPED;
    long pause = 1000000;   /* 1 ms, growing: an embedding program may never initialise */
    while (!api.is_initialized()) {
        if (api.is_finalizing())
            return SL_PY_FINALIZING;
        if (!wait_for_init || atomic_load(&stop_requested))
            return SL_PY_NOT_INITIALIZED;
        futex_wait(&wake, atomic_load(&wake), pause);
        if (pause < 50000000)
            pause += pause / 2;
    }
    if (api.is_finalizing())
        return SL_PY_FINALIZING;
    int gil = api.gil_ensure();
    uint32_t refused = unusable();
    if (before_init && !refused)
        drop_replaced_wrappers();
    before_init = 0;
    if (!refused && !atomic_load(&stop_requested)) {
        wrap_domains();
        sl_python_reuse_install();
    }
    api.gil_release(gil);
    return refused ? refused : SL_PY_WRAPPED;
}

static void collect(void)
{
    struct sl_rec_collected r = {atomic_load(&collect_token), -1, 0, 0};
    atomic_store(&collect_wanted, 0);
    r.state = unusable();
    if (!r.state) {
        int gil = api.gil_ensure();
        if (!api.gc_is_enabled()) {
            r.state = SL_PY_GC_DISABLED;
        } else {
            /* Traced, so the collector's frees reach the stream. */
            sl_guard = 0;
            r.collected = (int64_t)api.gc_collect();
            sl_guard = 1;
        }
        api.gil_release(gil);
    }
    collect_result = r;
    atomic_store_explicit(&collect_ready, 1, memory_order_release);
}

/* Also run when CPython ends the thread in PyGILState_Ensure (finalizing). */
static void helper_gone(void *unused)
{
    (void)unused;
    if (atomic_load(&state) == SL_PY_PENDING)
        atomic_store(&state, SL_PY_FINALIZING);
    if (atomic_load(&collect_wanted)) {
        struct sl_rec_collected r = {atomic_load(&collect_token), -1, SL_PY_FINALIZING, 0};
        collect_result = r;
        atomic_store_explicit(&collect_ready, 1, memory_order_release);
    }
    atomic_store(&helper_alive, 0);
}

static void *helper_main(void *arg)
{
    sl_guard = 1;   /* nothing this thread does is traced, except the collector's work */
    (void)prctl(PR_SET_NAME, "swiftleak-py", 0, 0, 0);
    pthread_cleanup_push(helper_gone, NULL);
    uint32_t outcome = wrap_when_allowed(arg != NULL);
    if (!atomic_load(&stop_requested))   /* else its session is over: not news for the next one */
        atomic_store(&state, outcome);
    while (!atomic_load(&stop_requested)) {
        uint32_t seen = atomic_load(&wake);
        if (atomic_load(&collect_wanted)) {
            collect();
            continue;
        }
        if (!atomic_load(&stop_requested))
            futex_wait(&wake, seen, 1000000000L);
    }
    /* Leave the interpreter as it was. One that is going away keeps the
     * wrappers, which pass straight through with tracing off. */
    if ((installed[0] || installed[1]) && !unusable()) {
        int gil = api.gil_ensure();
        if (!unusable()) {
            sl_python_reuse_remove();
            unwrap_domains();
        }
        api.gil_release(gil);
    }
    pthread_cleanup_pop(1);
    return NULL;
}

/* ---- session side -------------------------------------------------------- */

/* 0 when the process has no usable CPython API, else the minor version. */
static uint32_t find_api(void)
{
    if (api.minor)
        return api.minor;
    const char *setting = getenv(SL_ENV_PYTHON);
    if (setting && strcmp(setting, "off") == 0)
        return 0;
    const unsigned long *version = dlsym(RTLD_DEFAULT, "Py_Version");
    if (!version || ((*version >> 24) & 0xff) != 3)
        return 0;
    void *finalizing = dlsym(RTLD_DEFAULT, "Py_IsFinalizing");   /* public from 3.13 */
    if (!finalizing)
        finalizing = dlsym(RTLD_DEFAULT, "_Py_IsFinalizing");
    *(void **)&api.get_allocator = dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
    *(void **)&api.set_allocator = dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
    *(void **)&api.gil_ensure = dlsym(RTLD_DEFAULT, "PyGILState_Ensure");
    *(void **)&api.gil_release = dlsym(RTLD_DEFAULT, "PyGILState_Release");
    *(void **)&api.is_initialized = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    *(void **)&api.gc_collect = dlsym(RTLD_DEFAULT, "PyGC_Collect");
    *(void **)&api.gc_is_enabled = dlsym(RTLD_DEFAULT, "PyGC_IsEnabled");
    *(void **)&api.is_finalizing = finalizing;
    *(void **)&api.domain_malloc[0] = dlsym(RTLD_DEFAULT, "PyMem_Malloc");
    *(void **)&api.domain_malloc[1] = dlsym(RTLD_DEFAULT, "PyObject_Malloc");
    *(void **)&api.domain_free[0] = dlsym(RTLD_DEFAULT, "PyMem_Free");
    *(void **)&api.domain_free[1] = dlsym(RTLD_DEFAULT, "PyObject_Free");
    if (!api.domain_malloc[0] || !api.domain_malloc[1] || !api.domain_free[0] || !api.domain_free[1])
        return 0;
    if (!api.get_allocator || !api.set_allocator || !api.gil_ensure || !api.gil_release ||
        !api.is_initialized || !api.is_finalizing || !api.gc_collect || !api.gc_is_enabled)
        return 0;
    api.minor = (uint32_t)(*version >> 16) & 0xff;
    return api.minor;
}

/* 3.13 and later say so in _Py_DebugOffsets (python_debug_offsets.h). */
static int free_threaded(void)
{
    if (api.minor < 13)
        return 0;
    const uint64_t *d = sl_py_debug_offsets(dlsym(RTLD_DEFAULT, "_PyRuntime"));
    return !d || d[SL_PYDO_FREE_THREADED] != 0;
}

void sl_python_alloc_start(int wait_for_init)
{
    if (!find_api()) {
        atomic_store(&state, SL_PY_NOT_PYTHON);
        return;
    }
    if (free_threaded()) {
        atomic_store(&state, SL_PY_FREE_THREADED);
        return;
    }
    if (atomic_load(&helper_alive)) {
        /* An earlier session's helper still waits for the GIL. */
        atomic_store(&state, SL_PY_BUSY);
        return;
    }
    if (helper_joinable) {
        pthread_join(helper, NULL);
        helper_joinable = 0;
    }
    atomic_store(&stop_requested, 0);
    atomic_store(&collect_wanted, 0);
    atomic_store(&collect_ready, 0);
    atomic_store(&state, SL_PY_PENDING);
    /* A launched program, before main(): one thread, no interpreter yet. */
    if (wait_for_init && !api.is_initialized() && !installed[0] && !installed[1]) {
        wrap_domains();
        before_init = 1;
    }
    atomic_store(&helper_alive, 1);
    sigset_t all, old;
    sigfillset(&all);
    int e = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (!e) {
        int was = sl_guard;
        sl_guard = 1;   /* pthread_create allocates */
        e = pthread_create(&helper, NULL, helper_main, wait_for_init ? (void *)1 : NULL);
        sl_guard = was;
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);   /* a mask just read: cannot fail */
    }
    if (e) {
        atomic_store(&helper_alive, 0);
        atomic_store(&state, SL_PY_BUSY);
        sl_debug("python: no helper thread, Python's allocators are not wrapped", (uint64_t)e, 0);
        return;
    }
    helper_joinable = 1;
}

int sl_python_alloc_news(struct sl_rec_python *out)
{
    uint32_t s = atomic_load(&state);
    if (!s || s == state_sent)
        return 0;
    state_sent = s;
    out->state = s;
    out->minor = api.minor;
    return 1;
}

void sl_python_alloc_collect(uint64_t token)
{
    uint32_t s = atomic_load(&state);
    if (!atomic_load(&helper_alive) || s == SL_PY_NOT_PYTHON || s == SL_PY_FREE_THREADED || s == SL_PY_BUSY) {
        struct sl_rec_collected r = {token, -1, s == SL_PY_PENDING || s == SL_PY_WRAPPED ? SL_PY_FINALIZING : s, 0};
        collect_result = r;
        atomic_store_explicit(&collect_ready, 1, memory_order_release);
        return;
    }
    atomic_store(&collect_token, token);
    atomic_store(&collect_wanted, 1);
    poke();
}

int sl_python_alloc_collected(struct sl_rec_collected *out)
{
    if (!atomic_load_explicit(&collect_ready, memory_order_acquire))
        return 0;
    *out = collect_result;
    atomic_store(&collect_ready, 0);
    return 1;
}

/* The next session starts with no state to report: until its own start
 * says otherwise, nothing stale (an earlier WRAPPED) goes on its wire. */
static void forget_state(void)
{
    atomic_store(&state, 0);
    state_sent = 0;
}

void sl_python_alloc_stop(void)
{
    if (!helper_joinable) {
        forget_state();
        return;
    }
    atomic_store(&stop_requested, 1);
    poke();
    /* Bounded: a GIL held for long must not hold up the detach. */
    for (int i = 0; i < 2000 && atomic_load(&helper_alive); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (!atomic_load(&helper_alive)) {
        pthread_join(helper, NULL);
    } else {
        sl_debug("python: the GIL did not come within 2 s; the allocator wrappers stay, passing through", 0, 0);
        pthread_detach(helper);
    }
    helper_joinable = 0;
    forget_state();
}

void sl_python_alloc_forget_in_child(void)
{
    sl_python_forget_stack_ids();   /* the child's stack table starts empty */
    forget_state();
    atomic_store(&helper_alive, 0);
    helper_joinable = 0;
    atomic_store(&collect_wanted, 0);
    atomic_store(&collect_ready, 0);
}
