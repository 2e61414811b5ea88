/*
 * async_frames.c: the awaiting callers of the Swift async function an
 * allocation is made from.
 *
 * A task's partial function is called by the executor (swift_job_run, then
 * swift::runJobInEstablishedExecutorContext) with its async context in r14
 * (x86_64's swiftasync register). The context starts with the fields
 * Swift's ABI fixes (swift/ABI/Task.h, class AsyncContext): Parent, the
 * caller's context, at offset 0 and ResumeParent, the function the callee
 * "returns" into, at offset 8. So the chain from the running function's
 * context reads, innermost first, each awaiting caller's resume point: the
 * traceback LLDB rebuilds for a suspended task.
 *
 * r14 is callee-saved: whatever the partial function called (the allocator,
 * the agent's hooks) either left it alone or saved it where its .eh_frame
 * rule says. So the value the partial function held is recovered by walking
 * from here to its frame with the unwind rules, r14 included (eh_frame.c).
 *
 * Safety: this runs inside the host on every traced allocation.
 *  - The partial function is found among the captured frames: the one the
 *    executor called (the frame below swift_job_run's callee). Frames that
 *    do not run a task pay one range check per frame and nothing else.
 *  - The register walk reads only this thread's stack, below its top, with
 *    CFAs that grow strictly, and checks every return address against the
 *    captured stack: any disagreement, and no async frame is added.
 *  - A context is read only inside a readable, writable mapping of the
 *    process (rw_mappings.c: /proc/self/maps, read by the agent thread), so
 *    a register that did not hold a context costs nothing but the async
 *    frames; the walk makes no system call.
 *  - Bounded: at most SL_ASYNC_MAX_CONTEXTS contexts, and each resume point
 *    must be code of a loaded module. No allocation, no lock.
 */
#include "agent.h"

#include "async_frames.h"
#include "eh_frame.h"
#include "rw_mappings.h"
#include "unwind_modules.h"

#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#define SL_ASYNC_MAX_CONTEXTS 64u   /* a longer chain is a broken one */
#define SL_ASYNC_MAX_WALK 32u       /* frames from here to the partial function */

extern void *__libc_stack_end;

/* The executor entry points that run a job; [lo, hi) each. */
#define SL_ASYNC_JOB_RUNNERS 3
static uintptr_t runner_lo[SL_ASYNC_JOB_RUNNERS], runner_hi[SL_ASYNC_JOB_RUNNERS];
_Atomic int sl_async_on;

void sl_async_init(void)
{
    if (atomic_load_explicit(&sl_async_on, memory_order_acquire))
        return;
    const char *setting = getenv(SL_ENV_ASYNC);
    if (setting && strcmp(setting, "off") == 0)
        return;
    static const char *const names[SL_ASYNC_JOB_RUNNERS] = {
        "swift_job_run", "swift_job_run_on_task_executor", "swift_job_run_on_serial_and_task_executor"};
    int found = 0;
    for (int i = 0; i < SL_ASYNC_JOB_RUNNERS; i++) {
        void *f = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info di;
        const ElfW(Sym) *sym = NULL;
        if (!f || !dladdr1(f, &di, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
            continue;
        runner_lo[i] = (uintptr_t)f;
        runner_hi[i] = (uintptr_t)f + sym->st_size;
        found = 1;
    }
    /* Without the fast unwinder's module table (SWIFTLEAK_UNWINDER=libunwind)
     * there are no rules to recover r14 with: the walk then finds no module
     * and the stacks stay synchronous. */
    /* Contexts are only read inside mappings this table lists. */
    if (found && sl_rw_mappings_refresh() == 0)
        atomic_store_explicit(&sl_async_on, 1, memory_order_release);
}

static inline int runs_job(uint64_t ip)
{
    for (int i = 0; i < SL_ASYNC_JOB_RUNNERS; i++)
        if (ip > runner_lo[i] && ip <= runner_hi[i])   /* a return address: after the call */
            return 1;
    return 0;
}

/* ---- recovering r14 ------------------------------------------------------ */

struct async_regs {
    uintptr_t sp, ip, bp, r14;
};
/* Fills r with its caller's registers as they will be right after this call
 * returns (sp above the return address, ip that return address). Assembly,
 * so nothing the compiler does can move them. */
void sl_async_regs(struct async_regs *r);
__asm__(".text\n"
        ".p2align 4\n"
        ".globl sl_async_regs\n"
        ".hidden sl_async_regs\n"
        ".type sl_async_regs,@function\n"
        "sl_async_regs:\n"
        "    leaq 8(%rsp), %rax\n"
        "    movq %rax, 0(%rdi)\n"
        "    movq (%rsp), %rax\n"
        "    movq %rax, 8(%rdi)\n"
        "    movq %rbp, 16(%rdi)\n"
        "    movq %r14, 24(%rdi)\n"
        "    ret\n"
        ".size sl_async_regs, .-sl_async_regs\n");

/* The rules the walk needs at one return address, decoded once: where the
 * CFA is (rsp or rbp + off) and where rbp and r14 were saved (CFA - 8k,
 * k = 0: not saved). One 64-bit word per entry, so a reader never sees half
 * of another address's rules: [0,35) ip >> 12 (the slot is ip's low 12
 * bits), bit 35 CFA from rbp, [36,50) CFA offset / 8, [50,54) rbp's k,
 * [54,58) r14's k, bit 58 valid. A rule of code unloaded since can only
 * make the walk disagree with the captured stack, which ends it. */
#define SL_ASYNC_RULES 4096u
static _Atomic uint64_t rules[SL_ASYNC_RULES];

struct frame_rule {
    int from_rbp;
    uintptr_t cfa_off;
    unsigned rbp_k, r14_k;   /* saved at CFA - 8k; 0: unchanged */
};

/* Decodes the rule for return address ip from its module's .eh_frame. 1, or
 * 0 when there is none or it is not one this walk follows. */
static int decode_rule(uintptr_t ip, struct frame_rule *out)
{
    const struct sl_unwind_module *m = sl_modules_find(ip - 1);
    if (!m)
        return 0;
    uintptr_t fde = sl_eh_find_fde(m->hdr, m->table, m->count, ip - 1);
    struct sl_cfa_row row;
    if (!fde || sl_eh_row_at(fde, (struct sl_eh_span){m->seg_lo, m->seg_hi}, m->hdr, ip - 1, &row) != 0)
        return 0;
    if (row.cfa_expr || (row.cfa_reg != SL_DW_RSP && row.cfa_reg != SL_DW_RBP))
        return 0;
    if (row.ra_how != SL_CFA_OFFSET || row.ra_off != -8 || row.cfa_off < 8 || (row.cfa_off & 7) || row.cfa_off >= (8 << 14))
        return 0;
    if ((row.rbp_how != SL_CFA_SAME && row.rbp_how != SL_CFA_OFFSET) ||
        (row.r14_how != SL_CFA_SAME && row.r14_how != SL_CFA_OFFSET))
        return 0;
    int64_t rbp_k = row.rbp_how == SL_CFA_OFFSET ? -row.rbp_off / 8 : 0;
    int64_t r14_k = row.r14_how == SL_CFA_OFFSET ? -row.r14_off / 8 : 0;
    if ((row.rbp_how == SL_CFA_OFFSET && (row.rbp_off >= 0 || (row.rbp_off & 7) || rbp_k > 15)) ||
        (row.r14_how == SL_CFA_OFFSET && (row.r14_off >= 0 || (row.r14_off & 7) || r14_k > 15)))
        return 0;
    *out = (struct frame_rule){row.cfa_reg == SL_DW_RBP, (uintptr_t)row.cfa_off, (unsigned)rbp_k, (unsigned)r14_k};
    return 1;
}

static int rule_at(uintptr_t ip, struct frame_rule *out)
{
    _Atomic uint64_t *slot = &rules[ip & (SL_ASYNC_RULES - 1)];
    uint64_t w = atomic_load_explicit(slot, memory_order_relaxed);
    if ((w >> 58 & 1) && (w & ((1ull << 35) - 1)) == (uint64_t)(ip >> 12)) {
        *out = (struct frame_rule){(int)(w >> 35 & 1), (uintptr_t)(w >> 36 & 0x3fff) << 3, (unsigned)(w >> 50 & 15),
                                   (unsigned)(w >> 54 & 15)};
        return 1;
    }
    if (!decode_rule(ip, out))
        return 0;
    if (!(ip >> 47))
        atomic_store_explicit(slot, (uint64_t)(ip >> 12) | (uint64_t)out->from_rbp << 35 | (uint64_t)(out->cfa_off >> 3) << 36 |
                                        (uint64_t)out->rbp_k << 50 | (uint64_t)out->r14_k << 54 | 1ull << 58,
                              memory_order_relaxed);
    return 1;
}

/* One frame up from r (standing on return address r->ip) by its .eh_frame
 * rule, r14 and rbp restored. 1, or 0 when the rule is missing or odd. */
static int step(struct async_regs *r, uintptr_t top)
{
    struct frame_rule rule;
    if (!rule_at(r->ip, &rule))
        return 0;
    uintptr_t cfa = (rule.from_rbp ? r->bp : r->sp) + rule.cfa_off;
    if (cfa <= r->sp || cfa > top || (cfa & 7))
        return 0;
    /* Saved slots lie between sp and the CFA (k <= 15 keeps them above cfa - 120). */
    if ((rule.rbp_k && cfa - 8 * rule.rbp_k < r->sp) || (rule.r14_k && cfa - 8 * rule.r14_k < r->sp))
        return 0;
    uintptr_t bp = rule.rbp_k ? *(const uintptr_t *)(cfa - 8 * rule.rbp_k) : r->bp;
    uintptr_t r14 = rule.r14_k ? *(const uintptr_t *)(cfa - 8 * rule.r14_k) : r->r14;
    r->ip = *(const uintptr_t *)(cfa - 8);
    r->sp = cfa;
    r->bp = bp;
    r->r14 = r14;
    return r->ip != 0;
}

/* The value r14 had in frame `target` of ips (its call was in progress), or
 * 0. The walk starts in this function's caller's frame: the agent's own
 * frames are stepped through, then each frame must be the captured one.
 * noinline: the frame it walks from must be a real one. */
static __attribute__((noinline)) uintptr_t r14_at(const uint64_t *ips, uint32_t target)
{
    struct async_regs r;
    sl_async_regs(&r);
    /* Top of this stack: a pthread's descriptor sits right above its stack;
     * the main thread's stack ends at __libc_stack_end. */
    uintptr_t self = (uintptr_t)pthread_self(), main_top = (uintptr_t)__libc_stack_end, top;
    if (r.sp < self && self - r.sp <= (256ull << 20))
        top = self;
    else if (r.sp < main_top && main_top - r.sp <= (4ull << 30))
        top = main_top;
    else
        return 0;
    uint32_t steps = 0;
    /* r stands in r14_at's frame; step out of it and of the agent's frames. */
    do {
        if (++steps > SL_ASYNC_MAX_WALK || !step(&r, top))
            return 0;
    } while (sl_in_agent(r.ip));
    for (uint32_t i = 0;; i++) {
        /* ips[0] was made a call-site address (minus one); the rest are as read. */
        if (r.ip - (i == 0) != ips[i])
            return 0;
        if (i == target)
            return r.r14;
        if (++steps > SL_ASYNC_MAX_WALK || !step(&r, top))
            return 0;
    }
}

/* ---- the context chain --------------------------------------------------- */

/* The mapping and the module the last context and resume point were found
 * in: a chain's contexts mostly share one task allocator slab, and its
 * resume points a few modules, so most checks are two comparisons. */
struct chain_cache {
    uintptr_t map_lo, map_hi;
    uintptr_t text_lo, text_hi;
};

/* Reads Parent and ResumeParent of the context at ctx. 1, or 0 when ctx is
 * not inside a readable, writable mapping (rw_mappings.c). */
static int read_context(uintptr_t ctx, uintptr_t out[2], struct chain_cache *c)
{
    uintptr_t end = ctx + 2 * sizeof(uintptr_t);
    if (!(ctx >= c->map_lo && end <= c->map_hi) && !sl_rw_mapped(ctx, end, &c->map_lo, &c->map_hi))
        return 0;
    out[0] = ((const uintptr_t *)ctx)[0];
    out[1] = ((const uintptr_t *)ctx)[1];
    return 1;
}

/* Whether ip is code of a loaded module. */
static int is_code(uintptr_t ip, struct chain_cache *c)
{
    if (ip >= c->text_lo && ip < c->text_hi)
        return 1;
    const struct sl_unwind_module *m = sl_modules_find(ip);
    if (!m)
        return 0;
    c->text_lo = m->text_lo;
    c->text_hi = m->text_hi;
    return 1;
}

static inline int plausible_context(uintptr_t p)
{
    return p >= 4096 && p < (1ull << 47) && (p & 7) == 0;
}

uint32_t sl_async_merge_tasks(uint64_t *ips, uint32_t depth, uint32_t max)
{
    uint32_t job = 0;
    while (job < depth && !runs_job(ips[job]))
        job++;
    if (job == depth || job == 0)
        return depth;
    /* swift_job_run calls runJobInEstablishedExecutorContext (part of the
     * same library), which calls the task's partial function; a runtime
     * that inlines the former calls it directly. */
    uint32_t partial = job - 1;
    const struct sl_unwind_module *runtime = sl_modules_find(ips[job] - 1);
    const struct sl_unwind_module *caller = sl_modules_find(ips[partial] - (partial > 0));
    if (partial > 0 && runtime && caller && caller->text_lo == runtime->text_lo)
        partial--;
    if (max > SL_MAX_FRAMES)
        max = SL_MAX_FRAMES;
    if (partial + 1 >= max)
        return depth;

    uintptr_t ctx = r14_at(ips, partial);
    uint64_t found[SL_ASYNC_MAX_CONTEXTS];
    uint32_t n = 0, room = max - (partial + 1);
    struct chain_cache cache = {0, 0, 0, 0};
    while (n < SL_ASYNC_MAX_CONTEXTS && n < room && plausible_context(ctx)) {
        uintptr_t head[2];
        if (!read_context(ctx, head, &cache))
            break;
        uintptr_t resume = head[1];
        if (!is_code(resume, &cache))
            break;   /* not code: ctx was not a context (or the chain is torn) */
        found[n++] = SL_ASYNC_FRAME_TAG | (uint64_t)resume;
        ctx = head[0];
    }
    if (!n)
        return depth;
    /* The executor's frames move down by n; those past max fall off. */
    uint32_t keep = depth - (partial + 1);
    if (keep > max - (partial + 1) - n)
        keep = max - (partial + 1) - n;
    memmove(ips + partial + 1 + n, ips + partial + 1, keep * sizeof(uint64_t));
    memcpy(ips + partial + 1, found, n * sizeof(uint64_t));
    return partial + 1 + n + keep;
}
