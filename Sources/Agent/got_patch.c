/*
 * got_patch.c: attach mode hooks by rewriting GOT slots.
 *
 * Every module of the base namespace (libc included; not the agent, not
 * ld.so, not the vdso) has its R_X86_64_JUMP_SLOT / GLOB_DAT / 64 slots for
 * the allocator functions (and dlopen) pointed at our hooks. RELRO pages are
 * made writable for the store and put back. Each patched slot is remembered
 * with its previous value, so a detach restores exactly what was there.
 *
 * All of it runs under one mutex (attach, the dlopen hook and the agent
 * thread's rescan), never on the malloc hot path. Module lists are walked
 * inside dl_iterate_phdr, which holds the loader's write lock, so a module
 * cannot be unmapped while we touch it and _r_debug's list is stable.
 */
#include "agent.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECORDS 65536u
#define DEFER_RETRY_NS 50000000ull
#define N_TARGETS (SL_HOOK_COUNT + 1)   /* the allocator functions, then dlopen */
#define IDX_DLOPEN SL_HOOK_COUNT

struct record {
    uintptr_t slot;
    uintptr_t orig;
    uint32_t target;
};

static struct record *records;
static size_t nrecords;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int active;
static unsigned long long seen_adds, seen_subs;
static int deferred;             /* a module looked half-loaded last time */
static uint64_t deferred_since;
static uintptr_t page_size;
static struct r_debug *rdebug;   /* ld.so's list of the base namespace */

static const char *target_name(uint32_t i)
{
    return i == IDX_DLOPEN ? "dlopen" : sl_hook_names[i];
}

static uintptr_t target_hook(uint32_t i)
{
    return i == IDX_DLOPEN ? (uintptr_t)sl_hook_dlopen : (uintptr_t)sl_hook_addrs[i];
}

int sl_got_init(void)
{
    if (!page_size) {
        long ps = sysconf(_SC_PAGESIZE);
        if (ps <= 0)
            return EINVAL;
        page_size = (uintptr_t)ps;
    }
    if (!records) {
        void *m = mmap(NULL, MAX_RECORDS * sizeof(struct record), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return errno ? errno : ENOMEM;
        records = m;
    }
    if (!rdebug)
        rdebug = (struct r_debug *)dlsym(RTLD_DEFAULT, "_r_debug");
    return 0;
}

int sl_got_active(void) { return atomic_load(&active); }

void sl_got_forget_in_child(void)
{
    /* The slots stay pointed at our hooks; with tracing off they forward. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    mu = fresh;
    atomic_store(&active, 0);
}

/* ---- module inspection -------------------------------------------------- */

struct module {
    uintptr_t base;
    const ElfW(Phdr) *phdr;
    int phnum;
    const ElfW(Dyn) *dyn;
    uintptr_t relro_lo, relro_hi;   /* read-only after relocation (page aligned) */
};

static uintptr_t dyn_ptr(const struct module *m, ElfW(Addr) v)
{
    /* glibc relocates d_ptr entries in place on x86_64; be robust either way. */
    return v < m->base ? m->base + v : v;
}

static int describe(struct dl_phdr_info *info, struct module *m)
{
    memset(m, 0, sizeof *m);
    m->base = info->dlpi_addr;
    m->phdr = info->dlpi_phdr;
    m->phnum = info->dlpi_phnum;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC)
            m->dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        else if (ph->p_type == PT_GNU_RELRO) {
            /* Same rounding as the loader's _dl_protect_relro. */
            m->relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(page_size - 1);
            m->relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page_size - 1);
        }
    }
    return m->dyn != NULL;
}

/* Protection a page of this module has after loading: RELRO is read-only,
 * the rest is what its PT_LOAD says. -1 if the address is not ours. */
static int page_prot(const struct module *m, uintptr_t page)
{
    if (page >= m->relro_lo && page < m->relro_hi)
        return PROT_READ;
    for (int i = 0; i < m->phnum; i++) {
        const ElfW(Phdr) *ph = &m->phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = (m->base + ph->p_vaddr) & ~(page_size - 1);
        uintptr_t hi = m->base + ph->p_vaddr + ph->p_memsz;
        if (page >= lo && page < hi)
            return ((ph->p_flags & PF_R) ? PROT_READ : 0) | ((ph->p_flags & PF_W) ? PROT_WRITE : 0) |
                   ((ph->p_flags & PF_X) ? PROT_EXEC : 0);
    }
    return -1;
}

/* Store `value` into a slot of module m, lifting write protection if needed. */
static int write_slot(const struct module *m, uintptr_t slot, uintptr_t value)
{
    uintptr_t page = slot & ~(page_size - 1);
    int prot = page_prot(m, page);
    if (prot < 0)
        return EFAULT;
    if (prot & PROT_WRITE) {
        __atomic_store_n((uintptr_t *)slot, value, __ATOMIC_RELEASE);
        return 0;
    }
    if (mprotect((void *)page, page_size, prot | PROT_WRITE) != 0)
        return errno;
    __atomic_store_n((uintptr_t *)slot, value, __ATOMIC_RELEASE);
    if (mprotect((void *)page, page_size, prot) != 0)
        return errno;   /* the value is in; the caller unwinds what it patched */
    return 0;
}

/* Only the base namespace shares our libc: a dlmopen'ed namespace has its
 * own malloc, and handing its blocks to ours would corrupt both heaps.
 * _r_debug lists exactly the base namespace; it is stable while we are inside
 * dl_iterate_phdr (the loader changes it under the same write lock). */
static int in_base_namespace(const struct module *m)
{
    if (!rdebug)
        return 1;   /* no way to tell; a process without dlmopen is the norm */
    for (struct link_map *l = rdebug->r_map; l; l = l->l_next)
        if (l->l_addr == m->base && l->l_ld == (ElfW(Dyn) *)m->dyn)
            return 1;
    return 0;
}

static int skip_module(const struct module *m)
{
    if (m->base == sl_agent_base())
        return 1;
    if (m->base == (uintptr_t)getauxval(AT_BASE))            /* ld.so */
        return 1;
    if (m->base == (uintptr_t)getauxval(AT_SYSINFO_EHDR))    /* vdso */
        return 1;
    return !in_base_namespace(m);
}

static int match_target(const char *name)
{
    for (uint32_t i = 0; i < N_TARGETS; i++)
        if (strcmp(name, target_name(i)) == 0)
            return (int)i;
    return -1;
}

struct rel_tables {
    const ElfW(Sym) *symtab;
    const char *strtab;
    size_t strsz;
    const ElfW(Rela) *rel[2];
    size_t count[2];
};

static int read_dynamic(const struct module *m, struct rel_tables *t)
{
    memset(t, 0, sizeof *t);
    size_t pltrelsz = 0, relasz = 0;
    uintptr_t jmprel = 0, rela = 0;
    long pltrel = DT_RELA;
    for (const ElfW(Dyn) *d = m->dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: t->symtab = (const ElfW(Sym) *)dyn_ptr(m, d->d_un.d_ptr); break;
        case DT_STRTAB: t->strtab = (const char *)dyn_ptr(m, d->d_un.d_ptr); break;
        case DT_STRSZ: t->strsz = d->d_un.d_val; break;
        case DT_JMPREL: jmprel = dyn_ptr(m, d->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
        case DT_PLTREL: pltrel = (long)d->d_un.d_val; break;
        case DT_RELA: rela = dyn_ptr(m, d->d_un.d_ptr); break;
        case DT_RELASZ: relasz = d->d_un.d_val; break;
        default: break;
        }
    }
    if (!t->symtab || !t->strtab)
        return 0;
    if (jmprel && pltrel == DT_RELA) {
        t->rel[0] = (const ElfW(Rela) *)jmprel;
        t->count[0] = pltrelsz / sizeof(ElfW(Rela));
    }
    if (rela) {
        t->rel[1] = (const ElfW(Rela) *)rela;
        t->count[1] = relasz / sizeof(ElfW(Rela));
    }
    return 1;
}

static int interesting_type(uint32_t type)
{
    return type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT || type == R_X86_64_64;
}

/* A module another thread is still loading has raw link-time values in its
 * GOT: small offsets below the module's link-time span (or 0). Relocated
 * slots hold absolute addresses (or, lazily bound, l_addr + offset). The
 * loader relocates in table order, so if the last slot with a nonzero value
 * looks relocated, the whole object is. A 0 is ambiguous (an undefined weak
 * symbol relocates to 0), so those are skipped. */
static int looks_relocated(const struct module *m, const struct rel_tables *t)
{
    if (m->base == 0)
        return 1;   /* non-PIE executable: relocated before main */
    uintptr_t span = 0;
    for (int i = 0; i < m->phnum; i++)
        if (m->phdr[i].p_type == PT_LOAD && m->phdr[i].p_vaddr + m->phdr[i].p_memsz > span)
            span = m->phdr[i].p_vaddr + m->phdr[i].p_memsz;
    for (int k = 0; k < 2; k++) {
        for (size_t i = t->count[k]; i-- > 0;) {
            const ElfW(Rela) *r = &t->rel[k][i];
            uint32_t type = ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                continue;
            uintptr_t v = *(const uintptr_t *)(m->base + r->r_offset);
            if (v == 0)
                continue;
            return v >= span;
        }
    }
    return 1;
}

struct pass {
    int first, last;   /* target indexes this pass patches; restore: -1 */
    int err;
    int deferred;
};

static int patch_module(const struct module *m, struct pass *p)
{
    struct rel_tables t;
    if (!read_dynamic(m, &t))
        return 0;
    if (!looks_relocated(m, &t)) {
        sl_debug("module deferred (not relocated yet)", m->base, 0);
        p->deferred = 1;
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < t.count[k]; i++) {
            const ElfW(Rela) *r = &t.rel[k][i];
            uint32_t type = ELF64_R_TYPE(r->r_info);
            uint32_t symi = ELF64_R_SYM(r->r_info);
            if (!interesting_type(type) || symi == 0)
                continue;
            if (type == R_X86_64_64 && r->r_addend != 0)
                continue;
            uint32_t name = t.symtab[symi].st_name;
            if (t.strsz && name >= t.strsz)
                continue;
            int target = match_target(t.strtab + name);
            if (target < p->first || target > p->last)
                continue;
            uintptr_t slot = m->base + r->r_offset;
            uintptr_t cur = *(const uintptr_t *)slot;
            uintptr_t hook = target_hook((uint32_t)target);
            if (cur == hook)
                continue;
            if (nrecords >= MAX_RECORDS)
                return ENOMEM;
            records[nrecords] = (struct record){slot, cur, (uint32_t)target};
            nrecords++;
            sl_debug("patch slot (slot, old value)", slot, cur);
            int e = write_slot(m, slot, hook);
            if (e)
                return e;
        }
    }
    return 0;
}

static int patch_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct pass *p = data;
    struct module m;
    if (!describe(info, &m) || skip_module(&m)) {
        sl_debug("module skipped", info->dlpi_addr, 0);
        return 0;
    }
    sl_debug("module", info->dlpi_addr, (uint64_t)p->first);
    seen_adds = info->dlpi_adds;
    seen_subs = info->dlpi_subs;
    int e = patch_module(&m, p);
    if (e) {
        p->err = e;
        return 1;
    }
    return 0;
}

/* Put back the records whose slots lie in this (still loaded) module,
 * newest first, and only where the slot still holds our hook. */
static int restore_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    struct module m;
    if (!describe(info, &m))
        return 0;
    for (size_t i = nrecords; i-- > 0;) {
        struct record *r = &records[i];
        if (!r->slot || page_prot(&m, r->slot & ~(page_size - 1)) < 0)
            continue;
        if (*(const uintptr_t *)r->slot == target_hook(r->target))
            (void)write_slot(&m, r->slot, r->orig);   /* best effort: nothing else to do */
        r->slot = 0;
    }
    return 0;
}

static void restore_locked(void)
{
    dl_iterate_phdr(restore_cb, NULL);
    nrecords = 0;   /* records of modules unloaded meanwhile are just dropped */
}

int sl_got_patch_all(void)
{
    int e = sl_got_init();
    if (e)
        return e;
    int was = sl_guard;
    sl_guard = 1;
    pthread_mutex_lock(&mu);
    if (!atomic_load(&sl_sess.tracing)) {
        /* Detached meanwhile (the restore runs after tracing goes off):
         * a late dlopen hook must not hook again. */
        pthread_mutex_unlock(&mu);
        sl_guard = was;
        return 0;
    }
    /* Frees before allocations: a block must never be seen allocated and
     * then freed behind our back. dlopen last. */
    struct pass passes[3] = {{0, SL_HOOK_RELEASING - 1, 0, 0},
                             {SL_HOOK_RELEASING, SL_HOOK_COUNT - 1, 0, 0},
                             {IDX_DLOPEN, IDX_DLOPEN, 0, 0}};
    int def = 0;
    for (int i = 0; i < 3 && !e; i++) {
        dl_iterate_phdr(patch_cb, &passes[i]);
        e = passes[i].err;
        def |= passes[i].deferred;
    }
    if (e) {
        restore_locked();
        atomic_store(&active, 0);
    } else {
        atomic_store(&active, 1);
        deferred = def;
        deferred_since = def ? sl_now_ns(CLOCK_MONOTONIC) : 0;
    }
    pthread_mutex_unlock(&mu);
    sl_guard = was;
    return e;
}

void sl_got_restore_all(void)
{
    int was = sl_guard;
    sl_guard = 1;
    pthread_mutex_lock(&mu);
    restore_locked();
    atomic_store(&active, 0);
    pthread_mutex_unlock(&mu);
    sl_guard = was;
}

static int counters_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    unsigned long long *c = data;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1;
}

int sl_got_modules_changed(void)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(counters_cb, c);
    if (c[0] != seen_adds)
        return 1;
    return deferred && sl_now_ns(CLOCK_MONOTONIC) - deferred_since > DEFER_RETRY_NS;
}
