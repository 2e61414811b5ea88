/*
 * fast_unwind.c: an x86_64 stack walker driven by .eh_frame, with a per-ip
 * rule cache. libunwind (unwind.c) stays the fallback for everything this
 * walker does not understand.
 *
 * Per frame the walker needs three facts about the return address it stands
 * on: where the CFA is (rsp+off or rbp+off), that the return address sits at
 * CFA-8, and whether the caller's rbp was saved at CFA-8k. Those are decoded
 * from the module's FDE once (slow, the "miss" path) and packed with the ip
 * into one 64-bit cache word, so a warm walk is a hash, a load and two stack
 * reads per frame.
 *
 * Safety: this runs inside the host on every traced allocation.
 *  - Stack reads stay inside [rsp at capture, top of this thread's stack);
 *    the CFA must grow strictly and stay 8-aligned. Any violation: fall back.
 *  - .eh_frame reads stay inside the PT_LOAD segment that holds the module's
 *    .eh_frame_hdr, and only for modules the agent thread has seen through
 *    dl_iterate_phdr (the hook path never takes the loader lock).
 *  - No malloc, no locks, no syscalls on the hook path. Tables are mmap'd by
 *    whoever calls sl_fast_unwind_refresh (session start, agent thread).
 *  - A miss (decoding a rule) first checks dl_iterate_phdr's unload counter:
 *    if any module was unloaded since the table was built, the capture goes
 *    to libunwind, so a dlclose'd module's table is never read.
 */
#include "agent.h"

#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

extern void *__libc_stack_end;   /* ld.so: the initial stack pointer (argc) */

/* ---- registers of the caller of sl_fu_regs ---------------------------- */

struct fu_regs {
    uintptr_t sp, ip, bp;
};
/* Fills r with the caller's state as it will be right after this call
 * returns: sp above the return address, ip = that return address. Written
 * in assembly so no compiler choice (frame pointer, inlining) can shift it. */
void sl_fu_regs(struct fu_regs *r);
__asm__(".text\n"
        ".p2align 4\n"
        ".globl sl_fu_regs\n"
        ".hidden sl_fu_regs\n"
        ".type sl_fu_regs,@function\n"
        "sl_fu_regs:\n"
        "    leaq 8(%rsp), %rax\n"
        "    movq %rax, 0(%rdi)\n"
        "    movq (%rsp), %rax\n"
        "    movq %rax, 8(%rdi)\n"
        "    movq %rbp, 16(%rdi)\n"
        "    ret\n"
        ".size sl_fu_regs, .-sl_fu_regs\n");

/* ---- module table: append-only, entries immutable once published ------ */

struct fu_module {
    uintptr_t text_lo, text_hi;   /* span of the executable PT_LOADs */
    uintptr_t seg_lo, seg_hi;     /* the PT_LOAD holding .eh_frame_hdr: all reads stay here */
    uintptr_t hdr;                /* .eh_frame_hdr */
    uintptr_t table;              /* its sorted (initial_loc, fde) sdata4 pairs */
    uint32_t count;
    _Atomic uint32_t dead;        /* set when the module may have gone (dlclose) */
    uintptr_t base;               /* dlpi_addr, to recognise it on a rescan */
    const void *phdr;
};

#define FU_TAB_CAP 4096u
struct fu_modtab {
    _Atomic uint32_t count;       /* entries [0, count) are complete (release/acquire) */
    struct fu_module m[FU_TAB_CAP];
};

static struct fu_modtab *_Atomic modtab;
static uint64_t seen_adds, seen_subs;
static _Atomic int refreshing;

/* ---- rule cache ------------------------------------------------------- *
 * 2^15 sets of 2 words. A word: [0,32) ip >> 15, [32,40) generation,
 * [40,42) kind, [42,56) CFA offset / 8, [56,60) rbp slot k (saved at
 * CFA-8k, 0 = not saved), bit 60 valid. The set index is
 * (ip ^ ip >> 15) & mask, so tag + set give back every bit of the ip: a
 * word read whole (one aligned 64-bit load) either matches or not, it can
 * never be half of another ip's rule. */
#define FU_SETS (1u << 15)
#define FU_KEY_MASK (((1ull << 40) - 1) | (1ull << 60))
#define FU_VALID (1ull << 60)

enum { FU_CFA_RSP = 0, FU_CFA_RBP = 1, FU_OUTERMOST = 2, FU_UNSUPPORTED = 3 };

static _Atomic uint64_t *cache;
static _Atomic uint32_t generation;   /* low 8 bits go into the words */
static _Atomic int fu_on;   /* enum sl_fu_mode */

int sl_fast_unwind_mode(void) { return atomic_load_explicit(&fu_on, memory_order_relaxed); }
static struct fu_memo *memo;
void sl_fast_unwind_set_mode(int mode) { atomic_store(&fu_on, cache && memo && modtab ? mode : SL_FU_OFF); }

static inline uint32_t set_of(uintptr_t ip) { return (uint32_t)((ip ^ (ip >> 15)) & (FU_SETS - 1)); }

static inline uint64_t key_of(uintptr_t ip, uint32_t gen)
{
    return (uint64_t)(ip >> 15) | ((uint64_t)(gen & 0xff) << 32) | FU_VALID;
}

static inline uint64_t make_rule(unsigned kind, uint64_t off8, unsigned k)
{
    return ((uint64_t)kind << 40) | (off8 << 42) | ((uint64_t)k << 56);
}

/* ---- bounded reads of .eh_frame data ------------------------------------ */

struct rd {
    uintptr_t p, lo, hi;
    int bad;
};

static inline int rd_ok(struct rd *r, uintptr_t n)
{
    if (r->bad || r->p < r->lo || r->p > r->hi || r->hi - r->p < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static uint8_t rd_u8(struct rd *r)
{
    if (!rd_ok(r, 1))
        return 0;
    return *(const uint8_t *)r->p++;
}

static uint64_t rd_fixed(struct rd *r, unsigned n)
{
    if (!rd_ok(r, n))
        return 0;
    uint64_t v = 0;
    memcpy(&v, (const void *)r->p, n);
    r->p += n;
    return v;
}

static uint64_t rd_uleb(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = rd_u8(r);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t rd_sleb(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        if (shift >= 64) {
            r->bad = 1;
            return 0;
        }
        b = rd_u8(r);
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= ~0ull << shift;
    return (int64_t)v;
}

/* DW_EH_PE_* pointers: the forms GCC and clang emit (abs/pcrel/datarel with
 * udata/sdata 2/4/8). indirect, aligned, textrel, funcrel: unsupported. */
static uintptr_t rd_enc(struct rd *r, uint8_t enc, uintptr_t datarel)
{
    if (enc == 0xff)   /* DW_EH_PE_omit */
        return 0;
    uintptr_t at = r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: v = rd_fixed(r, 8); break;
    case 0x01: v = rd_uleb(r); break;
    case 0x02: v = rd_fixed(r, 2); break;
    case 0x03: v = rd_fixed(r, 4); break;
    case 0x04: v = rd_fixed(r, 8); break;
    case 0x09: v = (uint64_t)rd_sleb(r); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;
    case 0x0c: v = rd_fixed(r, 8); break;
    default: r->bad = 1; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += at; break;
    case 0x30: v += datarel; break;
    default: r->bad = 1; return 0;
    }
    if (enc & 0x80)
        r->bad = 1;
    return (uintptr_t)v;
}

/* ---- CFA program interpretation ----------------------------------------- */

enum { R_SAME = 0, R_OFFSET = 1, R_UNDEF = 2, R_OTHER = 3 };

struct fu_state {
    int cfa_reg;        /* DWARF number: 7 rsp, 6 rbp */
    int64_t cfa_off;
    int cfa_expr;       /* DW_CFA_def_cfa_expression seen */
    uint8_t rbp_how, ra_how;
    int64_t rbp_off, ra_off;
};

struct fu_cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    int has_z;
    uintptr_t insns, insns_end;
};

#define DW_RBP 6
#define DW_RSP 7

static void set_reg(struct fu_state *s, uint64_t reg, uint8_t how, int64_t off, uint64_t ra_reg)
{
    if (reg == DW_RBP) {
        s->rbp_how = how;
        s->rbp_off = off;
    } else if (reg == ra_reg) {
        s->ra_how = how;
        s->ra_off = off;
    } else if (reg == DW_RSP && how != R_SAME) {
        s->cfa_expr = 1;   /* an explicit rule for rsp: not the plain CFA model */
    }
    /* Other callee-saved registers do not matter to a walk that only needs
     * rsp, rbp and the return address. */
}

/* Runs [p, end) until the location passes `target`. Returns 0 or -1. */
/* DW_CFA_restore(_extended): back to the CIE's initial rule for reg. Only
 * rbp and the return address are tracked. Returns 0 outside an FDE (no
 * initial rules to go back to). */
static int restore_reg(struct fu_state *s, const struct fu_state *init, uint64_t reg, uint64_t ra_reg)
{
    if (!init)
        return 0;
    if (reg == DW_RBP)
        s->rbp_how = init->rbp_how, s->rbp_off = init->rbp_off;
    else if (reg == ra_reg)
        s->ra_how = init->ra_how, s->ra_off = init->ra_off;
    return 1;
}

static int run_cfa(struct rd *r, uintptr_t end, const struct fu_cie *c, struct fu_state *s,
                   const struct fu_state *init, uintptr_t loc, uintptr_t target, int in_cie)
{
    struct fu_state stack[8];
    int depth = 0;
    r->hi = end < r->hi ? end : r->hi;
    while (!r->bad && r->p < end) {
        uint8_t op = rd_u8(r);
        uint64_t reg, delta = 0;
        int64_t off;
        switch (op >> 6) {
        case 1: delta = (op & 0x3f) * c->code_align; goto advance;
        case 2:
            reg = op & 0x3f;
            off = (int64_t)rd_uleb(r) * c->data_align;
            set_reg(s, reg, R_OFFSET, off, c->ra_reg);
            continue;
        case 3:
            if (!restore_reg(s, init, op & 0x3f, c->ra_reg))
                return -1;
            continue;
        default: break;
        }
        switch (op) {
        case 0x00: continue;                                          /* nop */
        case 0x01: {                                                  /* set_loc */
            uintptr_t nl = rd_enc(r, c->fde_enc, 0);
            if (in_cie || nl < loc)
                return -1;
            if (nl > target)
                return 0;
            loc = nl;
            continue;
        }
        case 0x02: delta = rd_u8(r) * c->code_align; goto advance;
        case 0x03: delta = rd_fixed(r, 2) * c->code_align; goto advance;
        case 0x04: delta = rd_fixed(r, 4) * c->code_align; goto advance;
        case 0x05:                                                    /* offset_extended */
            reg = rd_uleb(r);
            off = (int64_t)rd_uleb(r) * c->data_align;
            set_reg(s, reg, R_OFFSET, off, c->ra_reg);
            continue;
        case 0x06:                                                    /* restore_extended */
            if (!restore_reg(s, init, rd_uleb(r), c->ra_reg))
                return -1;
            continue;
        case 0x07: set_reg(s, rd_uleb(r), R_UNDEF, 0, c->ra_reg); continue;   /* undefined */
        case 0x08: set_reg(s, rd_uleb(r), R_SAME, 0, c->ra_reg); continue;    /* same_value */
        case 0x09:                                                    /* register */
            reg = rd_uleb(r);
            (void)rd_uleb(r);
            set_reg(s, reg, R_OTHER, 0, c->ra_reg);
            continue;
        case 0x0a:                                                    /* remember_state */
            if (depth == 8)
                return -1;
            stack[depth++] = *s;
            continue;
        case 0x0b:                                                    /* restore_state */
            if (depth == 0)
                return -1;
            /* DWARF: the CFA rule is part of the remembered row too. */
            *s = stack[--depth];
            continue;
        case 0x0c:                                                    /* def_cfa */
            s->cfa_reg = (int)rd_uleb(r);
            s->cfa_off = (int64_t)rd_uleb(r);
            s->cfa_expr = 0;
            continue;
        case 0x0d: s->cfa_reg = (int)rd_uleb(r); s->cfa_expr = 0; continue;   /* def_cfa_register */
        case 0x0e: s->cfa_off = (int64_t)rd_uleb(r); continue;                /* def_cfa_offset */
        case 0x0f:                                                    /* def_cfa_expression */
            s->cfa_expr = 1;
            r->p += rd_uleb(r);
            continue;
        case 0x10:                                                    /* expression */
        case 0x16:                                                    /* val_expression */
            reg = rd_uleb(r);
            set_reg(s, reg, R_OTHER, 0, c->ra_reg);
            r->p += rd_uleb(r);
            continue;
        case 0x11:                                                    /* offset_extended_sf */
            reg = rd_uleb(r);
            off = rd_sleb(r) * c->data_align;
            set_reg(s, reg, R_OFFSET, off, c->ra_reg);
            continue;
        case 0x12:                                                    /* def_cfa_sf */
            s->cfa_reg = (int)rd_uleb(r);
            s->cfa_off = rd_sleb(r) * c->data_align;
            s->cfa_expr = 0;
            continue;
        case 0x13: s->cfa_off = rd_sleb(r) * c->data_align; continue; /* def_cfa_offset_sf */
        case 0x14:                                                    /* val_offset */
            reg = rd_uleb(r);
            (void)rd_uleb(r);
            set_reg(s, reg, R_OTHER, 0, c->ra_reg);
            continue;
        case 0x15:                                                    /* val_offset_sf */
            reg = rd_uleb(r);
            (void)rd_sleb(r);
            set_reg(s, reg, R_OTHER, 0, c->ra_reg);
            continue;
        case 0x2e: (void)rd_uleb(r); continue;                        /* GNU_args_size */
        case 0x2f:                                                    /* GNU_negative_offset_extended */
            reg = rd_uleb(r);
            off = -(int64_t)rd_uleb(r) * c->data_align;
            set_reg(s, reg, R_OFFSET, off, c->ra_reg);
            continue;
        default: return -1;
        }
    advance:
        if (in_cie)
            return -1;
        if (loc + delta > target)
            return 0;
        loc += delta;
    }
    return r->bad ? -1 : 0;
}

/* Parse the CIE at `at` (bounded by m's segment). 0 or -1. */
static int parse_cie(const struct fu_module *m, uintptr_t at, struct fu_cie *c)
{
    struct rd r = {at, m->seg_lo, m->seg_hi, 0};
    uint32_t len = (uint32_t)rd_fixed(&r, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    uintptr_t end = r.p + len;
    if (rd_fixed(&r, 4) != 0)   /* CIE id */
        return -1;
    uint8_t version = rd_u8(&r);
    if (version != 1 && version != 3)
        return -1;
    char aug[8];
    unsigned n = 0;
    for (;;) {
        uint8_t ch = rd_u8(&r);
        if (r.bad || n == sizeof aug)
            return -1;
        aug[n++] = (char)ch;
        if (!ch)
            break;
    }
    c->code_align = rd_uleb(&r);
    c->data_align = rd_sleb(&r);
    c->ra_reg = version == 1 ? rd_u8(&r) : rd_uleb(&r);
    c->fde_enc = 0;
    c->has_z = aug[0] == 'z';
    if (c->has_z) {
        uint64_t alen = rd_uleb(&r);
        uintptr_t aend = r.p + alen;
        for (unsigned i = 1; aug[i]; i++) {
            switch (aug[i]) {
            case 'R': c->fde_enc = rd_u8(&r); break;
            case 'L': (void)rd_u8(&r); break;              /* LSDA lives in the FDE's data */
            case 'P': {
                uint8_t penc = rd_u8(&r);
                /* The personality pointer may be indirect: skip its bytes only. */
                (void)rd_enc(&r, (uint8_t)(penc & 0x7f), m->hdr);
                break;
            }
            default: return -1;   /* 'S' (signal frame), 'B', unknown: libunwind's job */
            }
        }
        if (r.bad || aend > end)
            return -1;
        r.p = aend;
    } else if (aug[0]) {
        return -1;
    }
    if (r.bad || end > m->seg_hi || r.p > end)
        return -1;
    c->insns = r.p;
    c->insns_end = end;
    return 0;
}

/* Rule for `ip` (already a call-site address: return address minus one) in
 * module m. Returns the packed rule (kind/offset/rbp slot, no key bits). */
static uint64_t decode_rule(const struct fu_module *m, uintptr_t ip)
{
    const uint64_t unsupported = make_rule(FU_UNSUPPORTED, 0, 0);
    /* Binary search for the last entry with initial_loc <= ip. */
    const int32_t *t = (const int32_t *)m->table;
    uint32_t lo = 0, hi = m->count;
    if (!hi)
        return unsupported;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->hdr + (intptr_t)t[2 * mid] <= ip)
            lo = mid;
        else
            hi = mid;
    }
    if (m->hdr + (intptr_t)t[2 * lo] > ip)
        return unsupported;
    uintptr_t fde = m->hdr + (intptr_t)t[2 * lo + 1];

    struct rd r = {fde, m->seg_lo, m->seg_hi, 0};
    uint32_t len = (uint32_t)rd_fixed(&r, 4);
    if (len == 0 || len == 0xffffffffu)
        return unsupported;
    uintptr_t end = r.p + len;
    uintptr_t cie_ptr_at = r.p;
    uint32_t cie_off = (uint32_t)rd_fixed(&r, 4);
    if (r.bad || cie_off == 0)
        return unsupported;
    struct fu_cie c;
    if (parse_cie(m, cie_ptr_at - cie_off, &c) != 0)
        return unsupported;
    uintptr_t pc_begin = rd_enc(&r, c.fde_enc, m->hdr);
    uintptr_t pc_range = rd_enc(&r, (uint8_t)(c.fde_enc & 0x0f), 0);
    if (r.bad || ip < pc_begin || ip - pc_begin >= pc_range)
        return unsupported;
    if (c.has_z)
        r.p += rd_uleb(&r);
    if (r.bad || end > m->seg_hi || r.p > end)
        return unsupported;

    struct fu_state s = {.cfa_reg = -1, .rbp_how = R_SAME, .ra_how = R_SAME};
    struct rd ci = {c.insns, m->seg_lo, m->seg_hi, 0};
    if (run_cfa(&ci, c.insns_end, &c, &s, NULL, 0, 0, 1) != 0)
        return unsupported;
    struct fu_state init = s;
    if (run_cfa(&r, end, &c, &s, &init, pc_begin, ip, 0) != 0)
        return unsupported;

    if (s.ra_how == R_UNDEF)
        return make_rule(FU_OUTERMOST, 0, 0);   /* _start, clone3: the last frame */
    if (s.cfa_expr || (s.cfa_reg != DW_RSP && s.cfa_reg != DW_RBP))
        return unsupported;
    if (s.ra_how != R_OFFSET || s.ra_off != -8)
        return unsupported;
    if (s.cfa_off < 8 || (s.cfa_off & 7) || (s.cfa_off >> 3) >= (1 << 14))
        return unsupported;
    unsigned k = 0;
    if (s.rbp_how == R_OFFSET) {
        if (s.rbp_off >= 0 || (s.rbp_off & 7) || -s.rbp_off / 8 > 15)
            return unsupported;
        k = (unsigned)(-s.rbp_off / 8);
    } else if (s.rbp_how != R_SAME) {
        return unsupported;
    }
    return make_rule(s.cfa_reg == DW_RBP ? FU_CFA_RBP : FU_CFA_RSP, (uint64_t)(s.cfa_off >> 3), k);
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

/* Miss path: find the module, decode, cache. Returns the packed rule. */
static __attribute__((noinline)) uint64_t fill(uintptr_t ip, uint32_t gen)
{
    uint64_t rule = make_rule(FU_UNSUPPORTED, 0, 0);
    /* A module unloaded since the table was built may have left a record
     * whose .eh_frame is gone, and its range may hold another module now:
     * then this capture goes to libunwind until the agent thread has caught
     * up. The check takes the loader lock, as libunwind does on every
     * lookup; it is paid on misses only. The module holding ip itself cannot
     * go away: this thread is executing it. */
    uint64_t c[2] = {0, 0};
    dl_iterate_phdr(counters_cb, c);
    if (c[1] != __atomic_load_n(&seen_subs, __ATOMIC_ACQUIRE))
        return rule;
    struct fu_modtab *tab = atomic_load_explicit(&modtab, memory_order_acquire);
    uint32_t n = atomic_load_explicit(&tab->count, memory_order_acquire);
    int found = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct fu_module *m = &tab->m[i];
        if (ip >= m->text_lo && ip < m->text_hi && !atomic_load_explicit(&m->dead, memory_order_relaxed)) {
            rule = decode_rule(m, ip);
            found = 1;
            break;
        }
    }
    /* Not cached: ips past 47 bits (no room in the tag), and ips in no known
     * module (a dlopen the agent thread has not seen yet must not stay
     * "unsupported" once it has). */
    if (!found || (ip >> 47))
        return rule;
    _Atomic uint64_t *set = cache + 2 * set_of(ip);
    uint64_t w0 = atomic_load_explicit(&set[0], memory_order_relaxed);
    uint64_t key = key_of(ip, gen);
    /* Way 0 if it is empty or stale, else way 1 (most recent fill wins). */
    int way = ((w0 & FU_VALID) && ((w0 >> 32) & 0xff) == (gen & 0xff)) ? 1 : 0;
    atomic_store_explicit(&set[way], key | rule, memory_order_relaxed);
    return rule;
}

static inline uint64_t lookup(uintptr_t ip, uint32_t gen)
{
    _Atomic uint64_t *set = cache + 2 * set_of(ip);
    uint64_t key = key_of(ip, gen);
    uint64_t w = atomic_load_explicit(&set[0], memory_order_relaxed);
    if (SL_LIKELY((w & FU_KEY_MASK) == key))
        return w;
    w = atomic_load_explicit(&set[1], memory_order_relaxed);
    if (SL_LIKELY((w & FU_KEY_MASK) == key))
        return w;
    return fill(ip, gen);
}

/* ---- the walk ------------------------------------------------------------ */

#define FU_MAX_THREAD_STACK (256ull << 20)
#define FU_MAX_MAIN_STACK (4ull << 30)

/* One frame of the rule walk: from (ip, sp, bp) to the caller's. Returns
 * 1 (moved), 0 (outermost or return address 0: the walk is over) or -1
 * (needs libunwind). *w gets the rule used. */
static inline int step(uintptr_t *ip, uintptr_t *sp, uintptr_t *bp, uintptr_t top, uint32_t gen, uint64_t *w)
{
    /* Every ip here is a return address: its rule is the call's. */
    uint64_t rule = lookup(*ip - 1, gen);
    *w = rule;
    unsigned kind = (unsigned)(rule >> 40) & 3;
    if (SL_UNLIKELY(kind >= FU_OUTERMOST))
        return kind == FU_OUTERMOST ? 0 : -1;
    uintptr_t cfa = (kind == FU_CFA_RBP ? *bp : *sp) + (uintptr_t)(((rule >> 42) & 0x3fff) << 3);
    if (SL_UNLIKELY(cfa <= *sp || cfa > top || (cfa & 7)))
        return -1;
    unsigned k = (unsigned)(rule >> 56) & 15;
    if (k) {
        uintptr_t at = cfa - 8 * k;
        if (SL_UNLIKELY(at < *sp || at > cfa))
            return -1;
        *bp = *(const uintptr_t *)at;
    }
    *ip = *(const uintptr_t *)(cfa - 8);
    *sp = cfa;
    return *ip ? 1 : 0;
}

/* ---- path memo -------------------------------------------------------------
 * Even cached, a rule walk is a dependent chain per frame: load the return
 * address, hash it, load its rule, add the offset, load the next one. But
 * where every frame's CFA is rsp-based, the CFA offsets from the first
 * caller's sp are a function of the ips alone. So the last walk from each
 * leaf ip is remembered as (ip, CFA - sp0, rbp slot) per frame, and the next
 * walk from that leaf only checks that each remembered return address is on
 * the stack where it was: independent loads the CPU overlaps. At the first
 * difference it goes on with the rule walk. Slots are written under a
 * per-slot sequence number (writers that lose the race skip the write,
 * readers that see it move redo the walk): no thread ever waits. */
#define FU_MEMO_SLOTS 1024u
#define FU_MEMO_FRAMES 64u

struct fu_memo_frame {
    uint64_t ip;
    uint32_t cfa_rel;   /* this frame's CFA - sp0 */
    uint32_t k;         /* rbp restored from CFA - 8k (0: not) */
};

struct fu_memo {
    _Atomic uint64_t seq;   /* odd while being written */
    uint32_t gen, n;
    struct fu_memo_frame f[FU_MEMO_FRAMES];
};

static inline uint64_t rd64(const void *p) { return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED); }
static inline uint32_t rd32(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED); }

static void memo_write(struct fu_memo *m, uint32_t gen, const struct fu_memo_frame *f, uint32_t n)
{
    uint64_t s = atomic_load_explicit(&m->seq, memory_order_relaxed);
    if ((s & 1) || !atomic_compare_exchange_strong(&m->seq, &s, s + 1))
        return;   /* someone else is writing it: theirs is as good */
    atomic_thread_fence(memory_order_release);
    __atomic_store_n(&m->gen, gen, __ATOMIC_RELAXED);
    __atomic_store_n(&m->n, n, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < n; i++) {
        __atomic_store_n(&m->f[i].ip, f[i].ip, __ATOMIC_RELAXED);
        __atomic_store_n(&m->f[i].cfa_rel, f[i].cfa_rel, __ATOMIC_RELAXED);
        __atomic_store_n(&m->f[i].k, f[i].k, __ATOMIC_RELAXED);
    }
    atomic_store_explicit(&m->seq, s + 2, memory_order_release);
}

int sl_fast_unwind(uint64_t *ips, uint32_t max, uint32_t skip_max, uint32_t *depth)
{
    *depth = 0;
    struct fu_regs r;
    sl_fu_regs(&r);
    uintptr_t sp = r.sp, ip = r.ip, bp = r.bp;
    uint64_t w;

    /* Top of this stack. A pthread's descriptor (fs base) sits right above
     * its stack, user-supplied stacks included; the main thread's stack
     * ends at __libc_stack_end. Anything else (sigaltstack, fibers):
     * libunwind. */
    uintptr_t top, self = (uintptr_t)pthread_self();
    uintptr_t main_top = (uintptr_t)__libc_stack_end;
    if (sp < self && self - sp <= FU_MAX_THREAD_STACK)
        top = self;
    else if (sp < main_top && main_top - sp <= FU_MAX_MAIN_STACK)
        top = main_top;
    else
        return -1;

    uint32_t gen = atomic_load_explicit(&generation, memory_order_acquire);
    /* The agent's own frames (hook, emit, capture, this): walked, not kept. */
    for (uint32_t skipped = 0; sl_in_agent(ip); skipped++) {
        if (skipped >= skip_max)
            return -1;
        int st = step(&ip, &sp, &bp, top, gen, &w);
        if (st <= 0)
            return st;   /* an agent frame the outermost: nothing to keep */
    }
    if (!max)
        return 0;

    const uintptr_t sp0 = sp, ip0 = ip, bp0 = bp;
    struct fu_memo_frame rec[FU_MEMO_FRAMES];
    uint32_t d = 0;                 /* frames stored in ips (and rec) */
    uint32_t rsp_run = 0;           /* rec[0, rsp_run) are memo material */
    int rsp_only = 1;
    uint32_t had = 0;               /* frames the memo vouched for */

    struct fu_memo *m = &memo[(uint32_t)((ip0 >> 4) ^ (ip0 >> 14)) & (FU_MEMO_SLOTS - 1)];
    uint64_t s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
    uint32_t mn = rd32(&m->n);
    if (!(s1 & 1) && rd32(&m->gen) == gen && mn && mn <= FU_MEMO_FRAMES && rd64(&m->f[0].ip) == ip0) {
        /* Frame i's return address must be at sp0 + rel_i - 8 and equal the
         * memo's ip of frame i + 1. */
        uint32_t lim = mn < max ? mn : max;
        uintptr_t mip = ip0, msp = sp0, mbp = bp0;
        uint32_t i = 0;
        for (;;) {
            ips[i] = mip;
            rec[i].ip = mip;
            uint32_t rel = rd32(&m->f[i].cfa_rel), k = rd32(&m->f[i].k);
            rec[i].cfa_rel = rel;
            rec[i].k = k;
            uintptr_t cfa = sp0 + rel;
            if (cfa <= msp || cfa > top || (cfa & 7) || k > 15)
                break;   /* torn or stale: the rule walk redoes it */
            if (k && cfa - 8 * k < msp)
                break;
            uintptr_t ra = *(const uintptr_t *)(cfa - 8);
            if (k)
                mbp = *(const uintptr_t *)(cfa - 8 * k);
            msp = cfa;
            i++;
            if (i == lim || !ra || ra != rd64(&m->f[i].ip)) {
                mip = ra;
                break;
            }
            mip = ra;
        }
        atomic_thread_fence(memory_order_acquire);
        if (i && atomic_load_explicit(&m->seq, memory_order_relaxed) == s1) {
            /* Frames [0, i) are right; resume after frame i - 1. */
            d = had = rsp_run = i;
            ip = mip;
            sp = msp;
            bp = mbp;
        }
    }
    if (d == 0) {
        ip = ip0;
        sp = sp0;
        bp = bp0;
    }
    *depth = d;
    if (d && (d >= max || !ip))
        goto done;

    /* The rule walk from frame d on. */
    for (;;) {
        ips[d] = ip;
        int st = step(&ip, &sp, &bp, top, gen, &w);
        if (rsp_only && st > 0 && ((w >> 40) & 3) == FU_CFA_RSP && d < FU_MEMO_FRAMES && sp - sp0 < UINT32_MAX) {
            rec[d].ip = ips[d];
            rec[d].cfa_rel = (uint32_t)(sp - sp0);
            rec[d].k = (uint32_t)(w >> 56) & 15;
            rsp_run = d + 1;
        } else {
            rsp_only = 0;
        }
        d++;
        *depth = d;
        if (st < 0)
            return -1;
        if (st == 0 || d >= max)
            break;
    }
done:
    /* Remember the rsp-only prefix if it says more than the memo did. */
    if (rsp_run > had)
        memo_write(m, gen, rec, rsp_run);
    return 0;
}

/* ---- module discovery (init, agent thread) ------------------------------- */

struct scan {
    struct fu_modtab *tab;
    int full_rescan;
};

static int have_live(struct fu_modtab *tab, uint32_t n, uintptr_t base, const void *phdr)
{
    for (uint32_t i = 0; i < n; i++)
        if (tab->m[i].base == base && tab->m[i].phdr == phdr && !atomic_load(&tab->m[i].dead))
            return 1;
    return 0;
}

static int add_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct scan *sc = data;
    struct fu_modtab *tab = sc->tab;
    uint32_t n = atomic_load(&tab->count);
    if (n >= FU_TAB_CAP || have_live(tab, n, info->dlpi_addr, info->dlpi_phdr))
        return 0;
    struct fu_module m;
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
    /* .eh_frame_hdr: version 1, eh_frame_ptr, fde_count, then the table,
     * which must be datarel|sdata4 for the binary search. */
    struct rd r = {hdr, m.seg_lo, m.seg_hi, 0};
    uint8_t version = rd_u8(&r), ptr_enc = rd_u8(&r), cnt_enc = rd_u8(&r), tab_enc = rd_u8(&r);
    if (version != 1 || tab_enc != 0x3b)
        return 0;
    (void)rd_enc(&r, ptr_enc, hdr);
    uint64_t count = rd_enc(&r, cnt_enc, hdr);
    if (r.bad || count == 0 || count > (m.seg_hi - r.p) / 8)
        return 0;
    m.hdr = hdr;
    m.table = r.p;
    m.count = (uint32_t)count;
    m.base = info->dlpi_addr;
    m.phdr = info->dlpi_phdr;
    tab->m[n] = m;
    atomic_store_explicit(&tab->count, n + 1, memory_order_release);
    return 0;
}


static void *map_zero(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Catch up with dlopen/dlclose. Not for the hook path (dl_iterate_phdr
 * takes the loader lock). Returns 0 or errno. */
int sl_fast_unwind_refresh(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&refreshing, &expect, 1))
        return 0;   /* someone else is at it */
    int e = 0;
    if (!cache)
        cache = map_zero(FU_SETS * 2 * sizeof(uint64_t));
    if (!memo)
        memo = map_zero(FU_MEMO_SLOTS * sizeof(struct fu_memo));
    if (!cache || !memo)
        e = ENOMEM;
    uint64_t c[2] = {0, 0};
    dl_iterate_phdr(counters_cb, c);
    struct fu_modtab *tab = atomic_load(&modtab);
    if (!e && (!tab || c[0] != seen_adds || c[1] != seen_subs)) {
        int removed = !tab || c[1] != seen_subs;
        if (!tab || (removed && atomic_load(&tab->count) + 1024 > FU_TAB_CAP)) {
            /* New table; the old one stays mapped for readers still in it. */
            struct fu_modtab *nt = map_zero(sizeof *nt);
            if (!nt) {
                e = ENOMEM;
                goto out;
            }
            struct scan sc = {nt, 1};
            dl_iterate_phdr(add_cb, &sc);
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
            struct scan sc = {tab, removed};
            dl_iterate_phdr(add_cb, &sc);
        }
        if (removed) {
            /* Cached rules of unloaded code must not apply to whatever gets
             * mapped there next: a new generation misses them all. */
            uint32_t g = atomic_fetch_add(&generation, 1) + 1;
            if ((g & 0xff) == 0)
                memset((void *)cache, 0, FU_SETS * 2 * sizeof(uint64_t));
        }
        seen_adds = c[0];
        __atomic_store_n(&seen_subs, c[1], __ATOMIC_RELEASE);   /* read by the miss path */
    }
out:
    atomic_store(&refreshing, 0);
    return e;
}

/* Cheap enough for every agent-thread loop: one dl_iterate_phdr callback. */
void sl_fast_unwind_poll(void)
{
    if (!atomic_load_explicit(&fu_on, memory_order_relaxed))
        return;
    uint64_t c[2] = {0, 0};
    dl_iterate_phdr(counters_cb, c);
    if (c[0] != seen_adds || c[1] != seen_subs)
        (void)sl_fast_unwind_refresh();
}

int sl_fast_unwind_init(void)
{
    /* SWIFTLEAK_UNWINDER: "libunwind" (everything through libunwind, for
     * comparison), "fast-only" (tests: never fall back, keep the frames
     * found), anything else: fast with fallback. */
    const char *u = getenv("SWIFTLEAK_UNWINDER");
    int mode = SL_FU_FAST;
    if (u && strcmp(u, "libunwind") == 0)
        mode = SL_FU_OFF;
    else if (u && strcmp(u, "fast-only") == 0)
        mode = SL_FU_FAST_ONLY;
    if (mode == SL_FU_OFF) {
        atomic_store(&fu_on, SL_FU_OFF);
        return 0;
    }
    int e = sl_fast_unwind_refresh();
    sl_fast_unwind_set_mode(e == 0 ? mode : SL_FU_OFF);
    return e;
}
