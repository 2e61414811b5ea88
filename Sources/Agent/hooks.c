/*
 * hooks.c: the allocator entry points (SL_HOOKED_FUNCTIONS) and the hot path.
 *
 * In preload mode these are the process's malloc & co (the library comes
 * first in the global scope). In attach mode the same functions are written
 * into GOT slots by got_patch.c. Either way they forward to sl_real.
 *
 * Ordering rule (see ring.c): a free is recorded BEFORE the real free runs,
 * an allocation AFTER the real allocator returned.
 *
 * Hot path: one TLS load, one relaxed atomic load, then (tracing) unwind
 * from the caller's registers, read off the hook's own frame (SL_CALLER),
 * intern, one ring push. No syscalls, no locks, no allocation.
 */
#include "agent.h"
#include "python_frames.h"
#include "async_frames.h"
#include "emit_free.h"
#include "sampling.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>

__thread int sl_guard __attribute__((tls_model("initial-exec")));
struct sl_real_fns sl_real;

/* ---- bootstrap: allocations made while dlsym itself runs -------------- */

#define BOOT_BYTES (64 * 1024)
static _Alignas(64) unsigned char boot_buf[BOOT_BYTES];
static _Atomic size_t boot_top;
static _Atomic int resolving;   /* 0 idle, 1 dlsym running, 2 done */

static inline int is_boot(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot_buf < BOOT_BYTES;   /* one compare: below boot_buf wraps high */
}

/* 16-byte header holding the size, so realloc can copy out. */
static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    for (;;) {
        size_t top = atomic_load(&boot_top);
        size_t start = (top + 16 + align - 1) & ~(align - 1);
        size_t end = start + n;
        if (end > BOOT_BYTES || end < start)
            return NULL;
        if (atomic_compare_exchange_weak(&boot_top, &top, end)) {
            *(size_t *)(boot_buf + start - sizeof(size_t)) = n;
            return boot_buf + start;
        }
    }
}

static size_t boot_size(const void *p) { return *(const size_t *)((const unsigned char *)p - sizeof(size_t)); }

/* ---- finding the real allocator -------------------------------------- */

/* True when a defined symbol sits exactly at f. A canonical PLT stub is an
 * undefined symbol with a value, which dladdr reports too: look at the
 * symbol's section. */
static int is_definition(void *f)
{
    Dl_info at;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(f, &at, (void **)&sym, RTLD_DL_SYMENT) || !sym)
        return 0;
    return at.dli_saddr == f && sym->st_shndx != SHN_UNDEF;
}

struct definition_search {
    const char *name;
    void *found;
};

static int search_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct definition_search *d = data;
    /* The main program ("") is where the stub came from; skip it and the vdso. */
    if (!info->dlpi_name || !info->dlpi_name[0] || strstr(info->dlpi_name, "linux-vdso"))
        return 0;
    void *h = dlopen(info->dlpi_name, RTLD_NOLOAD | RTLD_LAZY);
    if (!h)
        return 0;
    void *f = dlsym(h, d->name);
    dlclose(h);   /* balances RTLD_NOLOAD's reference; the module stays */
    if (f && is_definition(f)) {
        d->found = f;
        return 1;
    }
    return 0;
}

/* The global definition of an allocator function, as RTLD_DEFAULT sees it,
 * except a "canonical PLT" stub: a non-PIE executable that takes the address
 * of free exports free as its own PLT entry (an undefined symbol with a
 * value), and calling that stub jumps through the very GOT slot we patch,
 * back into our hook, forever (seen with Debian's /usr/bin/python3). A real
 * definition has a defined symbol exactly at its address; otherwise the
 * modules are searched in load order, which is the global lookup order, for
 * the first real definition. */
static void *resolve_definition(void *handle, const char *name)
{
    void *f = dlsym(handle, name);
    if (!f || handle != RTLD_DEFAULT)
        return f;
    if (is_definition(f))
        return f;
    struct definition_search d = {name, NULL};
    dl_iterate_phdr(search_module, &d);
    return d.found;
}

#define RESOLVE(table, handle, name)                                      \
    do {                                                                  \
        void *f_ = resolve_definition(handle, #name);                     \
        if (!f_)                                                          \
            return ENOENT;                                                \
        *(void **)&(table).name = f_;                                     \
    } while (0)

static int resolve_into(struct sl_real_fns *t, void *handle)
{
#define SL_X_RESOLVE(name, ret, params, releases) RESOLVE(*t, handle, name);
    SL_HOOKED_FUNCTIONS(SL_X_RESOLVE)
#undef SL_X_RESOLVE
    return 0;
}

int sl_real_resolve_next(void)
{
    if (atomic_load_explicit(&resolving, memory_order_acquire) == 2)
        return 0;
    int expect = 0;
    if (!atomic_compare_exchange_strong(&resolving, &expect, 1)) {
        /* Another thread is resolving: wait for it (dlsym is short). */
        while (atomic_load_explicit(&resolving, memory_order_acquire) != 2)
            __builtin_ia32_pause();
        return 0;
    }
    struct sl_real_fns t;
    int e = resolve_into(&t, RTLD_NEXT);
    if (e) {
        /* Nothing after us: should not happen with glibc. Fall back to the
         * global definitions, which exist because libc is always loaded. */
        e = resolve_into(&t, RTLD_DEFAULT);
    }
    if (e) {
        atomic_store(&resolving, 0);
        return e;
    }
    sl_real = t;
    atomic_store_explicit(&resolving, 2, memory_order_release);
    return 0;
}

int sl_real_resolve_default(void)
{
    if (atomic_load_explicit(&resolving, memory_order_acquire) == 2)
        return 0;   /* preload mode already resolved; those are the real ones */
    struct sl_real_fns t;
    int e = resolve_into(&t, RTLD_DEFAULT);
    if (e)
        return e;
    sl_real = t;
    atomic_store_explicit(&resolving, 2, memory_order_release);
    return 0;
}

/* Returns 1 if sl_real is usable; 0 while dlsym is running (use boot_alloc). */
static inline int real_ready(void)
{
    if (SL_LIKELY(atomic_load_explicit(&resolving, memory_order_acquire) == 2))
        return 1;
    if (atomic_load_explicit(&resolving, memory_order_acquire) == 1)
        return 0;
    int was = sl_guard;
    sl_guard = 1;
    int e = sl_real_resolve_next();
    sl_guard = was;
    return e == 0 && atomic_load_explicit(&resolving, memory_order_acquire) == 2;
}

/* ---- recording -------------------------------------------------------- */

static inline int tracing(void)
{
    return !sl_guard && atomic_load_explicit(&sl_sess.tracing, memory_order_relaxed);
}

/* The interned id of the stack SL_CALLER() gave (NULL: this call's), 0 when
 * the stack table is full. Inline into the allocation path, whose every
 * event it is; sl_stack_id_at is its one copy for other callers. */
static inline __attribute__((always_inline)) uint32_t stack_id_at(const struct sl_caller *from)
{
    uint64_t ips[SL_MAX_FRAMES + 8];
    struct sl_stack_hint id_hint = {NULL, 1};   /* unwind.c fills it; stacks.c reads it */
#ifdef SL_BENCH_NO_UNWIND   /* measurement only (Scripts/bench-threads): everything but the walk */
    uint32_t depth = 1;
    ips[0] = from ? (uint64_t)from->ip : (uint64_t)(uintptr_t)__builtin_return_address(0);
#else
    uint32_t depth = sl_unwind_capture(ips, sl_sess.frames, from, &id_hint);
    depth = sl_python_merge(ips, depth, sl_sess.frames, &id_hint);   /* may swap in its own stack-id hint */
    depth = sl_async_merge(ips, depth, sl_sess.frames);   /* Swift async callers (async_frames.c) */
#endif
    return sl_stack_intern_hinted(ips, depth, id_hint);
}

__attribute__((noinline)) uint32_t sl_stack_id_at(const struct sl_caller *from) { return stack_id_at(from); }

__attribute__((noinline)) void sl_emit_alloc_at(void *p, size_t size, const struct sl_caller *from)
{
    if (!sl_sample_alloc(p, size))
        return;   /* sampled mode (sampling.h): an unsampled block costs no unwind, no event */
    uint32_t id = stack_id_at(from);
    if (SL_UNLIKELY(!id)) {
        sl_count_lost(1);
        return;
    }
    /* A dropped event is counted by the consumer when it skips the slot. */
    (void)sl_ring_push(SL_EV_ALLOC, (uint64_t)(uintptr_t)p, size, id);
}

void sl_emit_alloc(void *p, size_t size) { sl_emit_alloc_at(p, size, NULL); }

void sl_emit_free(void *p) { sl_emit_free_inline(p); }

/* ---- the entry points ------------------------------------------------- */

/* Declared from the list, so each definition below must match its row. */
#define SL_X_HOOK_DECL(name, ret, params, releases) static ret sl_##name params;
SL_HOOKED_FUNCTIONS(SL_X_HOOK_DECL)
#undef SL_X_HOOK_DECL

static void *sl_malloc(size_t n)
{
    if (SL_LIKELY(sl_sample_skip_alloc(n)))   /* sampled mode, not sampled: nothing else to look at (sampling.h) */
        return sl_real.malloc(n);
    if (SL_UNLIKELY(!real_ready()))
        return boot_alloc(n, 16);
    if (SL_LIKELY(!tracing()))
        return sl_real.malloc(n);
    sl_guard = 1;
    struct sl_caller from = SL_CALLER();
    void *p = sl_real.malloc(n);
    if (p)
        sl_emit_alloc_at(p, n, &from);
    sl_guard = 0;
    return p;
}

static void sl_free(void *p)
{
    if (SL_UNLIKELY(is_boot(p)))
        return;   /* bootstrap memory is never reused */
    if (SL_LIKELY(sl_sample_skip_free(p))) {   /* sampled mode, p not sampled (sampling.h); NULL too */
        sl_real.free(p);
        return;
    }
    if (!p)
        return;
    if (SL_UNLIKELY(!real_ready()))
        return;   /* cannot happen: p came from somewhere that was resolved */
    if (SL_LIKELY(!tracing())) {
        sl_real.free(p);
        return;
    }
    sl_guard = 1;
    sl_emit_free_inline(p);
    sl_real.free(p);
    sl_guard = 0;
}

static void *sl_calloc(size_t n, size_t size)
{
    if (SL_LIKELY(sl_sample_skip_alloc(n * size)))   /* sampled mode (see sl_malloc); an overflow fails unrecorded */
        return sl_real.calloc(n, size);
    if (SL_UNLIKELY(!real_ready())) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total))
            return NULL;
        return boot_alloc(total, 16);   /* static storage: already zero */
    }
    if (SL_LIKELY(!tracing()))
        return sl_real.calloc(n, size);
    sl_guard = 1;
    struct sl_caller from = SL_CALLER();
    void *p = sl_real.calloc(n, size);
    if (p)
        sl_emit_alloc_at(p, n * size, &from);
    sl_guard = 0;
    return p;
}

/* Shared by realloc and reallocarray once the byte count is known. */
static void *realloc_traced(void *old, size_t bytes, void *(*call)(void *, size_t, size_t), size_t a, size_t b,
                            const struct sl_caller *from)
{
    sl_guard = 1;
    if (old)
        sl_emit_free_inline(old);
    void *p = call(old, a, b);
    if (p)
        sl_emit_alloc_at(p, bytes, from);
    else if (old && bytes)
        sl_emit_alloc_at(old, malloc_usable_size(old), from);   /* failed: old is still alive */
    sl_guard = 0;
    return p;
}

static void *call_realloc(void *p, size_t n, size_t unused)
{
    (void)unused;
    return sl_real.realloc(p, n);
}

static void *call_reallocarray(void *p, size_t n, size_t size)
{
    return sl_real.reallocarray(p, n, size);
}

static void *boot_realloc(void *old, size_t n)
{
    /* Copy out of the bootstrap buffer into real memory. */
    void *p = sl_malloc(n);
    if (p && old) {
        size_t o = boot_size(old);
        memcpy(p, old, o < n ? o : n);
    }
    return p;
}

static void *sl_realloc(void *old, size_t n)
{
    if (SL_UNLIKELY(!real_ready())) {
        void *p = boot_alloc(n, 16);
        if (p && old)
            memcpy(p, old, boot_size(old) < n ? boot_size(old) : n);
        return p;
    }
    if (SL_UNLIKELY(old && is_boot(old)))
        return boot_realloc(old, n);
    if (SL_LIKELY(!tracing()))
        return sl_real.realloc(old, n);
    /* Sampled mode: neither the old block nor the new one sampled. */
    if (SL_LIKELY(sl_sample_skip_free(old)) && SL_LIKELY(sl_sample_skip_alloc(n)))
        return sl_real.realloc(old, n);
    struct sl_caller from = SL_CALLER();
    return realloc_traced(old, n, call_realloc, n, 0, &from);
}

static void *sl_reallocarray(void *old, size_t n, size_t size)
{
    size_t bytes;
    if (SL_UNLIKELY(!real_ready()) || SL_UNLIKELY(old && is_boot(old))) {
        if (__builtin_mul_overflow(n, size, &bytes)) {
            errno = ENOMEM;
            return NULL;
        }
        return sl_realloc(old, bytes);
    }
    /* Overflow: the real one fails without touching old; record nothing. */
    if (SL_LIKELY(!tracing()) || __builtin_mul_overflow(n, size, &bytes))
        return sl_real.reallocarray(old, n, size);
    struct sl_caller from = SL_CALLER();
    return realloc_traced(old, bytes, call_reallocarray, n, size, &from);
}

static int sl_posix_memalign(void **out, size_t align, size_t n)
{
    if (SL_UNLIKELY(!real_ready()))
        return ENOMEM;
    if (SL_LIKELY(!tracing()))
        return sl_real.posix_memalign(out, align, n);
    sl_guard = 1;
    struct sl_caller from = SL_CALLER();
    int r = sl_real.posix_memalign(out, align, n);
    if (r == 0 && *out)
        sl_emit_alloc_at(*out, n, &from);
    sl_guard = 0;
    return r;
}

/* aligned_alloc, memalign, valloc, pvalloc: same shape. */
#define ALIGNED_HOOK(name, params, args, size_expr)         \
    static void *sl_##name params                           \
    {                                                       \
        if (SL_UNLIKELY(!real_ready()))                     \
            return NULL;                                    \
        if (SL_LIKELY(!tracing()))                          \
            return sl_real.name args;                       \
        sl_guard = 1;                                       \
        struct sl_caller from = SL_CALLER();                \
        void *p = sl_real.name args;                        \
        if (p)                                              \
            sl_emit_alloc_at(p, size_expr, &from);          \
        sl_guard = 0;                                       \
        return p;                                           \
    }

ALIGNED_HOOK(aligned_alloc, (size_t align, size_t n), (align, n), n)
ALIGNED_HOOK(memalign, (size_t align, size_t n), (align, n), n)
ALIGNED_HOOK(valloc, (size_t n), (n), n)
ALIGNED_HOOK(pvalloc, (size_t n), (n), n)

/* ---- tables for GOT patching ----------------------------------------- */

/* The exported names are aliases: inside the library, the address of a
 * default-visibility function would be resolved through our own GOT, i.e.
 * to libc's malloc when we are loaded RTLD_LOCAL. The sl_ names are what the
 * GOT patcher writes. */
#define SL_X_ALIAS(name, ret, params, releases) \
    extern __typeof(sl_##name) name __attribute__((alias("sl_" #name), visibility("default")));
SL_HOOKED_FUNCTIONS(SL_X_ALIAS)
#undef SL_X_ALIAS

#define SL_X_NAME(name, ret, params, releases) #name,
const char *const sl_hook_names[SL_HOOK_COUNT] = {SL_HOOKED_FUNCTIONS(SL_X_NAME)};
#undef SL_X_NAME

#define SL_X_ADDR(name, ret, params, releases) (void *)sl_##name,
void *const sl_hook_addrs[SL_HOOK_COUNT] = {SL_HOOKED_FUNCTIONS(SL_X_ADDR)};
#undef SL_X_ADDR
