/*
 * t_eh_frame.c: the agent's CFA interpreter (Sources/Agent/eh_frame.c),
 * linked into the harness and fed hand-made CIE/FDE bytes: each test
 * checks the row it computes at chosen addresses, or that it refuses.
 *
 * The bytes follow the layout GCC and clang emit for x86_64: code
 * alignment 1, data alignment -8, return address in DWARF register 16.
 */
#include "harness.h"

#include "eh_frame.h"

#include <string.h>

/* DWARF call-frame instructions used below. */
enum {
    ADVANCE = 0x40,   /* | delta */
    OFFSET = 0x80,    /* | reg, uleb factored offset */
    RESTORE = 0xc0,   /* | reg */
    ADVANCE1 = 0x02,
    UNDEFINED = 0x07,
    REMEMBER = 0x0a,
    RESTORE_STATE = 0x0b,
    DEF_CFA = 0x0c,
    DEF_CFA_REGISTER = 0x0d,
    DEF_CFA_OFFSET = 0x0e,
    DEF_CFA_EXPRESSION = 0x0f,
    OFFSET_EXTENDED_SF = 0x11,
    DEF_CFA_SF = 0x12,
};
#define RA 16
#define PCREL_SDATA4 0x1b

/* A buffer of .eh_frame bytes; its addresses are real, so reads of it are
 * the reads the agent does. */
struct eh {
    _Alignas(8) unsigned char b[1024];
    size_t n;
};

static void put(struct eh *e, const void *p, size_t n)
{
    memcpy(e->b + e->n, p, n);
    e->n += n;
}
static void u8(struct eh *e, uint8_t v) { put(e, &v, 1); }
static void u32(struct eh *e, uint32_t v) { put(e, &v, 4); }
static void u64(struct eh *e, uint64_t v) { put(e, &v, 8); }
static uintptr_t addr(const struct eh *e, size_t off) { return (uintptr_t)e->b + off; }
static struct sl_eh_span span(const struct eh *e) { return (struct sl_eh_span){addr(e, 0), addr(e, e->n)}; }

/* Length fields count the bytes after themselves. */
static void patch_length(struct eh *e, size_t at)
{
    uint32_t len = (uint32_t)(e->n - at - 4);
    memcpy(e->b + at, &len, 4);
}

/* A CIE; with aug "zR" its FDEs use fde_enc, with "" absolute 8-byte
 * pointers. Returns its offset. */
static size_t cie(struct eh *e, uint8_t version, const char *aug, uint8_t fde_enc, const uint8_t *insns, size_t n)
{
    size_t at = e->n;
    u32(e, 0);
    u32(e, 0);   /* CIE id */
    u8(e, version);
    put(e, aug, strlen(aug) + 1);
    u8(e, 1);      /* code alignment, uleb */
    u8(e, 0x78);   /* data alignment -8, sleb */
    u8(e, RA);
    if (aug[0] == 'z') {
        u8(e, strchr(aug, 'R') ? 1 : 0);   /* augmentation data length */
        if (strchr(aug, 'R'))
            u8(e, fde_enc);
    }
    put(e, insns, n);
    patch_length(e, at);
    return at;
}

/* The CIE of typical x86_64 code: CFA = rsp + 8, return address at CFA - 8. */
static const uint8_t entry_rules[] = {DEF_CFA, 7, 8, OFFSET | RA, 1};

/* An FDE of the CIE at cie_at for [pc, pc + range): pointers as the CIE
 * says (enc 0: absolute 8 bytes, or pcrel|sdata4), and the augmentation
 * data length when the CIE's augmentation starts with 'z'. Returns its
 * offset. */
static size_t fde(struct eh *e, size_t cie_at, const char *aug, uint8_t enc, uintptr_t pc, uint32_t range,
                  const uint8_t *insns, size_t n)
{
    size_t at = e->n;
    u32(e, 0);
    u32(e, (uint32_t)(e->n - cie_at));   /* back to the CIE from this field */
    if (enc == PCREL_SDATA4) {
        u32(e, (uint32_t)(int32_t)(pc - addr(e, e->n)));
        u32(e, range);
    } else {
        u64(e, pc);
        u64(e, range);
    }
    if (aug[0] == 'z')
        u8(e, 0);   /* augmentation data length */
    put(e, insns, n);
    patch_length(e, at);
    return at;
}

/* The row at ip, checked against the expected CFA and rbp/ra rules. */
static void expect_row(const struct eh *e, size_t fde_at, uintptr_t ip, int cfa_reg, int64_t cfa_off, uint8_t rbp_how,
                       int64_t rbp_off, uint8_t ra_how)
{
    struct sl_cfa_row row;
    int rc = sl_eh_row_at(addr(e, fde_at), span(e), addr(e, 0), ip, &row);
    CHECK(rc == 0, "ip %#lx: refused", (unsigned long)ip);
    if (rc != 0)
        return;
    CHECK(!row.cfa_expr && row.cfa_reg == cfa_reg && row.cfa_off == cfa_off, "ip %#lx: CFA r%d%+lld (expr %d), want r%d%+lld",
          (unsigned long)ip, row.cfa_reg, (long long)row.cfa_off, row.cfa_expr, cfa_reg, (long long)cfa_off);
    CHECK(row.rbp_how == rbp_how && (rbp_how != SL_CFA_OFFSET || row.rbp_off == rbp_off),
          "ip %#lx: rbp rule %u at %lld, want %u at %lld", (unsigned long)ip, row.rbp_how, (long long)row.rbp_off, rbp_how,
          (long long)rbp_off);
    CHECK(row.ra_how == ra_how && (ra_how != SL_CFA_OFFSET || row.ra_off == -8), "ip %#lx: return address rule %u at %lld",
          (unsigned long)ip, row.ra_how, (long long)row.ra_off);
}

static int refused(const struct eh *e, size_t fde_at, struct sl_eh_span sp, uintptr_t ip)
{
    struct sl_cfa_row row;
    return sl_eh_row_at(addr(e, fde_at), sp, addr(e, 0), ip, &row) == -1;
}

#define PC 0x401000u

/* push rbp; mov rsp, rbp; ... leave; ret: the frame-pointer prologue. */
void t_eh_frame_prologue(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    size_t c = cie(&e, 1, "", 0, entry_rules, sizeof entry_rules);
    static const uint8_t body[] = {
        ADVANCE | 1, DEF_CFA_OFFSET, 16, OFFSET | 6, 2,   /* after push rbp */
        ADVANCE | 3, DEF_CFA_REGISTER, 6,                 /* after mov rsp, rbp */
        ADVANCE1, 0x30, DEF_CFA, 7, 8, RESTORE | 6,      /* after leave */
    };
    size_t f = fde(&e, c, "", 0, PC, 0x40, body, sizeof body);
    expect_row(&e, f, PC, 7, 8, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 1, 7, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 3, 7, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 4, 6, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 0x33, 6, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 0x34, 7, 8, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 0x3f, 7, 8, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    CHECK(refused(&e, f, span(&e), PC + 0x40), "an ip past the FDE's range");
    CHECK(refused(&e, f, span(&e), PC - 1), "an ip before the FDE's range");
}

/* remember/restore_state (the CFA rule comes back too), the signed forms,
 * and an expression CFA. */
void t_eh_frame_states(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    size_t c = cie(&e, 3, "", 0, entry_rules, sizeof entry_rules);
    static const uint8_t body[] = {
        ADVANCE | 1, DEF_CFA_OFFSET, 16, OFFSET | 6, 2, REMEMBER,
        ADVANCE | 1, DEF_CFA_OFFSET, 32, OFFSET_EXTENDED_SF, 6, 3,    /* rbp at 3 * -8 */
        ADVANCE | 1, RESTORE_STATE,
        ADVANCE | 1, DEF_CFA_EXPRESSION, 2, 0x77, 8,                  /* DW_OP_breg7 8 */
        ADVANCE | 1, DEF_CFA_SF, 7, 0x7e,                             /* rsp + -2 * -8 */
    };
    size_t f = fde(&e, c, "", 0, PC, 0x10, body, sizeof body);
    expect_row(&e, f, PC + 1, 7, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 2, 7, 32, SL_CFA_OFFSET, -24, SL_CFA_OFFSET);
    expect_row(&e, f, PC + 3, 7, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
    struct sl_cfa_row row;
    CHECK(sl_eh_row_at(addr(&e, f), span(&e), addr(&e, 0), PC + 4, &row) == 0 && row.cfa_expr,
          "an expression CFA must be flagged");
    expect_row(&e, f, PC + 5, 7, 16, SL_CFA_OFFSET, -16, SL_CFA_OFFSET);
}

/* _start and thread entry points mark the return address undefined. */
void t_eh_frame_outermost(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    size_t c = cie(&e, 1, "", 0, entry_rules, sizeof entry_rules);
    static const uint8_t body[] = {UNDEFINED, RA};
    size_t f = fde(&e, c, "", 0, PC, 0x20, body, sizeof body);
    expect_row(&e, f, PC + 0x10, 7, 8, SL_CFA_SAME, 0, SL_CFA_UNDEF);
}

/* What it does not understand, or what would read out of bounds: -1. */
void t_eh_frame_refusals(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    size_t plain = cie(&e, 1, "", 0, entry_rules, sizeof entry_rules);

    static const uint8_t unknown_op[] = {ADVANCE | 1, 0x1d};
    size_t f = fde(&e, plain, "", 0, PC, 0x10, unknown_op, sizeof unknown_op);
    CHECK(refused(&e, f, span(&e), PC + 1), "an unknown opcode");
    expect_row(&e, f, PC, 7, 8, SL_CFA_SAME, 0, SL_CFA_OFFSET);   /* before it: fine */

    static const uint8_t lone_restore[] = {RESTORE_STATE};
    f = fde(&e, plain, "", 0, PC, 0x10, lone_restore, sizeof lone_restore);
    CHECK(refused(&e, f, span(&e), PC), "restore_state without remember_state");

    size_t signal_frame = cie(&e, 1, "zS", 0, entry_rules, sizeof entry_rules);
    static const uint8_t none[] = {0};
    f = fde(&e, signal_frame, "zS", 0, PC, 0x10, none, 0);
    CHECK(refused(&e, f, span(&e), PC), "a signal-frame CIE is libunwind's");

    size_t version2 = cie(&e, 2, "", 0, entry_rules, sizeof entry_rules);
    f = fde(&e, version2, "", 0, PC, 0x10, none, 0);
    CHECK(refused(&e, f, span(&e), PC), "CIE version 2");

    static const uint8_t restore_in_cie[] = {DEF_CFA, 7, 8, OFFSET | RA, 1, RESTORE | 6};
    size_t bad_cie = cie(&e, 1, "", 0, restore_in_cie, sizeof restore_in_cie);
    f = fde(&e, bad_cie, "", 0, PC, 0x10, none, 0);
    CHECK(refused(&e, f, span(&e), PC), "DW_CFA_restore in a CIE (nothing to restore to)");

    static const uint8_t body[] = {ADVANCE | 1, DEF_CFA_OFFSET, 16};
    f = fde(&e, plain, "", 0, PC, 0x10, body, sizeof body);
    expect_row(&e, f, PC + 1, 7, 16, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    struct sl_eh_span cut = {addr(&e, 0), addr(&e, e.n - 2)};
    CHECK(refused(&e, f, cut, PC + 1), "an FDE running past the readable span");
    cut.lo = addr(&e, f);
    CHECK(refused(&e, f, cut, PC + 1), "a CIE outside the readable span");
}

/* What GCC emits: "zR" with pcrel|sdata4 addresses. */
void t_eh_frame_pcrel(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    size_t c = cie(&e, 1, "zR", PCREL_SDATA4, entry_rules, sizeof entry_rules);
    uintptr_t pc = addr(&e, 0) + 0x10000;   /* near the table, as code is */
    static const uint8_t body[] = {ADVANCE | 4, DEF_CFA_OFFSET, 48};   /* sub $40, %rsp */
    size_t f = fde(&e, c, "zR", PCREL_SDATA4, pc, 0x80, body, sizeof body);
    expect_row(&e, f, pc + 3, 7, 8, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    expect_row(&e, f, pc + 4, 7, 48, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    expect_row(&e, f, pc + 0x7f, 7, 48, SL_CFA_SAME, 0, SL_CFA_OFFSET);
    CHECK(refused(&e, f, span(&e), pc + 0x80), "past the pcrel range");
}

/* .eh_frame_hdr's binary-search table finds the FDE covering an ip. */
void t_eh_frame_hdr(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    enum { FDES = 3 };
    size_t hdr = e.n;
    u8(&e, 1);              /* version */
    u8(&e, PCREL_SDATA4);   /* eh_frame_ptr encoding */
    u8(&e, 0x03);           /* fde_count: udata4 */
    u8(&e, 0x3b);           /* table: datarel|sdata4 */
    u32(&e, 0);             /* eh_frame_ptr (unused) */
    u32(&e, FDES);
    size_t table = e.n;
    e.n += FDES * 8;
    size_t c = cie(&e, 1, "", 0, entry_rules, sizeof entry_rules);
    uintptr_t base = addr(&e, hdr), pcs[FDES];
    size_t fdes[FDES];
    for (int i = 0; i < FDES; i++) {
        pcs[i] = base + 0x10000 + 0x100 * (uintptr_t)i;
        const uint8_t body[] = {DEF_CFA_OFFSET, (uint8_t)(16 * (i + 1))};   /* tells the FDEs apart */
        fdes[i] = fde(&e, c, "", 0, pcs[i], 0x80, body, sizeof body);
        int32_t pair[2] = {(int32_t)(pcs[i] - base), (int32_t)(addr(&e, fdes[i]) - base)};
        memcpy(e.b + table + 8 * (size_t)i, pair, sizeof pair);
    }
    uintptr_t found_table = 0;
    uint32_t count = 0;
    CHECK(sl_eh_hdr_table(base, span(&e), &found_table, &count) == 0, "header refused");
    CHECK(found_table == addr(&e, table) && count == FDES, "table at +%ld, %u entries",
          (long)(found_table - base), count);
    for (int i = 0; i < FDES; i++) {
        CHECK(sl_eh_find_fde(base, found_table, count, pcs[i]) == addr(&e, fdes[i]), "FDE %d at its first byte", i);
        CHECK(sl_eh_find_fde(base, found_table, count, pcs[i] + 0x10) == addr(&e, fdes[i]), "FDE %d not found", i);
        expect_row(&e, fdes[i], pcs[i] + 0x10, 7, 16 * (i + 1), SL_CFA_SAME, 0, SL_CFA_OFFSET);
    }
    CHECK(sl_eh_find_fde(base, found_table, count, pcs[0] - 1) == 0, "an ip below every FDE");
    CHECK(sl_eh_find_fde(base, found_table, count, pcs[1] + 0xf0) == addr(&e, fdes[1]),
          "the gap after FDE 1 maps to it (its range check refuses)");
    CHECK(refused(&e, fdes[1], span(&e), pcs[1] + 0xf0), "an ip in the gap between FDEs");
    e.b[hdr + 3] = PCREL_SDATA4;
    CHECK(sl_eh_hdr_table(base, span(&e), &found_table, &count) == -1, "a table not datarel|sdata4");
}

/* r14 (Swift's async context register), as a Swift async partial function
 * saves it: push rbp; push r14; ... pop r14 (restore). async_frames.c
 * recovers the context through this rule. */
void t_eh_frame_r14(void)
{
    static struct eh e;
    memset(&e, 0, sizeof e);
    size_t c = cie(&e, 1, "", 0, entry_rules, sizeof entry_rules);
    static const uint8_t body[] = {
        ADVANCE | 1, DEF_CFA_OFFSET, 16, OFFSET | 6, 2,    /* after push rbp */
        ADVANCE | 2, DEF_CFA_OFFSET, 24, OFFSET | 14, 3,   /* after push r14 */
        ADVANCE | 8, DEF_CFA_OFFSET, 16, RESTORE | 14,     /* after pop r14 */
    };
    size_t f = fde(&e, c, "", 0, PC, 0x20, body, sizeof body);
    struct sl_cfa_row row;
    CHECK(sl_eh_row_at(addr(&e, f), span(&e), addr(&e, 0), PC + 1, &row) == 0 && row.r14_how == SL_CFA_SAME,
          "r14 untouched before its push");
    CHECK(sl_eh_row_at(addr(&e, f), span(&e), addr(&e, 0), PC + 4, &row) == 0 && row.r14_how == SL_CFA_OFFSET &&
              row.r14_off == -24 && row.rbp_how == SL_CFA_OFFSET && row.rbp_off == -16,
          "r14 saved at CFA-24, rbp at CFA-16: got r14 rule %u at %lld", row.r14_how, (long long)row.r14_off);
    CHECK(sl_eh_row_at(addr(&e, f), span(&e), addr(&e, 0), PC + 12, &row) == 0 && row.r14_how == SL_CFA_SAME,
          "r14 restored to the CIE's rule after its pop");
}
