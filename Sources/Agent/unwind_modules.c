/*
 * unwind_modules.c: the fast unwinder's module table (see unwind_modules.h).
 * Built from dl_iterate_phdr at session start and by the agent thread;
 * read by fast_unwind.c on a rule-cache miss.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* dl_iterate_phdr */
#endif
#include "unwind_modules.h"

#include "eh_frame.h"

#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define TAB_CAP 4096u

struct modtab {
    _Atomic uint32_t count;       /* entries [0, count) are complete (release/acquire) */
    struct sl_unwind_module m[TAB_CAP];
};

static struct modtab *_Atomic modtab;
/* dl_iterate_phdr's load and unload counters as of the last scan. seen_subs
 * is read by the miss path, hence the release/acquire pair. */
static uint64_t seen_adds, seen_subs;

void *sl_map_zero(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int counters_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    uint64_t *c = data;
    if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        return 1;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1;
}

static void read_counters(uint64_t c[2])
{
    c[0] = c[1] = 0;
    dl_iterate_phdr(counters_cb, c);
}

int sl_modules_ready(void) { return atomic_load(&modtab) != NULL; }

int sl_modules_unloaded_since_scan(void)
{
    uint64_t c[2];
    read_counters(c);
    return c[1] != __atomic_load_n(&seen_subs, __ATOMIC_ACQUIRE);
}

int sl_modules_changed(void)
{
    uint64_t c[2];
    read_counters(c);
    return c[0] != seen_adds || c[1] != seen_subs;
}

const struct sl_unwind_module *sl_modules_find(uintptr_t ip)
{
    struct modtab *tab = atomic_load_explicit(&modtab, memory_order_acquire);
    if (!tab)
        return NULL;
    uint32_t n = atomic_load_explicit(&tab->count, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        const struct sl_unwind_module *m = &tab->m[i];
        if (ip >= m->text_lo && ip < m->text_hi && !atomic_load_explicit(&m->dead, memory_order_relaxed))
            return m;
    }
    return NULL;
}

/* ---- discovery ------------------------------------------------------------ */

static int have_live(struct modtab *tab, uint32_t n, uintptr_t base, const void *phdr)
{
    for (uint32_t i = 0; i < n; i++)
        if (tab->m[i].base == base && tab->m[i].phdr == phdr && !atomic_load(&tab->m[i].dead))
            return 1;
    return 0;
}

static int add_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct modtab *tab = data;
    uint32_t n = atomic_load(&tab->count);
    if (n >= TAB_CAP || have_live(tab, n, info->dlpi_addr, info->dlpi_phdr))
        return 0;
    struct sl_unwind_module m;
    memset(&m, 0, sizeof m);
    m.text_lo = UINTPTR_MAX;
    uintptr_t hdr = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_EH_FRAME)
            hdr = info->dlpi_addr + ph->p_vaddr;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, e = a + ph->p_memsz;
        if (ph->p_flags & PF_X) {
            if (a < m.text_lo)
                m.text_lo = a;
            if (e > m.text_hi)
                m.text_hi = e;
        }
        if (hdr >= a && hdr < e && (ph->p_flags & PF_R)) {
            m.seg_lo = a;
            m.seg_hi = a + ph->p_filesz;   /* beyond filesz is bss, never tables */
        }
    }
    if (!hdr || !m.seg_hi || !m.text_hi)
        return 0;   /* no unwind table: its frames go to libunwind */
    if (sl_eh_hdr_table(hdr, (struct sl_eh_span){m.seg_lo, m.seg_hi}, &m.table, &m.count) != 0)
        return 0;
    m.hdr = hdr;
    m.base = info->dlpi_addr;
    m.phdr = info->dlpi_phdr;
    tab->m[n] = m;
    atomic_store_explicit(&tab->count, n + 1, memory_order_release);
    return 0;
}

int sl_modules_rescan(void (*forget_unloaded)(void))
{
    uint64_t c[2];
    read_counters(c);
    struct modtab *tab = atomic_load(&modtab);
    if (tab && c[0] == seen_adds && c[1] == seen_subs)
        return 0;
    int removed = !tab || c[1] != seen_subs;
    if (!tab || (removed && atomic_load(&tab->count) + 1024 > TAB_CAP)) {
        /* New table; the old one stays mapped for readers still in it. */
        struct modtab *nt = sl_map_zero(sizeof *nt);
        if (!nt)
            return ENOMEM;
        dl_iterate_phdr(add_cb, nt);
        atomic_store_explicit(&modtab, nt, memory_order_release);
        if (tab)
            for (uint32_t i = 0; i < atomic_load(&tab->count); i++)
                atomic_store(&tab->m[i].dead, 1);
    } else {
        if (removed) {
            /* Anything may have gone: retire every entry, re-add the living. */
            uint32_t n = atomic_load(&tab->count);
            for (uint32_t i = 0; i < n; i++)
                atomic_store(&tab->m[i].dead, 1);
        }
        dl_iterate_phdr(add_cb, tab);
    }
    if (removed)
        forget_unloaded();
    seen_adds = c[0];
    __atomic_store_n(&seen_subs, c[1], __ATOMIC_RELEASE);   /* read by the miss path */
    return 0;
}
