/*
 * eh_frame.h: reading x86_64 .eh_frame unwind tables: the .eh_frame_hdr
 * search table, CIE and FDE parsing, and the CFA program interpreter that
 * turns an FDE into the unwind row at one address.
 *
 * Pure functions over memory the caller vouches for: every read stays inside
 * the span it is given, nothing is allocated, no lock, no syscall, so they
 * may run on the hook path (fast_unwind.c calls them on a rule-cache miss).
 * Anything they do not understand is an error (-1), never a guess: the
 * caller then leaves the frame to libunwind.
 */
#ifndef SWIFTLEAK_EH_FRAME_H
#define SWIFTLEAK_EH_FRAME_H

#include <stdint.h>

/* DWARF register numbers of x86_64 the walker cares about. */
#define SL_DW_RBP 6
#define SL_DW_RSP 7
#define SL_DW_R14 14   /* Swift's async context register (async_frames.c) */

/* Readable memory every table read must stay inside: [lo, hi). */
struct sl_eh_span {
    uintptr_t lo, hi;
};

/* How a register of the caller is recovered. */
enum sl_cfa_how {
    SL_CFA_SAME = 0,     /* unchanged (same value) */
    SL_CFA_OFFSET = 1,   /* saved at CFA + off */
    SL_CFA_UNDEF = 2,    /* undefined: for the return address, the outermost frame */
    SL_CFA_OTHER = 3,    /* another register, an expression, a value rule */
};

/* One row of the unwind table: where the CFA is, and how rbp, r14 and the
 * return address are recovered. Other callee-saved registers are not
 * tracked: a walk that only needs rsp, rbp and the return address ignores
 * them; r14 is kept for the walk that recovers Swift's async context. */
struct sl_cfa_row {
    int cfa_reg;         /* DWARF number: 7 rsp, 6 rbp; -1 before any def_cfa */
    int64_t cfa_off;
    int cfa_expr;        /* not register + offset (an expression, or an explicit rsp rule) */
    uint8_t rbp_how, ra_how, r14_how;   /* enum sl_cfa_how */
    int64_t rbp_off, ra_off, r14_off;   /* for SL_CFA_OFFSET */
};

/* The binary-search table of the .eh_frame_hdr at `hdr`: 0 with *table and
 * *count set, or -1 (not version 1, or not the datarel|sdata4 table). */
int sl_eh_hdr_table(uintptr_t hdr, struct sl_eh_span span, uintptr_t *table, uint32_t *count);

/* The FDE whose initial location is the last one <= ip in that table (its
 * range is checked by sl_eh_row_at), or 0 when ip is below them all. */
uintptr_t sl_eh_find_fde(uintptr_t hdr, uintptr_t table, uint32_t count, uintptr_t ip);

/* The row in effect at `ip` in the FDE at `fde`: its CIE's initial
 * instructions, then the FDE's, up to ip. `datarel` is the base of
 * DW_EH_PE_datarel pointers (the .eh_frame_hdr). 0, or -1 when ip is outside
 * the FDE or anything is malformed or unsupported. */
int sl_eh_row_at(uintptr_t fde, struct sl_eh_span span, uintptr_t datarel, uintptr_t ip, struct sl_cfa_row *row);

#endif
