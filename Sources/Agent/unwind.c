/*
 * unwind.c: stack capture: the fast .eh_frame walker (fast_unwind.c) first,
 * libunwind, loaded privately, for every stack it declines.
 *
 * libunwind.so.8 exports the whole _Unwind_* ABI and `backtrace`; linking it
 * (or loading it RTLD_GLOBAL) would interpose the target's C++ unwinder. So
 * it is dlopen'ed RTLD_LOCAL and only unw_backtrace is looked up. Debian's
 * libunwind.a is not PIC, so static linking is not an option either.
 */
#include "agent.h"
#include "async_frames.h"
#include "python_frames.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>

typedef int (*unw_backtrace_fn)(void **, int);
typedef int (*unw_set_caching_policy_fn)(void *, int);
#define SL_UNW_CACHE_PER_THREAD 2   /* UNW_CACHE_PER_THREAD in libunwind.h */

static unw_backtrace_fn unw_bt;
uintptr_t sl_agent_lo, sl_agent_hi;
static uintptr_t agent_base;
static uintptr_t unw_lo, unw_hi;

struct range_query {
    uintptr_t base;
    uintptr_t lo, hi;
    int found;
};

/* Span of the executable PT_LOAD segments of the module loaded at q->base. */
static int find_range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct range_query *q = data;
    if (info->dlpi_addr != q->base)
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (hi) {
        q->lo = lo;
        q->hi = hi;
        q->found = 1;
    }
    return 1;
}

static int module_text(const void *addr, uintptr_t *lo, uintptr_t *hi, uintptr_t *base)
{
    Dl_info di;
    if (!dladdr(addr, &di) || !di.dli_fbase)
        return ENOENT;
    /* dli_fbase is the lowest mapped address; dlpi_addr is the load bias.
     * For a shared object linked at 0 they are equal. */
    struct range_query q = {(uintptr_t)di.dli_fbase, 0, 0, 0};
    dl_iterate_phdr(find_range_cb, &q);
    if (!q.found)
        return ENOENT;
    *lo = q.lo;
    *hi = q.hi;
    if (base)
        *base = q.base;
    return 0;
}

int sl_unwind_init(void)
{
    /* Every session start: a process may have loaded its interpreter since. */
    sl_python_init();
    sl_async_init();   /* async_frames.c: Swift async callers, same reason */
    if (unw_bt)
        return 0;
    if (!sl_agent_hi) {
        int e = module_text((const void *)sl_unwind_init, &sl_agent_lo, &sl_agent_hi, &agent_base);
        if (e)
            return e;
    }
    void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return ENOENT;
    unw_backtrace_fn bt = (unw_backtrace_fn)dlsym(h, "unw_backtrace");
    if (!bt)
        return ENOENT;   /* never dlclose: harmless to keep it mapped */
    unw_set_caching_policy_fn pol = (unw_set_caching_policy_fn)dlsym(h, "_ULx86_64_set_caching_policy");
    void **as = (void **)dlsym(h, "_ULx86_64_local_addr_space");
    if (pol && as && *as)
        pol(*as, SL_UNW_CACHE_PER_THREAD);
    module_text((const void *)bt, &unw_lo, &unw_hi, NULL);
    unw_bt = bt;
    /* The fast unwinder is optional: if its tables cannot be set up, every
     * capture simply goes to libunwind. */
    (void)sl_fast_unwind_init();
    return 0;
}

int sl_unwind_ready(void) { return unw_bt != NULL; }

uintptr_t sl_agent_base(void)
{
    if (!sl_agent_hi)
        module_text((const void *)sl_unwind_init, &sl_agent_lo, &sl_agent_hi, &agent_base);
    return agent_base;
}

uint32_t sl_unwind_capture_slow(uint64_t *ips, uint32_t max, struct sl_stack_hint *id_hint)
{
    *id_hint = (struct sl_stack_hint){NULL, 1};
    /* ips has max + 8 slots: room for the agent's and libunwind's own frames,
     * which are dropped below (one buffer: hooks run on the host's stack). */
    void **buf = (void **)ips;
    int n = unw_bt(buf, (int)max + 8);
    if (n <= 0)
        return 0;
    int i = 0;
    while (i < n) {
        uintptr_t a = (uintptr_t)buf[i];
        if (sl_in_agent(a) || (a >= unw_lo && a < unw_hi))
            i++;
        else
            break;
    }
    uint32_t d = 0;
    for (; i < n && d < max; i++)
        ips[d++] = (uint64_t)(uintptr_t)buf[i];   /* d <= i: moves down in place */
    /* Every frame is a return address; make frame 0 point into the call
     * instruction so it symbolizes as the call site (the protocol looks up
     * ips[0] as is and ips[i > 0] minus one). */
    if (d)
        ips[0] -= 1;
    return d;
}
