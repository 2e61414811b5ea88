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

/* Mean bytes between samples; 0: exact mode, every allocation recorded.
 * Written only while tracing is off (session start). */
extern uint64_t sl_sample_mean;
/* Bytes this thread may still allocate before its next sample (0: no gap drawn yet). */
extern __thread uint64_t sl_sample_left __attribute__((tls_model("initial-exec")));

/* Maps the sampled-address set on first use and sets the mean (0 = exact).
 * Not for the hook path. 0 or errno; on error the mode is left unchanged. */
int sl_sampling_configure(uint64_t mean_bytes);

int sl_sample_alloc_slow(void *p, size_t size);
int sl_sample_free_slow(void *p);

/* A counting summary of the set: the entry of an address counts the set's
 * members that share it, so a zero rules the address out with one byte
 * read. Entries follow the address (16-byte granules, wrapping every 1 MiB),
 * not a hash: neighbouring blocks share cache lines of the summary as they
 * share the heap's, and a free rarely misses the cache (a hashed 64 KiB
 * table missed L1 on most frees). */
#define SL_SAMPLE_FILTER_BITS 16
extern _Atomic uint8_t *sl_sample_filter;

static inline _Atomic uint8_t *sl_sample_filter_of(const void *p)
{
    return &sl_sample_filter[((uintptr_t)p >> 4) & ((1u << SL_SAMPLE_FILTER_BITS) - 1)];
}

/* Whether the allocation of `size` bytes at p is to be recorded. */
static inline int sl_sample_alloc(void *p, size_t size)
{
    if (SL_LIKELY(sl_sample_mean == 0))
        return 1;
    if (SL_LIKELY(size < sl_sample_left)) {
        sl_sample_left -= size;
        return 0;
    }
    return sl_sample_alloc_slow(p, size);
}

/* Whether the free of p is to be recorded (p was sampled, or cannot be ruled out). */
static inline int sl_sample_free(void *p)
{
    if (SL_LIKELY(sl_sample_mean == 0))
        return 1;
    if (SL_LIKELY(atomic_load_explicit(sl_sample_filter_of(p), memory_order_relaxed) == 0))
        return 0;
    return sl_sample_free_slow(p);
}

#endif
