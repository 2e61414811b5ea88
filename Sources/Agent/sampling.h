/*
 * sampling.h: sampled mode (`--sample-bytes SIZE`), allocations recorded as
 * a Poisson process over allocated bytes, as pprof, tcmalloc and jemalloc do.
 *
 * Each thread counts down an exponentially distributed number of bytes with
 * mean SIZE; the allocation that crosses zero is sampled and a new gap drawn.
 * Because the gap is memoryless, a block of s bytes is sampled with
 * probability 1 - exp(-s/SIZE), independently of every other block: that is
 * what makes the aggregator's estimate unbiased (README, "Sampled mode").
 *
 * Hook-path rules hold here too: no malloc, no locks, no stdio, no syscalls.
 * The addresses of sampled blocks still alive sit in a fixed-size lock-free
 * set mmap'd at start, so the free of an unsampled block costs a lookup and
 * nothing else; when the set is full the free is sent anyway (the
 * aggregator ignores frees it does not know).
 */
#ifndef SWIFTLEAK_SAMPLING_H
#define SWIFTLEAK_SAMPLING_H

#include "agent.h"

/* Hidden like everything here, and said so: the hooks' fast path then loads
 * these globals directly instead of through the GOT. */
#pragma GCC visibility push(hidden)

/* Mean bytes between samples; 0: exact mode, every allocation recorded.
 * Written only while tracing is off (session start). The fast paths below
 * read the epoch and the summary at any time, tracing or not: those two are
 * atomic (relaxed loads: the same single move). */
extern uint64_t sl_sample_mean;
/* The configuration a countdown belongs to: a new value each time sampled
 * mode is configured, so that a thread's countdown left over from an earlier
 * session (another rate, or exact mode now) is never trusted; in exact mode
 * SL_SAMPLE_EXACT_EPOCH, which no countdown carries, so the fast path gives
 * up at the first compare. Written with sl_sample_mean. */
#define SL_SAMPLE_EXACT_EPOCH UINT32_MAX
extern _Atomic uint32_t sl_sample_epoch;

/* One thread's countdown: one TLS block, so the hooks' fast path finds both
 * fields from one TLS offset. */
struct sl_sample_countdown {
    uint64_t left;    /* bytes this thread may still allocate before its next sample */
    uint32_t epoch;   /* the sl_sample_epoch `left` was drawn under (0: none yet, never an epoch) */
};
extern __thread struct sl_sample_countdown sl_sample_countdown __attribute__((tls_model("initial-exec")));

/* Maps the sampled-address set on first use and sets the mean (0 = exact).
 * Not for the hook path. 0 or errno; on error the mode is left unchanged. */
int sl_sampling_configure(uint64_t mean_bytes);

int sl_sample_alloc_slow(void *p, size_t size);
/* Whether the live block at p is recorded: always in exact mode; in sampled
 * mode when it was sampled (or cannot be ruled out). Not for the malloc
 * hooks' fast path: a lookup, no change. */
int sl_sample_holds(const void *p);
int sl_sample_free_slow(void *p);

/* A counting summary of the set: the entry of an address counts the set's
 * members that share it, so a zero rules the address out with one byte
 * read. Entries follow the address (16-byte granules, wrapping every 1 MiB),
 * not a hash: neighbouring blocks share cache lines of the summary as they
 * share the heap's, and a free rarely misses the cache (a hashed 64 KiB
 * table missed L1 on most frees). NULL in exact mode. */
#define SL_SAMPLE_FILTER_BITS 16
extern _Atomic(_Atomic uint8_t *) sl_sample_filter;

static inline _Atomic uint8_t *sl_sample_filter_of(_Atomic uint8_t *filter, const void *p)
{
    return &filter[((uintptr_t)p >> 4) & ((1u << SL_SAMPLE_FILTER_BITS) - 1)];
}

/* The hooks' fast path for an allocation, before anything else is looked
 * at (sampled mode): true when `size` bytes are certainly not sampled, the
 * countdown already charged, so there is nothing to record. Safe with the
 * real allocator unresolved, tracing off or the guard set: a countdown of
 * the current epoch was drawn by sl_emit_alloc, which runs only once the
 * real allocator is known, and a block left unrecorded is what those states
 * want anyway. False in exact mode. */
static inline int sl_sample_skip_alloc(size_t size)
{
    struct sl_sample_countdown *c = &sl_sample_countdown;
    if (SL_LIKELY(c->epoch == atomic_load_explicit(&sl_sample_epoch, memory_order_relaxed)) && SL_LIKELY(size < c->left)) {
        c->left -= size;
        return 1;
    }
    return 0;
}

/* The hooks' fast path for a free (sampled mode): true when p is certainly
 * not a sampled block, so its free is not recorded. Not for bootstrap memory,
 * which the hooks rule out first. False in exact mode. */
static inline int sl_sample_skip_free(const void *p)
{
    _Atomic uint8_t *filter = atomic_load_explicit(&sl_sample_filter, memory_order_relaxed);
    return SL_LIKELY(filter != NULL) && atomic_load_explicit(sl_sample_filter_of(filter, p), memory_order_relaxed) == 0;
}

/* Whether the allocation of `size` bytes at p is to be recorded. */
static inline int sl_sample_alloc(void *p, size_t size)
{
    if (SL_LIKELY(sl_sample_mean == 0))
        return 1;
    if (sl_sample_skip_alloc(size))
        return 0;
    return sl_sample_alloc_slow(p, size);
}

/* Whether the free of p is to be recorded (p was sampled, or cannot be ruled out). */
static inline int sl_sample_free(void *p)
{
    if (SL_LIKELY(sl_sample_mean == 0))
        return 1;
    if (sl_sample_skip_free(p))
        return 0;
    return sl_sample_free_slow(p);
}

#pragma GCC visibility pop

#endif
