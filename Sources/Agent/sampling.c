/*
 * sampling.c: the sampled mode's per-thread byte countdown, its random
 * gaps, and the set of sampled blocks still alive (see sampling.h).
 */
#include "sampling.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

uint64_t sl_sample_mean;
_Atomic uint32_t sl_sample_epoch = SL_SAMPLE_EXACT_EPOCH;
__thread struct sl_sample_countdown sl_sample_countdown __attribute__((tls_model("initial-exec")));
_Atomic(_Atomic uint8_t *) sl_sample_filter;

/* The summary's memory, kept across sessions (sl_sample_filter is NULL in exact mode). */
static _Atomic uint8_t *filter;
static uint32_t last_epoch;

/* ---- random gaps ------------------------------------------------------ */

static __thread uint64_t rng_state __attribute__((tls_model("initial-exec")));
static uint64_t rng_seed;
static _Atomic uint64_t rng_streams;

/* splitmix64: each call a new, well-mixed 64-bit value. */
static uint64_t next_random(void)
{
    if (SL_UNLIKELY(rng_state == 0)) {
        /* One stream per thread: a shared seed plus a distinct offset. */
        rng_state = rng_seed + atomic_fetch_add(&rng_streams, 0x632BE59BD9B4E019ull) + 1;
    }
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Natural logarithm of x in (0, 1], without libm (the agent links libc
 * only): x = m * 2^e with m in [1, 2), ln m = 2 atanh((m-1)/(m+1)), a series
 * in t^2 with t <= 1/3, so eight terms leave an error below 1e-9. The
 * series runs by Horner's rule on the terms' reciprocals: multiplications,
 * not the eight divisions that made this the dearest step of a sample. */
static double log_unit(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    static const double odd_reciprocals[] = {1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0};
    double t = (m - 1) / (m + 1), t2 = t * t, series = 0;
    for (size_t i = 0; i < sizeof odd_reciprocals / sizeof odd_reciprocals[0]; i++)
        series = series * t2 + odd_reciprocals[i];
    return e * 0.69314718055994530942 + 2 * t * series;
}

/* An exponentially distributed gap with mean sl_sample_mean, at least 1. */
static uint64_t next_gap(void)
{
    double u = (double)((next_random() >> 11) + 1) * (1.0 / 9007199254740992.0);   /* (0, 1] */
    double gap = -log_unit(u) * (double)sl_sample_mean;
    return gap < 1 ? 1 : (uint64_t)gap;
}

/* ---- the set of sampled blocks alive --------------------------------- */

/* 2^17 buckets of 8 slots (one cache line each): 8 MiB of address space,
 * touched only where addresses land. A slot is 0 (never used), TOMBSTONE
 * (freed; reusable) or an address. A slot never goes back to 0, so a lookup
 * may stop at the first 0: nothing was ever inserted past it. */
#define BUCKET_BITS 17
#define BUCKET_SLOTS 8
#define BUCKET_SPAN_BITS 8   /* 256 bytes of address per bucket: at most 8 of glibc's 32-byte chunks */
#define TOMBSTONE 1ull
#define FILTER_STICKY 255   /* an entry that overflowed: its frees are always sent */

static _Atomic uint64_t *slots;

/* Buckets follow the address, 256 bytes of it to a bucket, so the set's
 * pages in use grow with the heap's span, not with the number of samples:
 * a hash spread a few thousand samples over all 2,048 pages, and the first
 * touch of each was a page fault on the allocating thread (about 1,000
 * extra faults in 2 million mallocbench pairs, 2-5% of its time). The table
 * wraps every 32 MiB of address; the bits above are hashed into a rotation,
 * so regions that lie a multiple of 32 MiB apart (glibc's thread arenas are
 * 64 MiB-aligned) do not pile into the same buckets. */
static _Atomic uint64_t *bucket_of(const void *p)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    uint64_t rotation = ((a >> (BUCKET_SPAN_BITS + BUCKET_BITS)) * 0x9E3779B97F4A7C15ull) >> (64 - BUCKET_BITS);
    uint64_t bucket = ((a >> BUCKET_SPAN_BITS) + rotation) & ((1u << BUCKET_BITS) - 1);
    return slots + bucket * BUCKET_SLOTS;
}

static void filter_add(const void *p, int delta)
{
    _Atomic uint8_t *f = sl_sample_filter_of(filter, p);
    uint8_t c = atomic_load(f);
    for (;;) {
        if (c == FILTER_STICKY)
            return;
        uint8_t next = delta > 0 ? (uint8_t)(c + 1) : (uint8_t)(c - 1);
        if (atomic_compare_exchange_weak(f, &c, next))
            return;
    }
}

static void insert_sampled(void *p)
{
    uint64_t key = (uint64_t)(uintptr_t)p;
    filter_add(p, +1);   /* before the slot: a lookup that sees the slot sees the count */
    _Atomic uint64_t *b = bucket_of(p);
    for (int i = 0; i < BUCKET_SLOTS; i++) {
        uint64_t v = atomic_load(&b[i]);
        while (v == 0 || v == TOMBSTONE) {
            if (atomic_compare_exchange_weak(&b[i], &v, key))
                return;
        }
    }
    /* Bucket full: the block stays sampled, and every free under this
     * filter entry is sent from now on. */
    atomic_store(sl_sample_filter_of(filter, p), FILTER_STICKY);
}

/* The set's slot holding p, or NULL. */
static _Atomic uint64_t *find_sampled(const void *p)
{
    uint64_t key = (uint64_t)(uintptr_t)p;
    _Atomic uint64_t *b = bucket_of(p);
    for (int i = 0; i < BUCKET_SLOTS; i++) {
        uint64_t v = atomic_load(&b[i]);
        if (v == 0)
            break;
        if (v == key)
            return &b[i];
    }
    return NULL;
}

/* p is in no slot: sampled all the same if its filter entry overflowed. */
static int sticky(const void *p)
{
    return atomic_load_explicit(sl_sample_filter_of(filter, p), memory_order_relaxed) == FILTER_STICKY;
}

int sl_sample_free_slow(void *p)
{
    _Atomic uint64_t *slot = find_sampled(p);
    if (!slot)
        return sticky(p);
    /* Only this thread can free p now: nobody else writes this slot, so a
     * plain (release) store does, no locked instruction. */
    atomic_store_explicit(slot, TOMBSTONE, memory_order_release);
    filter_add(p, -1);
    return 1;
}

int sl_sample_holds(const void *p)
{
    if (!sl_sample_mean)
        return 1;
    if (sl_sample_skip_free(p))
        return 0;
    return find_sampled(p) != NULL || sticky(p);
}

int sl_sample_alloc_slow(void *p, size_t size)
{
    struct sl_sample_countdown *c = &sl_sample_countdown;
    uint32_t epoch = atomic_load_explicit(&sl_sample_epoch, memory_order_relaxed);
    if (c->epoch != epoch) {
        /* This thread's first allocation under this configuration: draw its first gap. */
        c->epoch = epoch;
        c->left = next_gap();
        if (size < c->left) {
            c->left -= size;
            return 0;
        }
    }
    c->left = next_gap();
    insert_sampled(p);
    return 1;
}

/* ---- configuration ---------------------------------------------------- */

int sl_sampling_configure(uint64_t mean_bytes)
{
    if (mean_bytes && !slots) {
        size_t filter_bytes = (size_t)1 << SL_SAMPLE_FILTER_BITS;
        size_t slot_bytes = ((size_t)BUCKET_SLOTS << BUCKET_BITS) * sizeof(uint64_t);
        void *m = mmap(NULL, filter_bytes + slot_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return errno;
        filter = (_Atomic uint8_t *)m;
        slots = (_Atomic uint64_t *)((unsigned char *)m + filter_bytes);
        rng_seed = sl_now_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
    }
    sl_sample_mean = mean_bytes;
    if (mean_bytes && (++last_epoch == 0 || last_epoch == SL_SAMPLE_EXACT_EPOCH))
        last_epoch = 1;   /* 0 is a fresh thread's, the other exact mode's */
    atomic_store(&sl_sample_epoch, mean_bytes ? last_epoch : SL_SAMPLE_EXACT_EPOCH);
    atomic_store(&sl_sample_filter, mean_bytes ? filter : NULL);
    return 0;
}
