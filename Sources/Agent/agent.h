/*
 * agent.h: internal interface of libswiftleak-agent.so, shared by the two
 * front ends (preload.c, attach.c) and the core (ring, stacks, unwind,
 * hooks, agent thread, GOT patching).
 *
 * Nothing here is exported: the library is built with -fvisibility=hidden
 * and only the allocator entry points and swiftleak_agent_attach carry
 * SL_EXPORT.
 */
#ifndef SWIFTLEAK_AGENT_H
#define SWIFTLEAK_AGENT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "swiftleak_protocol.h"

#define SL_EXPORT __attribute__((visibility("default")))
#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* On cache lines of its own (a type's size is then a multiple of 64): for
 * what one thread writes often, so that no global another thread reads on
 * every event shares its line (false sharing: a cross-core miss each time). */
#define SL_OWN_LINES __attribute__((aligned(64)))

#define SL_DEFAULT_FRAMES 64u

/* ---- real allocator (hooks.c) ---------------------------------------- */

/* The hooked allocator functions, the one list the hooks, the real-function
 * table, the GOT patch table and SL_HOOK_COUNT all come from. Columns: name,
 * return type, parameters, and whether the call can release a block. The
 * order is the GOT patch order: the functions that release blocks first, so
 * no block is ever seen allocated and then freed behind our back. */
#define SL_HOOKED_FUNCTIONS(X)                                          \
    X(free, void, (void *), 1)                                          \
    X(realloc, void *, (void *, size_t), 1)                             \
    X(reallocarray, void *, (void *, size_t, size_t), 1)                \
    X(malloc, void *, (size_t), 0)                                      \
    X(calloc, void *, (size_t, size_t), 0)                              \
    X(posix_memalign, int, (void **, size_t, size_t), 0)                \
    X(aligned_alloc, void *, (size_t, size_t), 0)                       \
    X(memalign, void *, (size_t, size_t), 0)                            \
    X(valloc, void *, (size_t), 0)                                      \
    X(pvalloc, void *, (size_t), 0)

#define SL_X_REAL_FIELD(name, ret, params, releases) ret(*name) params;
struct sl_real_fns {
    SL_HOOKED_FUNCTIONS(SL_X_REAL_FIELD)
};
#undef SL_X_REAL_FIELD

/* SL_HOOK_<name>: a function's index in the hook tables. */
#define SL_X_INDEX(name, ret, params, releases) SL_HOOK_##name,
enum sl_hook_index { SL_HOOKED_FUNCTIONS(SL_X_INDEX) SL_HOOK_COUNT };
#undef SL_X_INDEX

/* Indexes [0, SL_HOOK_RELEASING) are the functions that can release a block. */
#define SL_X_RELEASING(name, ret, params, releases) +(releases)
enum { SL_HOOK_RELEASING = 0 SL_HOOKED_FUNCTIONS(SL_X_RELEASING) };
#undef SL_X_RELEASING

extern struct sl_real_fns sl_real;

/* Recursion guard: while set, every hook is a plain pass-through. It must be
 * initial-exec so touching it never allocates (a dlopen'ed library's
 * default-model TLS may call malloc on first use). */
extern __thread int sl_guard __attribute__((tls_model("initial-exec")));

/* Resolve sl_real with dlsym(RTLD_NEXT) (preload) once; 0 or errno. */
int sl_real_resolve_next(void);
/* Resolve sl_real with dlsym(RTLD_DEFAULT) (attach: we interpose nothing,
 * so the global definitions are what the GOT slots point to). */
int sl_real_resolve_default(void);

/* The hook entry points by enum sl_hook_index (got_patch.c writes them into
 * GOT slots in attach mode). */
extern const char *const sl_hook_names[SL_HOOK_COUNT];
extern void *const sl_hook_addrs[SL_HOOK_COUNT];

/* ---- global session state (session.c) -------------------------------- */

struct sl_session {
    _Atomic int tracing;            /* hooks record events (read on the hot path) */
    _Atomic int active;             /* a session exists (agent thread alive) */
    _Atomic int closing;            /* the agent thread is in its shutdown sequence */
    _Atomic uint32_t stop_code;     /* first enum sl_status_code that ended tracing */
    _Atomic uint32_t stop_detail;
    _Atomic uint64_t lost;          /* events that could not be recorded */
    int fd;                         /* socket, owned by the agent thread once it runs */
    uint32_t frames;                /* stack depth to capture */
    uint32_t mode;                  /* enum sl_mode */
    pid_t pid;                      /* process that owns the stream */
    pthread_t thread;
    int thread_joinable;
    _Atomic uint64_t flush_request;  /* ring position + 1 the exit path wants on the wire (0: none) */
    _Atomic uint64_t flushed_upto;   /* ring position + 1 the agent thread has sent */
    _Atomic int exiting;             /* the exit path asked for the flush: announce it */
    _Atomic int released;            /* swiftleak answered SL_REC_EXITING */
};

extern struct sl_session sl_sess;

/* Turn tracing off and remember why (the first reason wins). Callable from
 * any thread, lock-free. code 0 = stop without a reason (peer went away). */
void sl_fail(uint32_t code, uint32_t detail);
static inline void sl_count_lost(uint64_t n)
{
    atomic_fetch_add_explicit(&sl_sess.lost, n, memory_order_relaxed);
}

/* Connect, send hello, start the agent thread, turn tracing on. 0 or errno.
 * Without libunwind: hello, SL_STATUS_UNWINDER_MISSING, close, pass-through. */
int sl_session_start(const char *socket_path, uint32_t frames, uint32_t mode);
/* Called by the agent thread when the session is over (socket closed). */
void sl_session_finished(void);
/* Exit path (preload destructor): ask the agent thread to put everything in
 * the ring on the wire, wait a bounded time. */
void sl_session_flush_at_exit(void);
/* fork child: forget the parent's session without touching the socket's peer. */
void sl_session_forget_in_child(void);
/* fork child (after the above), `run --follow-forks`: a session of its own,
 * with the inherited ring and stack tables emptied first (the parent's
 * pending events and stack ids belong to the parent's stream). 0 or errno;
 * on failure the child stays a pass-through. */
int sl_session_start_in_child(const char *socket_path, uint32_t frames);

/* ---- event ring (ring.c) --------------------------------------------- */

/* RETAG: the live block at `address` now belongs to `stack_id`
 * (SL_REC_RETAG; python_reuse.c). */
enum { SL_EV_ALLOC = 1, SL_EV_FREE = 2, SL_EV_RETAG = 3 };

struct sl_event {
    uint64_t address;
    uint64_t size;
    uint32_t stack_id;
    uint32_t kind;
};

int sl_ring_init(void);

/* The producer side is inline here, so an event costs the hook no call;
 * the slot states and everything else are ring.c's. */
#define SL_RING_CAP (1ull << 16)
#define SL_RING_MASK (SL_RING_CAP - 1)
struct sl_ring_slot {
    _Atomic uint64_t seq;
    uint64_t address;
    uint64_t size;
    uint32_t stack_id;
    uint32_t kind;
};
/* Its symbol stays `slots`: LeakScan (AgentFootprint.swift) finds the ring's
 * mapping through it and leaves it out of a reachability scan. */
extern struct sl_ring_slot *sl_ring_slots __asm__("slots");
/* The next position to reserve, alone on its cache line: every producer
 * writes it for every event. */
extern struct sl_ring_tail {
    _Atomic uint64_t pos;
} SL_OWN_LINES sl_ring_tail_line;
/* The slot of reservation pos was not free yet: wait (bounded). 1 published, 0 dropped. */
int sl_ring_publish_when_free(struct sl_ring_slot *s, uint64_t pos, uint32_t kind, uint64_t address, uint64_t size,
                              uint32_t stack_id);

static inline void sl_ring_fill(struct sl_ring_slot *s, uint64_t pos, uint32_t kind, uint64_t address, uint64_t size,
                                uint32_t stack_id)
{
    s->address = address;
    s->size = size;
    s->stack_id = stack_id;
    s->kind = kind;
    atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
}

/* sl_ring_push in its two steps, for the ring's own tests too: a
 * reservation and, as late as a preempted producer would, its publication. */
static inline uint64_t sl_ring_reserve(void)
{
    return atomic_fetch_add_explicit(&sl_ring_tail_line.pos, 1, memory_order_relaxed);
}

static inline int sl_ring_publish(uint64_t pos, uint32_t kind, uint64_t address, uint64_t size, uint32_t stack_id)
{
    struct sl_ring_slot *s = &sl_ring_slots[pos & SL_RING_MASK];
    if (SL_UNLIKELY(atomic_load_explicit(&s->seq, memory_order_acquire) != pos))
        return sl_ring_publish_when_free(s, pos, kind, address, size, stack_id);
    sl_ring_fill(s, pos, kind, address, size, stack_id);
    return 1;
}

/* Producer side: never blocks forever, never takes a lock. Returns 0 if the
 * event was dropped (counted as lost). */
static inline int sl_ring_push(uint32_t kind, uint64_t address, uint64_t size, uint32_t stack_id)
{
#ifdef SL_BENCH_NO_PUSH   /* measurement only (Scripts/bench-threads): everything but the ring */
    __asm__ volatile("" ::"r"(kind), "r"(address), "r"(size), "r"(stack_id));
    return 1;
#else
    return sl_ring_publish(sl_ring_reserve(), kind, address, size, stack_id);
#endif
}
/* Consumer side (agent thread only). Pop the next event if it is ready:
 * returns 1 with *ev filled, 0 if nothing is ready now. Slots reserved and
 * never completed are skipped (counted lost) after `stall_ns`. */
int sl_ring_pop(struct sl_event *ev, uint64_t stall_ns);
/* The same for up to `max` events in a row, into out[0..]: returns how
 * many. One call, and the head kept in a register, for a whole batch. */
unsigned sl_ring_pop_batch(struct sl_event *out, unsigned max, uint64_t stall_ns);
uint64_t sl_ring_tail(void);
uint64_t sl_ring_head(void);
/* Consumer, between sessions (tracing off): drain what is left, skipping
 * what stays unpublished for `stall_ns`, then free every slot for the coming
 * lap, so a reservation given up in the last session cannot stall this one.
 * 0, or ETIMEDOUT if producers kept pushing. */
int sl_ring_reclaim(uint64_t stall_ns);
/* fork child only (one thread, no hook running): a fresh, empty ring. 0 or errno. */
int sl_ring_reset_in_child(void);

/* ---- stack interning (stacks.c) -------------------------------------- */

struct sl_stack_entry {
    uint64_t hash;
    uint32_t depth;
    uint32_t sent;                  /* touched only by the agent thread */
    uint64_t ips[];
};

int sl_stacks_init(void);
/* 0 on failure (tables full: tracing is turned off with OUT_OF_MEMORY). */
uint32_t sl_stack_intern(const uint64_t *ips, uint32_t depth);
/* Where a capture's stack id may already be known: the path memo it
 * replayed or wrote (fast_unwind.c). `slot` holds (tag << 32) | stack id,
 * NULL: no hint. `tag` is the memo's version when ips are exactly its whole
 * path and nothing rewrites them before interning (no Python stop frame,
 * no Swift async merge); otherwise odd, matching no version. */
struct sl_stack_hint {
    _Atomic uint64_t *slot;
    uint32_t tag;
};
/* The arena the entries live in: stack_id = offset / 8. */
extern unsigned char *sl_stack_arena;
static inline struct sl_stack_entry *sl_stack_get(uint32_t stack_id)
{
    return (struct sl_stack_entry *)(sl_stack_arena + (uint64_t)stack_id * 8);
}
/* sl_stack_intern_hinted past its vouched-for case: the id in `hint`
 * compared frame by frame, else interned; the result remembered there. */
uint32_t sl_stack_intern_compared(const uint64_t *ips, uint32_t depth, struct sl_stack_hint hint);
/* The same, trying first the id in `hint`: taken as is when the slot's tag
 * is the hint's (the memo vouches for every frame), else compared frame by
 * frame; the result is remembered there. Any id ever stored in a slot was a
 * published entry (or 0): reading it is safe. Inline: the vouched-for case
 * is the common one and a handful of instructions. */
static inline uint32_t sl_stack_intern_hinted(const uint64_t *ips, uint32_t depth, struct sl_stack_hint hint)
{
    if (SL_LIKELY(hint.slot != NULL) && !(hint.tag & 1)) {
        uint64_t w = atomic_load_explicit(hint.slot, memory_order_acquire);
        uint32_t cand = (uint32_t)w;
        if (SL_LIKELY((uint32_t)(w >> 32) == hint.tag && cand && depth && sl_stack_get(cand)->depth == depth))
            return cand;
    }
    return sl_stack_intern_compared(ips, depth, hint);
}
/* fork child only (one thread, tracing off): empty tables. 0 or errno. */
int sl_stacks_reset_in_child(void);

/* ---- unwinding (unwind.c) -------------------------------------------- */

/* How far below its top an sp may lie and still be taken for a thread's
 * stack (the top: its descriptor, the thread pointer) or the main thread's
 * (the top: __libc_stack_end). Walks never read past a top found so. */
#define SL_MAX_THREAD_STACK (256ull << 20)
#define SL_MAX_MAIN_STACK (4ull << 30)

/* Where a hook's caller stands once the hook returns: its ip (the return
 * address), sp and rbp. The agent is built with frame pointers, so a hook's
 * own frame holds all three ([rbp] the caller's rbp, [rbp + 8] the return
 * address, rbp + 16 the caller's sp): a capture that starts there has no
 * agent frame to skip. SL_CALLER() only in the hook itself. */
struct sl_caller {
    uintptr_t ip, sp, bp;
};
#define SL_CALLER()                                                                      \
    ((struct sl_caller){(uintptr_t)__builtin_return_address(0),                         \
                        (uintptr_t)__builtin_frame_address(0) + 16,                     \
                        *(const uintptr_t *)__builtin_frame_address(0)})

int sl_unwind_init(void);          /* 0 or errno; dlopen libunwind.so.8 RTLD_LOCAL */
int sl_unwind_ready(void);
/* sl_unwind_capture through libunwind (whatever the fast walker declines). */
uint32_t sl_unwind_capture_slow(uint64_t *ips, uint32_t max, struct sl_stack_hint *id_hint);
/* The span of the agent's own code (set once by sl_unwind_init). */
extern uintptr_t sl_agent_lo, sl_agent_hi;
/* Whether an address lies in the agent's own code. Inline: the fast
 * unwinder asks for every frame it skips. */
static inline int sl_in_agent(uintptr_t a) { return a >= sl_agent_lo && a < sl_agent_hi; }
uintptr_t sl_agent_base(void);

/* ---- fast unwinder (fast_unwind.c) ----------------------------------- */

/* Module tables and the rule cache; reads SWIFTLEAK_UNWINDER (=libunwind
 * turns the fast path off). Takes the loader lock: not for the hook path. */
int sl_fast_unwind_init(void);
/* fork child only (with sl_stacks_reset_in_child): forget the stack ids the
 * path memo remembers, which name the parent's entries. */
void sl_fast_unwind_forget_stack_ids(void);
/* Re-scan modules now (after dlopen/dlclose). Not for the hook path. */
int sl_fast_unwind_refresh(void);
/* Agent thread, every loop: re-scan if dl_iterate_phdr's counters moved. */
void sl_fast_unwind_poll(void);
enum sl_fu_mode { SL_FU_OFF = 0, SL_FU_FAST = 1, SL_FU_FAST_ONLY = 2 };
int sl_fast_unwind_mode(void);
void sl_fast_unwind_set_mode(int mode);
/* Walk the caller's stack from .eh_frame rules. Frames in the agent are
 * skipped (at most skip_max of them), then up to max return addresses are
 * stored in ips, unmodified, *depth of them. Returns 0, or -1: this stack
 * needs libunwind (fast unwinding off, unsupported rule, unknown code, odd
 * stack; in fast-only mode 0 with the frames found before that point). On
 * 0, *id_hint is this path's memo slot for sl_stack_intern_hinted.
 * Hook-path safe. */
int sl_fast_unwind(uint64_t *ips, uint32_t max, uint32_t skip_max, const struct sl_caller *from, uint32_t *depth,
                   struct sl_stack_hint *id_hint);
/* End every walk after the first frame whose ip is in [lo, lo + span)
 * (CPython's eval loop, see python_frames.c); span 0: walk to the end.
 * Before tracing starts only. */
void sl_fast_unwind_stop_at(uintptr_t lo, uintptr_t span);

/* The rule cache's generation: bumped whenever rules remembered from a
 * walk may no longer hold (modules unloaded, the mode changed). */
extern _Atomic uint32_t sl_fu_generation;
/* The checks that vouch for the whole path to the stop that `path` (a hint
 * sl_fast_unwind gave, odd tag) names, from the walk's first sp: each
 * return address's offset (at) and value (ra), and the generation the path
 * was walked in. Returns how many, or 0 when the path needs more than its
 * return addresses (an rbp-based frame), has more than cap or has been
 * rewritten since. */
uint32_t sl_fast_unwind_path_checks(struct sl_stack_hint path, uint32_t *at, uint64_t *ra, uint32_t cap, uint32_t *gen);

/* Fill ips[0..max) with the stack of the hook's caller, from `from` (NULL:
 * from here, skipping the agent's frames); returns the depth. ips must have
 * room for max + 8 entries (scratch for the dropped frames). *id_hint:
 * where to look for this path's stack id (sl_stack_intern_hinted). Inline,
 * so a capture costs no frame of its own. */
static inline uint32_t sl_unwind_capture(uint64_t *ips, uint32_t max, const struct sl_caller *from,
                                         struct sl_stack_hint *id_hint)
{
    uint32_t fast;
    if (SL_LIKELY(sl_fast_unwind(ips, max, 8, from, &fast, id_hint) == 0)) {
        if (fast)
            ips[0] -= 1;   /* frame 0 symbolizes as its call site (see sl_unwind_capture_slow) */
        return fast;
    }
    return sl_unwind_capture_slow(ips, max, id_hint);
}

/* ---- hook helpers (hooks.c) ------------------------------------------ */

void sl_emit_alloc(void *p, size_t size);
/* The same, for a hook: the stack of the caller SL_CALLER() gave. */
void sl_emit_alloc_at(void *p, size_t size, const struct sl_caller *from);
void sl_emit_free(void *p);
/* The interned id of the stack SL_CALLER() gave, as an allocation there
 * would record it (Python and async callers merged); 0: the table is full. */
uint32_t sl_stack_id_at(const struct sl_caller *from);

/* ---- transport (transport.c) ----------------------------------------- */

int sl_connect(const char *path, int *fd_out);      /* 0 or errno */
int sl_send_all(int fd, const void *buf, size_t len); /* 0 or errno */
int sl_send_hello(int fd, uint32_t mode, uint32_t frames);
int sl_send_status(int fd, uint32_t code, uint32_t detail, uint64_t lost);
void sl_close_fd(int fd);
uint64_t sl_now_ns(int clock);
void sl_debug(const char *msg, uint64_t a, uint64_t b);

/* ---- agent thread (agent_thread.c) ----------------------------------- */

int sl_thread_start(void);          /* 0 or errno */

/* ---- GOT patching (got_patch.c), attach mode ------------------------- */

int sl_got_init(void);
/* Patch every eligible module not patched yet. 0 or errno (on error every
 * slot patched so far is already restored). Serialized internally. */
int sl_got_patch_all(void);
/* Put every slot back. Serialized internally. */
void sl_got_restore_all(void);
/* Cheap: whether dl_iterate_phdr's dlpi_adds/subs moved since the last scan. */
int sl_got_modules_changed(void);
int sl_got_active(void);
/* Agent-thread cooperation after fork in the child. */
void sl_got_forget_in_child(void);

/* dlopen hook (attach.c): an assembly trampoline, see there. */
void *sl_hook_dlopen(const char *file, int mode);
extern void *(*sl_real_dlopen)(const char *, int);
int sl_dlopen_should_wrap(const char *file, int mode, void *caller);
void *sl_dlopen_wrapped(const char *file, int mode);

#endif
