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
 * reads per frame. The decoding itself is eh_frame.c's; the modules it
 * reads are unwind_modules.c's; this file is the cache and the walk.
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

#include "async_frames.h"
#include "eh_frame.h"
#include "python_frames.h"   /* pyfast: sl_py_capture, the memo key's anchor */
#include "unwind_modules.h"

#include <emmintrin.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
_Atomic uint32_t sl_fu_generation;   /* low 8 bits go into the words (agent.h) */
static _Atomic int fu_on;   /* enum sl_fu_mode */

int sl_fast_unwind_mode(void) { return atomic_load_explicit(&fu_on, memory_order_relaxed); }
static struct fu_memo *memo;

/* The walk ends at the first frame whose ip lies in [stop_lo, stop_lo +
 * stop_span): set once, before tracing, by python_frames.c to CPython's
 * eval loop, whose callers' Python frames are read from the frame chain
 * (sl_python_merge), so the interpreter's native frames under it need no
 * walk. stop_span 0: no stop. */
static _Atomic uintptr_t stop_lo, stop_span;

static void new_generation(void);

void sl_fast_unwind_stop_at(uintptr_t lo, uintptr_t span)
{
    atomic_store_explicit(&stop_span, 0, memory_order_relaxed);
    atomic_store_explicit(&stop_lo, lo, memory_order_relaxed);
    atomic_store_explicit(&stop_span, span, memory_order_relaxed);
    /* Path memos recorded without this stop would vouch for stacks that
     * the Python merge rewrites: a new generation misses them all. */
    if (cache)
        new_generation();
}

/* The stop as one walk sees it: read once per walk (relaxed; a walk that
 * sees it late just walks on, as before it was set), not once per frame. */
struct fu_stop {
    uintptr_t lo, span;
};

static inline struct fu_stop stop_now(void)
{
    return (struct fu_stop){atomic_load_explicit(&stop_lo, memory_order_relaxed),
                            atomic_load_explicit(&stop_span, memory_order_relaxed)};
}

static inline int is_stop(struct fu_stop stop, uintptr_t ip) { return ip - stop.lo < stop.span; }
static _Atomic int refreshing;
void sl_fast_unwind_set_mode(int mode)
{
    atomic_store(&fu_on, cache && memo && sl_modules_ready() ? mode : SL_FU_OFF);
    /* What was remembered from fast walks need not be what libunwind finds. */
    if (cache)
        new_generation();
}

static inline uint32_t set_of(uintptr_t ip) { return (uint32_t)((ip ^ (ip >> 15)) & (FU_SETS - 1)); }

static inline uint64_t key_of(uintptr_t ip, uint32_t gen)
{
    return (uint64_t)(ip >> 15) | ((uint64_t)(gen & 0xff) << 32) | FU_VALID;
}

static inline uint64_t make_rule(unsigned kind, uint64_t off8, unsigned k)
{
    return ((uint64_t)kind << 40) | (off8 << 42) | ((uint64_t)k << 56);
}

/* Rule for `ip` (already a call-site address: return address minus one) in
 * module m. Returns the packed rule (kind/offset/rbp slot, no key bits). */
static uint64_t decode_rule(const struct sl_unwind_module *m, uintptr_t ip)
{
    const uint64_t unsupported = make_rule(FU_UNSUPPORTED, 0, 0);
    uintptr_t fde = sl_eh_find_fde(m->hdr, m->table, m->count, ip);
    struct sl_cfa_row s;
    if (!fde || sl_eh_row_at(fde, (struct sl_eh_span){m->seg_lo, m->seg_hi}, m->hdr, ip, &s) != 0)
        return unsupported;

    if (s.ra_how == SL_CFA_UNDEF)
        return make_rule(FU_OUTERMOST, 0, 0);   /* _start, clone3: the last frame */
    if (s.cfa_expr || (s.cfa_reg != SL_DW_RSP && s.cfa_reg != SL_DW_RBP))
        return unsupported;
    if (s.ra_how != SL_CFA_OFFSET || s.ra_off != -8)
        return unsupported;
    if (s.cfa_off < 8 || (s.cfa_off & 7) || (s.cfa_off >> 3) >= (1 << 14))
        return unsupported;
    unsigned k = 0;
    if (s.rbp_how == SL_CFA_OFFSET) {
        if (s.rbp_off >= 0 || (s.rbp_off & 7) || -s.rbp_off / 8 > 15)
            return unsupported;
        k = (unsigned)(-s.rbp_off / 8);
    } else if (s.rbp_how != SL_CFA_SAME) {
        return unsupported;
    }
    return make_rule(s.cfa_reg == SL_DW_RBP ? FU_CFA_RBP : FU_CFA_RSP, (uint64_t)(s.cfa_off >> 3), k);
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
    if (sl_modules_unloaded_since_scan())
        return rule;
    const struct sl_unwind_module *m = sl_modules_find(ip);
    /* Not cached: ips in no known module (a dlopen the agent thread has not
     * seen yet must not stay "unsupported" once it has), and ips past 47
     * bits (no room in the tag). */
    if (!m)
        return rule;
    rule = decode_rule(m, ip);
    if (ip >> 47)
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
 * address, hash it, load its rule, add the offset, load the next one. But a
 * frame's rule is a function of its ip, so the last walk from each leaf ip
 * and its caller's is remembered: per frame its ip, its CFA - sp0 and how
 * the CFA and rbp were found. Where the walk ran to its end (the outermost
 * frame, the frame limit or a stop), the memo holds the whole result, and a
 * walk from the same pair first checks it whole, without walking: each
 * remembered return address is on the stack where it was, and each rbp an
 * rbp-based frame's CFA comes from holds what it held. Those are
 * independent loads the CPU overlaps, and the check is exactly what the
 * rule walk would find, frame-pointer frames included: the frame-pointer
 * walk, confirmed by the unwind tables. Otherwise the memo is replayed
 * frame by frame to its first difference, and the rule walk goes on; its
 * result replaces a stale way of the set, else each way in turn.
 * Slots are written under a per-slot sequence number (writers that lose the
 * race skip the write, readers that see it move redo the walk): no thread
 * ever waits. */
#define FU_MEMO_SLOTS 4096u
#define FU_MEMO_WAYS 4u     /* slots per set: one set per leaf, caller and stack depth */
#define FU_MEMO_FRAMES 64u

struct fu_memo_frame {
    uint64_t ip;
    uint32_t cfa_rel;   /* this frame's CFA - sp0 */
    uint32_t how;       /* FU_HOW_*: rbp slot, and the rbp offset of an rbp-based CFA */
};

/* how: [0,4) rbp restored from CFA - 8k (0: not), [4,18) CFA - rbp in
 * words, bit 31 the CFA is rbp-based. */
#define FU_HOW_RBP (1u << 31)

static inline uint32_t how_of(uint64_t rule)
{
    uint32_t how = (uint32_t)(rule >> 56) & 15;
    if (((rule >> 40) & 3) == FU_CFA_RBP)
        how |= FU_HOW_RBP | ((uint32_t)(rule >> 42) & 0x3fff) << 4;
    return how;
}

static inline uint32_t rbp_offset(uint32_t how) { return ((how >> 4) & 0x3fff) << 3; }

/* The whole-path check of one frame: the 16 bytes below its CFA, [the
 * word at CFA - 16, the return address], minus [sp0 - the memo's sp0, 0],
 * must equal want in the lanes of mask. The first lane checks the rbp the
 * next frame's CFA comes from, where this frame saved it at CFA - 16 (code
 * built with frame pointers: every frame), so both checks cost one load.
 * The rbp is kept as it was at the memo's sp0, not relative to it: a loop
 * that allocates from one depth (the common case) finds its stack where
 * it was, and compares without the subtraction. */
struct fu_frame_check {
    __m128i want;   /* [rbp at the memo's sp0, return address] */
    __m128i mask;   /* [~0 if the rbp is checked here else 0, ~0] */
};

/* Any other rbp-based frame's CFA: the rbp it comes from, the word at
 * sp0 + at that an earlier frame saved, must be sp0 + want. */
#define FU_MEMO_RBP_CHECKS 16u
struct fu_rbp_check {
    uint32_t at;
    int32_t want;
};

/* flags */
#define FU_MEMO_STOP 1u   /* the walk ended at the stop frame: the Python merge rewrites it */
#define FU_MEMO_BP0 2u    /* an rbp-based frame's rbp is the one at the first frame: bp0 - sp0 == bp0_want */
#define FU_MEMO_RA_ONLY 4u   /* no frame's first lane is checked: the whole-path check compares return addresses only */

struct fu_memo {
    _Atomic uint64_t seq;   /* odd while being written */
    uint32_t gen;
    uint32_t n;             /* frames the walk moved on from: ips[0, n], rel, how [0, n) */
    uint32_t whole;         /* 0, or the walk's whole depth (n + 1), made with limit max */
    uint32_t max;
    uint32_t nrbp;          /* rbp checks of the whole path */
    uint32_t flags;
    int32_t bp0_want;
    uint32_t full_lanes;    /* chk[0, full_lanes) check both lanes: no mask to apply */
    /* (tag << 32) | the stack id this path was interned as (stacks.c):
     * any value is harmless, an untagged one is only a candidate. */
    _Atomic uint64_t stack_id;
    uint64_t ip0;
    uint64_t sp0;           /* the walk's sp0: chk's rbps are as they were there */
    struct fu_frame_check chk[FU_MEMO_FRAMES];   /* chk[i]'s return address: ips[i + 1] */
    uint64_t ra[FU_MEMO_FRAMES];   /* the same return addresses in a row, for the check without rbp lanes */
    uint32_t rel[FU_MEMO_FRAMES];   /* CFA - sp0 */
    uint32_t how[FU_MEMO_FRAMES];
    struct fu_rbp_check rbp[FU_MEMO_RBP_CHECKS];
};

static inline uint64_t rd64(const void *p) { return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED); }
static inline uint32_t rd32(const void *p) { return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED); }
static inline void wr64(void *p, uint64_t v) { __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); }
static inline void wr32(void *p, uint32_t v) { __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED); }

/* A walk as recorded for the memo: ips[0, n] and, per frame moved on
 * from, rel and how; whole and flags as in struct fu_memo. */
struct fu_walk {
    const uint64_t *ips;
    const uint32_t *rel, *how;
    uint32_t n, whole, flags;
    uint64_t sp0;
};

/* Writes w into m. Returns the new sequence number, or 0 when another
 * writer holds the slot (theirs is as good). */
static uint64_t memo_write(struct fu_memo *m, uint32_t gen, uint32_t max, struct fu_walk w)
{
    uint64_t s = atomic_load_explicit(&m->seq, memory_order_relaxed);
    if ((s & 1) || !atomic_compare_exchange_strong(&m->seq, &s, s + 1))
        return 0;
    atomic_thread_fence(memory_order_release);
    /* The rbp checks: which saved rbp each rbp-based CFA comes from. */
    uint32_t nrbp = 0;
    int64_t src = -1;      /* CFA-relative slot of the rbp in force; -1: bp0 */
    uint32_t src_frame = 0;
    int32_t bp0_want = 0;
    uint64_t lane[FU_MEMO_FRAMES];      /* rbp - sp0 checked in frame i's first lane */
    uint64_t lane_on[FU_MEMO_FRAMES];
    for (uint32_t i = 0; i < w.n; i++)
        lane_on[i] = lane[i] = 0;
    for (uint32_t i = 0; i < w.n; i++) {
        if (w.how[i] & FU_HOW_RBP) {
            int32_t want = (int32_t)((int64_t)w.rel[i] - rbp_offset(w.how[i]));
            if (src >= 0 && src == (int64_t)w.rel[src_frame] - 16 &&
                (!lane_on[src_frame] || lane[src_frame] == (uint64_t)(int64_t)want)) {
                lane[src_frame] = (uint64_t)(int64_t)want;
                lane_on[src_frame] = ~0ull;
            } else if (src >= 0 && nrbp < FU_MEMO_RBP_CHECKS) {
                wr64(&m->rbp[nrbp++], (uint64_t)(uint32_t)want << 32 | (uint32_t)src);
            } else if (src < 0 && (!(w.flags & FU_MEMO_BP0) || bp0_want == want)) {
                w.flags |= FU_MEMO_BP0;
                bp0_want = want;
            } else {
                w.whole = 0;   /* more checks than kept: do not vouch for it */
            }
        }
        if (w.how[i] & 15) {
            src = (int64_t)w.rel[i] - 8 * (w.how[i] & 15);
            src_frame = i;
        }
    }
    uint64_t lanes = 0;
    for (uint32_t i = 0; i < w.n; i++)
        lanes |= lane_on[i];
    if (!lanes)
        w.flags |= FU_MEMO_RA_ONLY;
    uint32_t full_lanes = 0;
    while (full_lanes < w.n && lane_on[full_lanes])
        full_lanes++;
    wr32(&m->gen, gen);
    wr32(&m->n, w.n);
    wr32(&m->whole, w.whole);
    wr32(&m->max, max);
    wr32(&m->nrbp, nrbp);
    wr32(&m->flags, w.flags);
    wr32(&m->bp0_want, (uint32_t)bp0_want);
    wr32(&m->full_lanes, full_lanes);
    atomic_store_explicit(&m->stack_id, 0, memory_order_relaxed);
    wr64(&m->ip0, w.ips[0]);
    wr64(&m->sp0, w.sp0);
    for (uint32_t i = 0; i < w.n; i++) {
        uint64_t *c = (uint64_t *)&m->chk[i];
        wr64(&c[0], lane[i] + (lane_on[i] & w.sp0));
        wr64(&c[1], w.ips[i + 1]);
        wr64(&m->ra[i], w.ips[i + 1]);
        wr64(&c[2], lane_on[i]);
        wr64(&c[3], ~0ull);
        wr32(&m->rel[i], w.rel[i]);
        wr32(&m->how[i], w.how[i]);
    }
    atomic_store_explicit(&m->seq, s + 2, memory_order_release);
    return s + 2;
}

/* Copies the first n 32-bit words of src (an array of FU_MEMO_FRAMES) in
 * groups of eight, without a call or a branch per word. */
static inline void copy_words32(uint32_t *dst, const uint32_t *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 8) {
        __m128i lo = _mm_loadu_si128((const __m128i *)(src + i)), hi = _mm_loadu_si128((const __m128i *)(src + i + 4));
        _mm_storeu_si128((__m128i *)(dst + i), lo);
        _mm_storeu_si128((__m128i *)(dst + i + 4), hi);
    }
}

/* One run of memo_whole_matches' frames with both lanes, ORing what
 * differs into bad: masked 0 where every frame of the run checks both
 * lanes, shifted 0 where the stack is where the memo saw it, fours_only 1
 * where the run is whole turns of four. Inlined with constants, so each
 * use is a loop of its own without the steps it skips. */
static inline __attribute__((always_inline)) __m128i frame_diff(__m128i v, const struct fu_frame_check *c, __m128i sub, const int masked,
                                                                const int shifted)
{
    if (shifted)
        v = _mm_sub_epi64(v, sub);
    v = _mm_xor_si128(v, c->want);
    return masked ? _mm_and_si128(v, c->mask) : v;
}

static inline __attribute__((always_inline)) __m128i check_frames(const unsigned char *base, const uint32_t *a, const uint32_t *end,
                                                                  const struct fu_frame_check *c, uint64_t *o, __m128i bad, __m128i sub,
                                                                  const int masked, const int shifted, const int fours_only)
{
    for (; a + 4 <= end; a += 4, c += 4, o += 4) {
        __m128i v0 = _mm_loadu_si128((const __m128i *)(base + a[0]));
        __m128i v1 = _mm_loadu_si128((const __m128i *)(base + a[1]));
        __m128i v2 = _mm_loadu_si128((const __m128i *)(base + a[2]));
        __m128i v3 = _mm_loadu_si128((const __m128i *)(base + a[3]));
        _mm_storeh_pd((double *)&o[0], _mm_castsi128_pd(v0));
        _mm_storeh_pd((double *)&o[1], _mm_castsi128_pd(v1));
        _mm_storeh_pd((double *)&o[2], _mm_castsi128_pd(v2));
        _mm_storeh_pd((double *)&o[3], _mm_castsi128_pd(v3));
        v0 = frame_diff(v0, &c[0], sub, masked, shifted);
        v1 = frame_diff(v1, &c[1], sub, masked, shifted);
        v2 = frame_diff(v2, &c[2], sub, masked, shifted);
        v3 = frame_diff(v3, &c[3], sub, masked, shifted);
        bad = _mm_or_si128(bad, _mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3)));
    }
    for (; !fours_only && a < end; a++, c++, o++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(base + a[0]));
        _mm_storeh_pd((double *)&o[0], _mm_castsi128_pd(v));
        bad = _mm_or_si128(bad, frame_diff(v, c, sub, masked, shifted));
    }
    return bad;
}

/* Whether m's whole path (n frames, nrbp rbp checks, read once by the
 * caller at sequence number s1) is on this stack from (sp0, bp0), span =
 * top - sp0; the return addresses found go to ips[1, n]. The offsets are
 * copied first and the copy validated by the sequence number, so it is a
 * real walk's: CFAs that grow from sp0 + 8, slots inside their frames. Then
 * the last CFA within the stack keeps every read in [sp0 - 8, top), and the
 * loads need no branch. The caller checks the sequence number once more for
 * the values compared. Out of line, so its loops keep to registers. */
/* No SLP vectorizing: it pairs the stores of ips through xmm registers, two
 * more instructions a frame for nothing. */
static __attribute__((noinline, optimize("no-tree-slp-vectorize"))) int memo_whole_matches(const struct fu_memo *m, uint64_t s1, uint32_t n, uint32_t nrbp,
                                                                                         uint32_t flags, uintptr_t sp0, uintptr_t bp0, uintptr_t span,
                                                                                         uint64_t *ips)
{
    uint32_t at[FU_MEMO_FRAMES];
    uint32_t rbp[2 * FU_MEMO_RBP_CHECKS];
    copy_words32(at, m->rel, n);
    copy_words32(rbp, (const uint32_t *)m->rbp, 2 * nrbp);
    const uint32_t full_lanes = rd32(&m->full_lanes);
    const uint64_t sp0_then = rd64(&m->sp0);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&m->seq, memory_order_relaxed) != s1 || at[0] < 8 || at[n - 1] > span)
        return 0;
    uint64_t worse = 0;
    if (flags & FU_MEMO_RA_ONLY) {
        /* Code without frame pointers: 8 bytes a frame, four frames a turn,
         * one index for the offsets, the stack's words, ips and the memo's. */
        const unsigned char *st = (const unsigned char *)sp0 - 8;
        const uint64_t *want = m->ra;
        uint64_t *o = ips + 1;
        uint32_t i = 0;
        for (; i + 4 <= n; i += 4) {
            uint64_t v0 = *(const uint64_t *)(st + at[i]), v1 = *(const uint64_t *)(st + at[i + 1]);
            uint64_t v2 = *(const uint64_t *)(st + at[i + 2]), v3 = *(const uint64_t *)(st + at[i + 3]);
            o[i] = v0;
            o[i + 1] = v1;
            o[i + 2] = v2;
            o[i + 3] = v3;
            worse |= (v0 ^ want[i]) | (v1 ^ want[i + 1]) | (v2 ^ want[i + 2]) | (v3 ^ want[i + 3]);
        }
        for (; i < n; i++) {
            uint64_t v = *(const uint64_t *)(st + at[i]);
            o[i] = v;
            worse |= v ^ want[i];
        }
    } else {
        /* the stack's own return addresses go to ips: no copy of the memo's, and no read of them torn */
        const unsigned char *base = (const unsigned char *)sp0 - 16;
        const uint64_t delta = sp0 - sp0_then;
        __m128i bad = _mm_setzero_si128();
        if (SL_LIKELY(delta == 0)) {
            /* whole turns of four without the mask, the rest with it */
            uint32_t full = (full_lanes < n ? full_lanes : n) & ~3u;
            bad = check_frames(base, at, at + full, m->chk, ips + 1, bad, _mm_setzero_si128(), 0, 0, 1);
            bad = check_frames(base, at + full, at + n, m->chk + full, ips + 1 + full, bad, _mm_setzero_si128(), 1, 0, 0);
        } else {
            bad = check_frames(base, at, at + n, m->chk, ips + 1, bad, _mm_set_epi64x(0, (int64_t)delta), 1, 1, 0);
        }
        worse = _mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())) != 0xffff;
    }
    for (uint32_t c = 0; c < nrbp; c++)
        worse |= (*(const uint64_t *)(sp0 + rbp[2 * c]) - sp0) ^ (uint64_t)(int64_t)(int32_t)rbp[2 * c + 1];
    if (flags & FU_MEMO_BP0)
        worse |= (bp0 - sp0) ^ (uint64_t)(int64_t)(int32_t)rd32(&m->bp0_want);
    return !worse;
}

/* ---- the agent's own frames ------------------------------------------------
 * A capture that does not start at the hook's caller (sl_emit_alloc
 * without a `from`: the Python allocator's wrappers; a hook called by the
 * agent itself) has between its capture point and the hook's caller the
 * same few agent frames every time (this function, sl_emit_alloc_at, a
 * wrapper): a handful of paths, about one per wrapper. Each is remembered once,
 * like a path memo, as (ip, CFA - sp at capture, how) per frame, and
 * replayed with the same checks: skipping them costs a few independent
 * loads instead of a rule lookup per frame. A slot is written once and never
 * changes (the agent's code does not move), so a reader needs no sequence
 * number: it reads a slot only once its state says ready. */
#define FU_AGENT_PATHS 8u
#define FU_AGENT_FRAMES 8u

enum { FU_PATH_EMPTY = 0, FU_PATH_WRITING = 1, FU_PATH_READY = 2 };

struct fu_agent_path {
    _Atomic uint32_t state;
    uint32_t n;
    struct fu_memo_frame f[FU_AGENT_FRAMES];
};

static struct fu_agent_path agent_paths[FU_AGENT_PATHS];

/* Replays path p from the capture point (ip, sp, bp). On a match, 1 with
 * (*ip, *sp, *bp) moved to the first frame outside the agent; else 0 and
 * nothing moved. */
static inline int agent_replay(const struct fu_agent_path *p, uintptr_t top, uintptr_t *ip, uintptr_t *sp, uintptr_t *bp)
{
    const uintptr_t sp_c = *sp;
    uintptr_t msp = sp_c, mbp = *bp, ra = 0;
    uint32_t n = p->n;
    if (p->f[0].ip != *ip)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct fu_memo_frame *f = &p->f[i];
        uintptr_t cfa = sp_c + f->cfa_rel;
        unsigned k = f->how & 15;
        if (cfa <= msp || cfa > top || (k && cfa - 8 * k < msp))
            return 0;
        if ((f->how & FU_HOW_RBP) && mbp + ((uintptr_t)((f->how >> 4) & 0x3fff) << 3) != cfa)
            return 0;
        ra = *(const uintptr_t *)(cfa - 8);
        if (k)
            mbp = *(const uintptr_t *)(cfa - 8 * k);
        msp = cfa;
        if (i + 1 < n ? ra != p->f[i + 1].ip : (!ra || sl_in_agent(ra)))
            return 0;
    }
    *ip = ra;
    *sp = msp;
    *bp = mbp;
    return 1;
}

/* The first remembered path that matches, moving (ip, sp, bp) past it. */
static inline int agent_skip_remembered(uintptr_t top, uintptr_t *ip, uintptr_t *sp, uintptr_t *bp)
{
    for (uint32_t a = 0; a < FU_AGENT_PATHS; a++) {
        uint32_t st = atomic_load_explicit(&agent_paths[a].state, memory_order_acquire);
        if (st == FU_PATH_EMPTY)
            return 0;   /* slots fill in order: nothing further */
        if (st == FU_PATH_READY && agent_replay(&agent_paths[a], top, ip, sp, bp))
            return 1;
    }
    return 0;
}

/* The agent is built with frame pointers (Scripts/build-agent), so its
 * own frames are a chain of rbp links: [rbp] the caller's rbp, [rbp + 8]
 * the return address, rbp + 16 the CFA. Following it from this function's
 * frame to the first return address outside the agent finds what the rule
 * walk would, in a few L1 loads, where trying remembered paths one by one
 * cost a quarter of a Python capture. Links must climb the stack; anything
 * odd: 0, and the remembered paths decide. */
static inline int agent_skip_by_frame_pointers(uintptr_t top, uint32_t skip_max, uintptr_t *ip, uintptr_t *sp,
                                               uintptr_t *bp)
{
    uintptr_t fp = *bp, low = *sp;
    for (uint32_t n = 0; n <= skip_max; n++) {
        if (fp < low || fp > top - 16 || (fp & 7))
            return 0;
        uintptr_t ra = *(const uintptr_t *)(fp + 8), up = *(const uintptr_t *)fp;
        if (!sl_in_agent(ra)) {
            if (!ra)
                return 0;
            *ip = ra;
            *sp = fp + 16;
            *bp = up;
            return 1;
        }
        low = fp + 16;
        fp = up;
    }
    return 0;
}

/* Remember a path the rule walk just took (first empty slot; none left:
 * forget it, those captures keep walking by the rules). */
static void agent_path_add(const struct fu_memo_frame *f, uint32_t n)
{
    for (uint32_t a = 0; a < FU_AGENT_PATHS; a++) {
        uint32_t expect = FU_PATH_EMPTY;
        if (!atomic_compare_exchange_strong(&agent_paths[a].state, &expect, FU_PATH_WRITING))
            continue;
        agent_paths[a].n = n;
        memcpy(agent_paths[a].f, f, n * sizeof *f);
        atomic_store_explicit(&agent_paths[a].state, FU_PATH_READY, memory_order_release);
        return;
    }
}

/* The walk's frames [0, had) are the memo's own, vouched for by a replay
 * that saw sequence number s1: their rel and how are copied back only now,
 * and only if the memo still holds them, so a replay that needs no write
 * copies nothing. Returns memo_write's. */
static uint64_t memo_extend(const struct fu_memo *from, uint64_t s1, uint32_t had, struct fu_memo *to, uint32_t gen,
                            uint32_t max, uint32_t *rel, uint32_t *how, struct fu_walk w)
{
    for (uint32_t i = 0; i < had; i++) {
        rel[i] = rd32(&from->rel[i]);
        how[i] = rd32(&from->how[i]);
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&from->seq, memory_order_relaxed) != s1)
        return 0;   /* rewritten meanwhile: the copy may be torn */
    return memo_write(to, gen, max, w);
}

/* The slot a walk that no memo of its set knew is written to: one whose
 * contents are stale, else each in turn (per thread, so no line is
 * shared): paths that share a leaf and its caller (operator new reached
 * through std::string's _M_create from everywhere) then keep a way each
 * instead of overwriting one slot by turns. */
static __thread uint32_t fu_victim __attribute__((tls_model("initial-exec")));

/* The way whose whole path this thread matched last, for the last sets it
 * used (entry set % 4: set << 2 | way), looked at first. Paths of one set
 * that share their leaf and outermost frames (an allocation loop and the
 * code that filled its structures first, from the same function) pass
 * every quick check, and each way looked at before the right one costs a
 * whole-path check that fails (some 230 instructions at 21 frames, more
 * with frame pointers). Per thread, so no capture writes a line that
 * another thread's captures read: threads whose paths share a set would
 * otherwise move that line between their cores at every capture. */
#define FU_WAY_HINTS 4u
_Static_assert(FU_MEMO_WAYS <= 4, "a way hint keeps its way in two bits");
static __thread uint32_t fu_way_hint[FU_WAY_HINTS] __attribute__((tls_model("initial-exec")));

static inline struct fu_memo *victim_of(struct fu_memo *set, uint32_t gen)
{
    for (uint32_t w = 0; w < FU_MEMO_WAYS; w++)
        if (rd32(&set[w].gen) != gen || !rd32(&set[w].n))
            return &set[w];
    return &set[fu_victim++ % FU_MEMO_WAYS];
}

/* The hint for a stack that is the memo's whole path at sequence number s:
 * tagged with s when nothing will rewrite it before interning (no stop
 * frame for the Python merge, no Swift async merge), else untagged (odd).
 * The tag is s's low 32 bits: to alias, one slot would have to be
 * rewritten 2^31 times between a capture and its interning. */
static inline struct sl_stack_hint hint_for(struct fu_memo *m, uint64_t s, uint32_t whole, uint32_t flags)
{
    int vouched = s && whole && !(flags & FU_MEMO_STOP) && !sl_async_may_merge();
    /* pyfast: a whole path to the stop keeps s in an odd tag (never trusted
     * here), for the Python merge's memo of merged stack ids. */
    uint32_t stop_tag = s && whole && (flags & FU_MEMO_STOP) ? (uint32_t)s | 1u : 1u;
    return (struct sl_stack_hint){&m->stack_id, vouched ? (uint32_t)s : stop_tag};
}

/* The walk of sl_fast_unwind, inlined there: it starts at `from` when
 * given, else in the frame of whoever calls sl_fu_regs. */
static inline __attribute__((always_inline)) int walk(uint64_t *ips, uint32_t max, uint32_t skip_max,
                                                      const struct sl_caller *from, uint32_t *depth,
                                                      struct sl_stack_hint *id_hint)
{
    uintptr_t sp, ip, bp;
    if (from) {
        sp = from->sp;
        ip = from->ip;
        bp = from->bp;
    } else {
        struct fu_regs r;
        sl_fu_regs(&r);
        sp = r.sp;
        ip = r.ip;
        bp = r.bp;
    }
    uint64_t w;

    /* Top of this stack. A pthread's descriptor (fs base) sits right above
     * its stack, user-supplied stacks included; the main thread's stack
     * ends at __libc_stack_end. Anything else (sigaltstack, fibers):
     * libunwind. */
    /* fs base: glibc's thread descriptor, what pthread_self() returns,
     * without the call. */
    uintptr_t top, self = (uintptr_t)__builtin_thread_pointer();
    uintptr_t main_top = (uintptr_t)__libc_stack_end;
    if (sp < self && self - sp <= SL_MAX_THREAD_STACK)
        top = self;
    else if (sp < main_top && main_top - sp <= SL_MAX_MAIN_STACK)
        top = main_top;
    else
        return -1;

    uint32_t gen = atomic_load_explicit(&sl_fu_generation, memory_order_acquire);
    /* The agent's own frames (hook, emit, capture, this): skipped, not kept;
     * by their frame-pointer chain, else by a remembered path, else walked
     * by the rules and remembered. A hook's caller (`from`) is past them,
     * unless that caller is the agent itself (a bootstrap realloc). */
    if ((!from || sl_in_agent(ip)) && !agent_skip_by_frame_pointers(top, skip_max, &ip, &sp, &bp) &&
        !agent_skip_remembered(top, &ip, &sp, &bp)) {
        struct fu_memo_frame arec[FU_AGENT_FRAMES];
        const uintptr_t sp_c = sp;
        uint32_t an = 0;
        int keep = 1;
        for (uint32_t skipped = 0; sl_in_agent(ip); skipped++) {
            if (skipped >= skip_max)
                return -1;
            uintptr_t at = ip;
            int st = step(&ip, &sp, &bp, top, gen, &w);
            if (st <= 0)
                return st;   /* an agent frame the outermost: nothing to keep */
            if (skipped < FU_AGENT_FRAMES && sp - sp_c < UINT32_MAX)
                arec[an++] = (struct fu_memo_frame){at, (uint32_t)(sp - sp_c), how_of(w)};
            else
                keep = 0;
        }
        if (keep && an)
            agent_path_add(arec, an);
    }
    if (!max)
        return 0;

    const uintptr_t sp0 = sp, ip0 = ip, bp0 = bp;
    const uintptr_t span = top - sp0;
    const struct fu_stop stop = stop_now();
    uint32_t rec_rel[FU_MEMO_FRAMES], rec_how[FU_MEMO_FRAMES];
    uint32_t d = 0;                 /* frames stored in ips (and, past `had`, recorded) */
    uint32_t rec_run = 0;           /* frames [0, rec_run) are memo material */
    int recording = 1;
    uint32_t had = 0;               /* frames the memo vouched for */

    /* The set is chosen by the leaf ip, its caller's and the depth of the
     * stack below sp0 (top - sp0). One leaf often has many callers (every
     * CPython object comes through the one call in PyObject_Malloc that
     * reaches the agent's wrapper; every C++ string through operator new
     * and _M_create): keyed by the leaf alone their paths would keep
     * overwriting each other's slots. The caller comes from one rule step,
     * whose rule (the leaf's) is hot; the depth costs nothing, and tells
     * apart most paths that share both. Not where walks end at a stop (the
     * Python eval loop): there the depth varies with the Python frames
     * above, and the native path below the stop does not. Without a stop
     * the depth alone tells the paths of one leaf apart well enough, and
     * the ways of a set hold the rest: the step (some 50 instructions a
     * capture under callgrind) is taken only where there is a stop. */
    uint64_t key = ip0 * 0x9e3779b97f4a7c15ull + (stop.span ? 0 : span * 0xc2b2ae3d27d4eb4full);
    /* pyfast: a capture from CPython's allocator wrappers knows a local of
     * the eval frame the walk stops at (python_frames.h): its distance
     * from sp0 pins the path below the stop as the depth does elsewhere,
     * and the Python instruction that runs tells apart most paths of one
     * depth, with no rule step; the whole-path check still vouches. */
    uintptr_t anchor_rel = sl_py_capture.anchor - sp0;
    if (stop.span && anchor_rel < span) {
        key += anchor_rel * 0x165667b19e3779f9ull + sl_py_capture.site * 0xc2b2ae3d27d4eb4full;
    } else {
        uintptr_t ip1 = ip0, sp1 = sp0, bp1 = bp0;
        if (stop.span && !is_stop(stop, ip0) && step(&ip1, &sp1, &bp1, top, gen, &w) > 0)
            key += ip1 * 0x165667b19e3779f9ull;
    }
    const uint32_t set_no = (uint32_t)(key >> 40) % (FU_MEMO_SLOTS / FU_MEMO_WAYS);
    struct fu_memo *set = &memo[set_no * FU_MEMO_WAYS];
    struct fu_memo *m = NULL;   /* the way replayed frame by frame, if any */
    uint64_t s1 = 0;
    uint32_t *hint = &fu_way_hint[set_no % FU_WAY_HINTS];
    const uint32_t first = *hint >> 2 == set_no ? *hint & (FU_MEMO_WAYS - 1) : 0;
    for (uint32_t k = 0; k < FU_MEMO_WAYS; k++) {
        const uint32_t way = (first + k) % FU_MEMO_WAYS;
        struct fu_memo *c = &set[way];
        uint64_t sc = atomic_load_explicit(&c->seq, memory_order_acquire);
        uint32_t cn = rd32(&c->n);
        if ((sc & 1) || rd32(&c->gen) != gen || !cn || cn > FU_MEMO_FRAMES || rd64(&c->ip0) != ip0)
            continue;
        if (!m) {
            m = c;
            s1 = sc;
        }
        uint32_t whole = rd32(&c->whole), nrbp = rd32(&c->nrbp), flags = rd32(&c->flags);
        if (whole != cn + 1 || whole > max || rd32(&c->max) != max || nrbp > FU_MEMO_RBP_CHECKS)
            continue;
        /* First the outermost return address alone, which tells the ways
         * of one set apart (a read kept inside the stack: the value may be
         * torn), then the whole path. */
        uint32_t last = rd32(&c->rel[cn - 1]);
        if (last < 8 || last > span ||
            *(const uint64_t *)(sp0 + last - 8) != rd64(&((const uint64_t *)&c->chk[cn - 1])[1]))
            continue;
        if (memo_whole_matches(c, sc, cn, nrbp, flags, sp0, bp0, span, ips)) {
            ips[0] = ip0;
            atomic_thread_fence(memory_order_acquire);
            if (SL_LIKELY(atomic_load_explicit(&c->seq, memory_order_relaxed) == sc)) {
                if (SL_UNLIKELY(way != first))
                    *hint = set_no << 2 | way;
                *depth = whole;
                *id_hint = hint_for(c, sc, whole, flags);
                return 0;
            }
        }
    }
    if (m) {
        uint32_t mn = rd32(&m->n);
        /* Frame by frame: frame i's return address must be at sp0 + rel_i
         * - 8 and equal the memo's ip of frame i + 1. The sequence check
         * below throws away a torn read, so the loop only has to keep its
         * reads safe: every one stays in [sp0 - 120, top), this thread's
         * own stack (below sp0 lie the agent's frames, larger than that). A
         * memo read whole was a real walk: CFAs that grow, slots inside
         * their frames. */
        uint32_t lim = mn < max ? mn : max;
        if (lim > FU_MEMO_FRAMES)
            lim = FU_MEMO_FRAMES;
        uintptr_t mip = ip0, msp = sp0, mbp = bp0;
        uint32_t i = 0;
        ips[0] = ip0;
        for (;;) {
            uint32_t rel = rd32(&m->rel[i]), how = rd32(&m->how[i]);
            if (rel > span || rel < 8)
                break;   /* torn or stale: the rule walk redoes it */
            uintptr_t cfa = sp0 + rel;
            if ((how & FU_HOW_RBP) && mbp + rbp_offset(how) != cfa)
                break;   /* this rbp-based frame is laid out differently this time */
            uintptr_t ra = *(const uintptr_t *)(cfa - 8);
            unsigned k = how & 15;
            if (k)
                mbp = *(const uintptr_t *)(cfa - 8 * k);
            msp = cfa;
            mip = ra;
            i++;
            if (i == lim || !ra || ra != rd64(&((const uint64_t *)&m->chk[i - 1])[1]) || is_stop(stop, ra))
                break;
            ips[i] = ra;
        }
        atomic_thread_fence(memory_order_acquire);
        if (i && atomic_load_explicit(&m->seq, memory_order_relaxed) == s1) {
            /* Frames [0, i) are right; resume after frame i - 1. */
            d = had = rec_run = i;
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
    /* Why the walk ended, for the memo: the outermost frame, the limit or
     * the stop make the walk whole; a return address 0 does not (nothing
     * records it). */
    int ended_whole = 0;
    uint32_t flags = 0;
    if (d && d >= max) {
        ended_whole = 1;
        goto done;
    }
    if (d && !ip)
        goto done;

    /* The rule walk from frame d on. */
    for (;;) {
        ips[d] = ip;
        if (is_stop(stop, ip)) {
            *depth = ++d;
            ended_whole = 1;
            flags |= FU_MEMO_STOP;
            break;
        }
        int st = step(&ip, &sp, &bp, top, gen, &w);
        if (recording && st > 0 && d < FU_MEMO_FRAMES && sp - sp0 < INT32_MAX) {
            rec_rel[d] = (uint32_t)(sp - sp0);
            rec_how[d] = how_of(w);
            rec_run = d + 1;
        } else {
            recording = 0;
        }
        d++;
        *depth = d;
        if (st < 0)
            return -1;
        if (st == 0) {
            ended_whole = ip != 0;   /* the outermost frame's rule, not a return address 0 */
            break;
        }
        if (d >= max) {
            ended_whole = 1;
            break;
        }
    }
done:;
    /* Remember the walk if it says more than the memo did. */
    uint32_t n = rec_run < d ? rec_run : d - 1;
    uint32_t whole = ended_whole && n + 1 == d ? d : 0;
    uint64_t s = 0;   /* the memo's sequence number if it now holds this walk */
    struct fu_memo *to = victim_of(set, gen);
    if (n > had || whole) {
        struct fu_walk walk = {ips, rec_rel, rec_how, n, whole, flags, sp0};
        uint32_t copy = had < n ? had : n;
        s = copy ? memo_extend(m, s1, copy, to, gen, max, rec_rel, rec_how, walk) : memo_write(to, gen, max, walk);
    }
    *id_hint = hint_for(s ? to : m ? m : to, s, whole, flags);
    return 0;
}

int sl_fast_unwind(uint64_t *ips, uint32_t max, uint32_t skip_max, const struct sl_caller *from, uint32_t *depth,
                   struct sl_stack_hint *id_hint)
{
    *depth = 0;
    *id_hint = (struct sl_stack_hint){NULL, 1};
    int mode = atomic_load_explicit(&fu_on, memory_order_relaxed);
    if (SL_UNLIKELY(mode == SL_FU_OFF))
        return -1;
    int r = walk(ips, max, skip_max, from, depth, id_hint);
    return r == 0 || mode == SL_FU_FAST_ONLY ? 0 : -1;   /* fast-only: keep the frames found */
}

uint32_t sl_fast_unwind_path_checks(struct sl_stack_hint path, uint32_t *at, uint64_t *ra, uint32_t cap, uint32_t *gen)
{
    /* hint_for's odd tag of a whole path to the stop: its slot's sequence
     * number with bit 0 set. */
    if (!path.slot || !(path.tag & 1) || path.tag == 1)
        return 0;
    struct fu_memo *m = (struct fu_memo *)((char *)path.slot - offsetof(struct fu_memo, stack_id));
    uint64_t s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
    uint32_t n = rd32(&m->n), flags = rd32(&m->flags);
    const uint32_t need = FU_MEMO_STOP | FU_MEMO_RA_ONLY;
    if ((s1 & 1) || (uint32_t)s1 != (path.tag & ~1u) || !n || n > cap || rd32(&m->whole) != n + 1 ||
        (flags & (need | FU_MEMO_BP0)) != need || rd32(&m->nrbp))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        at[i] = rd32(&m->rel[i]) - 8;
        ra[i] = rd64(&m->ra[i]);
    }
    *gen = rd32(&m->gen);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&m->seq, memory_order_relaxed) == s1 ? n : 0;
}

void sl_fast_unwind_forget_stack_ids(void)
{
    if (!memo)
        return;
    for (uint32_t i = 0; i < FU_MEMO_SLOTS; i++)
        atomic_store_explicit(&memo[i].stack_id, 0, memory_order_relaxed);
}

/* ---- keeping up with dlopen/dlclose (init, agent thread) ---------------- */

/* Cached rules of unloaded code must not apply to whatever gets mapped
 * there next: a new generation misses them all. */
static void new_generation(void)
{
    uint32_t g = atomic_fetch_add(&sl_fu_generation, 1) + 1;
    if ((g & 0xff) == 0)
        memset((void *)cache, 0, FU_SETS * 2 * sizeof(uint64_t));
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
        cache = sl_map_zero(FU_SETS * 2 * sizeof(uint64_t));
    if (!memo)
        memo = sl_map_zero(FU_MEMO_SLOTS * sizeof(struct fu_memo));
    if (!cache || !memo)
        e = ENOMEM;
    if (!e)
        e = sl_modules_rescan(new_generation);
    atomic_store(&refreshing, 0);
    return e;
}

/* Cheap enough for every agent-thread loop: one dl_iterate_phdr callback. */
void sl_fast_unwind_poll(void)
{
    if (!atomic_load_explicit(&fu_on, memory_order_relaxed))
        return;
    if (sl_modules_changed())
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
