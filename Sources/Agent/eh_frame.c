/*
 * eh_frame.c: the .eh_frame reader and CFA interpreter (see eh_frame.h).
 *
 * Covers what GCC and clang emit for x86_64 code: CIE versions 1 and 3 with
 * "z", "R", "L", "P" augmentations, the common pointer encodings, and every
 * CFA instruction but the expression forms, which only mark the row as not
 * register + offset. Signal frames ("S") and anything unknown are refused.
 */
#include "eh_frame.h"

#include <string.h>

/* ---- bounded reads ------------------------------------------------------ */

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

/* ---- CIE and CFA programs ----------------------------------------------- */

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    int has_z;
    uintptr_t insns, insns_end;
};

static void set_reg(struct sl_cfa_row *s, uint64_t reg, uint8_t how, int64_t off, uint64_t ra_reg)
{
    if (reg == SL_DW_RBP) {
        s->rbp_how = how;
        s->rbp_off = off;
    } else if (reg == ra_reg) {
        s->ra_how = how;
        s->ra_off = off;
    } else if (reg == SL_DW_R14) {
        s->r14_how = how;
        s->r14_off = off;
    } else if (reg == SL_DW_RSP && how != SL_CFA_SAME) {
        s->cfa_expr = 1;   /* an explicit rule for rsp: not the plain CFA model */
    }
    /* Other callee-saved registers do not matter to a walk that only needs
     * rsp, rbp, the return address and (async_frames.c) r14. */
}

/* DW_CFA_restore(_extended): back to the CIE's initial rule for reg. Only
 * rbp, r14 and the return address are tracked. Returns 0 outside an FDE (no
 * initial rules to go back to). */
static int restore_reg(struct sl_cfa_row *s, const struct sl_cfa_row *init, uint64_t reg, uint64_t ra_reg)
{
    if (!init)
        return 0;
    if (reg == SL_DW_RBP)
        s->rbp_how = init->rbp_how, s->rbp_off = init->rbp_off;
    else if (reg == ra_reg)
        s->ra_how = init->ra_how, s->ra_off = init->ra_off;
    else if (reg == SL_DW_R14)
        s->r14_how = init->r14_how, s->r14_off = init->r14_off;
    return 1;
}

/* Runs [r->p, end) (the CIE's initial instructions when in_cie, else an FDE's
 * from location `loc`) until the location passes `target`. Returns 0 or -1. */
static int run_cfa(struct rd *r, uintptr_t end, const struct cie *c, struct sl_cfa_row *s,
                   const struct sl_cfa_row *init, uintptr_t loc, uintptr_t target, int in_cie)
{
    struct sl_cfa_row stack[8];
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
            set_reg(s, reg, SL_CFA_OFFSET, off, c->ra_reg);
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
            set_reg(s, reg, SL_CFA_OFFSET, off, c->ra_reg);
            continue;
        case 0x06:                                                    /* restore_extended */
            if (!restore_reg(s, init, rd_uleb(r), c->ra_reg))
                return -1;
            continue;
        case 0x07: set_reg(s, rd_uleb(r), SL_CFA_UNDEF, 0, c->ra_reg); continue;   /* undefined */
        case 0x08: set_reg(s, rd_uleb(r), SL_CFA_SAME, 0, c->ra_reg); continue;    /* same_value */
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
            set_reg(s, reg, SL_CFA_OTHER, 0, c->ra_reg);
            r->p += rd_uleb(r);
            continue;
        case 0x11:                                                    /* offset_extended_sf */
            reg = rd_uleb(r);
            off = rd_sleb(r) * c->data_align;
            set_reg(s, reg, SL_CFA_OFFSET, off, c->ra_reg);
            continue;
        case 0x12:                                                    /* def_cfa_sf */
            s->cfa_reg = (int)rd_uleb(r);
            s->cfa_off = rd_sleb(r) * c->data_align;
            s->cfa_expr = 0;
            continue;
        case 0x13: s->cfa_off = rd_sleb(r) * c->data_align; continue; /* def_cfa_offset_sf */
        case 0x09:                                                    /* register */
        case 0x14:                                                    /* val_offset */
            reg = rd_uleb(r);
            (void)rd_uleb(r);
            set_reg(s, reg, SL_CFA_OTHER, 0, c->ra_reg);
            continue;
        case 0x15:                                                    /* val_offset_sf */
            reg = rd_uleb(r);
            (void)rd_sleb(r);
            set_reg(s, reg, SL_CFA_OTHER, 0, c->ra_reg);
            continue;
        case 0x2e: (void)rd_uleb(r); continue;                        /* GNU_args_size */
        case 0x2f:                                                    /* GNU_negative_offset_extended */
            reg = rd_uleb(r);
            off = -(int64_t)rd_uleb(r) * c->data_align;
            set_reg(s, reg, SL_CFA_OFFSET, off, c->ra_reg);
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

/* Parse the CIE at `at`. 0 or -1. */
static int parse_cie(uintptr_t at, struct sl_eh_span span, uintptr_t datarel, struct cie *c)
{
    struct rd r = {at, span.lo, span.hi, 0};
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
                (void)rd_enc(&r, (uint8_t)(penc & 0x7f), datarel);
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
    if (r.bad || end > span.hi || r.p > end)
        return -1;
    c->insns = r.p;
    c->insns_end = end;
    return 0;
}

/* Rule for `ip` (already a call-site address: return address minus one) in
 * module m. Returns the packed rule (kind/offset/rbp slot, no key bits). */

/* ---- the public entry points -------------------------------------------- */

int sl_eh_hdr_table(uintptr_t hdr, struct sl_eh_span span, uintptr_t *table, uint32_t *count)
{
    /* version 1, eh_frame_ptr, fde_count, then the table, which must be
     * datarel|sdata4 for the binary search. */
    struct rd r = {hdr, span.lo, span.hi, 0};
    uint8_t version = rd_u8(&r), ptr_enc = rd_u8(&r), cnt_enc = rd_u8(&r), tab_enc = rd_u8(&r);
    if (version != 1 || tab_enc != 0x3b)
        return -1;
    (void)rd_enc(&r, ptr_enc, hdr);
    uint64_t n = rd_enc(&r, cnt_enc, hdr);
    if (r.bad || n == 0 || n > (span.hi - r.p) / 8)
        return -1;
    *table = r.p;
    *count = (uint32_t)n;
    return 0;
}

uintptr_t sl_eh_find_fde(uintptr_t hdr, uintptr_t table, uint32_t count, uintptr_t ip)
{
    /* Binary search for the last entry with initial_loc <= ip. */
    const int32_t *t = (const int32_t *)table;
    uint32_t lo = 0, hi = count;
    if (!hi)
        return 0;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (hdr + (intptr_t)t[2 * mid] <= ip)
            lo = mid;
        else
            hi = mid;
    }
    if (hdr + (intptr_t)t[2 * lo] > ip)
        return 0;
    return hdr + (intptr_t)t[2 * lo + 1];
}

int sl_eh_row_at(uintptr_t fde, struct sl_eh_span span, uintptr_t datarel, uintptr_t ip, struct sl_cfa_row *row)
{
    struct rd r = {fde, span.lo, span.hi, 0};
    uint32_t len = (uint32_t)rd_fixed(&r, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    uintptr_t end = r.p + len;
    uintptr_t cie_ptr_at = r.p;
    uint32_t cie_off = (uint32_t)rd_fixed(&r, 4);
    if (r.bad || cie_off == 0)
        return -1;
    struct cie c;
    if (parse_cie(cie_ptr_at - cie_off, span, datarel, &c) != 0)
        return -1;
    uintptr_t pc_begin = rd_enc(&r, c.fde_enc, datarel);
    uintptr_t pc_range = rd_enc(&r, (uint8_t)(c.fde_enc & 0x0f), 0);
    if (r.bad || ip < pc_begin || ip - pc_begin >= pc_range)
        return -1;
    if (c.has_z)
        r.p += rd_uleb(&r);
    if (r.bad || end > span.hi || r.p > end)
        return -1;

    struct sl_cfa_row s = {.cfa_reg = -1, .rbp_how = SL_CFA_SAME, .ra_how = SL_CFA_SAME, .r14_how = SL_CFA_SAME};
    struct rd ci = {c.insns, span.lo, span.hi, 0};
    if (run_cfa(&ci, c.insns_end, &c, &s, NULL, 0, 0, 1) != 0)
        return -1;
    struct sl_cfa_row init = s;
    if (run_cfa(&r, end, &c, &s, &init, pc_begin, ip, 0) != 0)
        return -1;
    *row = s;
    return 0;
}
