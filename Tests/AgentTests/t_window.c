/*
 * t_window.c: the consumer's pair window (Sources/Agent/pair_window.c)
 * linked into the harness on its own. Random event sequences (address
 * reuse, nested and crossed lifetimes, frees of unknown blocks, missed
 * frees of held blocks, failed allocations, batches ending anywhere) are replayed twice
 * through the aggregator's rules: raw, and as the window sends them. At
 * every batch end both must agree on everything a snapshot holds: the
 * live blocks, current and peak bytes and blocks, allocation, free,
 * unknown-free and replaced counts, and what each (stack, size) allocated.
 */
#include "harness.h"

#include "pair_window.h"

#include <stdlib.h>
#include <string.h>

/* The aggregator's rules (Sources/LeakAggregator/Aggregator.swift). */
struct model {
    struct map live;        /* address -> size << 8 | stack, plus 1 */
    struct map allocated;   /* stack << 32 | size -> blocks */
    uint64_t bytes, blocks, peak_bytes, peak_blocks;
    uint64_t allocations, frees, unknown, replaced;
};

static void release(struct model *m, uint64_t v)
{
    m->bytes -= (v - 1) >> 8;
    m->blocks--;
}

static void model_alloc(struct model *m, uint64_t address, uint64_t size, uint32_t stack)
{
    m->allocations++;
    if (!address)
        return;
    uint64_t *v = map_slot(&m->live, address, 1);
    if (*v) {
        m->replaced++;
        release(m, *v);
    }
    *v = (size << 8 | stack) + 1;
    m->bytes += size;
    m->blocks++;
    if (m->bytes > m->peak_bytes)
        m->peak_bytes = m->bytes;
    if (m->blocks > m->peak_blocks)
        m->peak_blocks = m->blocks;
    *map_slot(&m->allocated, (uint64_t)stack << 32 | size, 1) += 1;
}

static void model_free(struct model *m, uint64_t address)
{
    if (!address)
        return;
    uint64_t *v = map_slot(&m->live, address, 0);
    if (!v || !*v) {
        m->unknown++;
        return;
    }
    m->frees++;
    release(m, *v);
    *v = 0;
}

/* A known block is freed and allocated again at its size; an unknown one is
 * left alone. */
static void model_retag(struct model *m, uint64_t address, uint32_t stack)
{
    uint64_t *v = address ? map_slot(&m->live, address, 0) : NULL;
    if (!v || !*v)
        return;
    uint64_t size = (*v - 1) >> 8;
    model_free(m, address);
    model_alloc(m, address, size, stack);
}

/* ---- the window's output goes to `sent` -------------------------------- */

static struct model sent;
static int bad_order;   /* an empty pair count or peak record */
static uint64_t pairs_sent, peaks_sent;

void sl_window_out_alloc(uint64_t address, uint64_t size, uint32_t stack_id)
{
    model_alloc(&sent, address, size, stack_id);
}

void sl_window_out_free(uint64_t address)
{
    model_free(&sent, address);
}

static uint64_t retags_sent;

void sl_window_out_retag(uint64_t address, uint32_t stack_id)
{
    retags_sent++;
    model_retag(&sent, address, stack_id);
}

void sl_window_out_peak(uint64_t bytes, uint64_t blocks)
{
    if (!bytes && !blocks)
        bad_order++;
    peaks_sent++;
    if (sent.bytes + bytes > sent.peak_bytes)
        sent.peak_bytes = sent.bytes + bytes;
    if (sent.blocks + blocks > sent.peak_blocks)
        sent.peak_blocks = sent.blocks + blocks;
}

void sl_window_out_pairs(uint32_t stack_id, uint64_t size, uint64_t count)
{
    if (!count)
        bad_order++;
    pairs_sent += count;
    sent.allocations += count;
    sent.frees += count;
    *map_slot(&sent.allocated, (uint64_t)stack_id << 32 | size, 1) += count;
}

/* ---- comparing ----------------------------------------------------------- */

static int same_map(struct map *a, struct map *b)
{
    for (size_t i = 0; i < a->cap; i++) {
        if (!a->keys[i] || !a->vals[i])
            continue;
        uint64_t *v = map_slot(b, a->keys[i] - 1, 0);
        if (!v || *v != a->vals[i])
            return 0;
    }
    return 1;
}

static int same(struct model *a, struct model *b)
{
    if (getenv("WINDOW_DEBUG"))
        fprintf(stderr, "b %lu/%lu k %lu/%lu pb %lu/%lu pk %lu/%lu a %lu/%lu f %lu/%lu u %lu/%lu r %lu/%lu live %d %d alloc %d %d\n",
            a->bytes, b->bytes, a->blocks, b->blocks, a->peak_bytes, b->peak_bytes, a->peak_blocks, b->peak_blocks,
            a->allocations, b->allocations, a->frees, b->frees, a->unknown, b->unknown, a->replaced, b->replaced,
            same_map(&a->live, &b->live), same_map(&b->live, &a->live), same_map(&a->allocated, &b->allocated),
            same_map(&b->allocated, &a->allocated));
    return a->bytes == b->bytes && a->blocks == b->blocks && a->peak_bytes == b->peak_bytes &&
           a->peak_blocks == b->peak_blocks && a->allocations == b->allocations && a->frees == b->frees &&
           a->unknown == b->unknown && a->replaced == b->replaced && same_map(&a->live, &b->live) &&
           same_map(&b->live, &a->live) && same_map(&a->allocated, &b->allocated) &&
           same_map(&b->allocated, &a->allocated);
}

static void model_clear(struct model *m)
{
    free(m->live.keys);
    free(m->live.vals);
    free(m->allocated.keys);
    free(m->allocated.vals);
    memset(m, 0, sizeof *m);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int held(struct sl_window *w, uint64_t address)
{
    return sl_window_find(w, address) >= 0;
}

#define POOL 24

void t_window(void)
{
    static struct sl_window w;
    struct model raw = {0};
    long sequences = 0, checks = 0, mismatches = 0;
    for (int seq = 0; seq < 10000 && !mismatches; seq++) {
        sl_window_reset(&w);
        model_clear(&raw);
        model_clear(&sent);
        uint64_t order[POOL];   /* live pool addresses, newest last */
        int nlive = 0;
        int events = 100 + (int)(next() % 400);
        for (int e = 0; e < events; e++) {
            unsigned r = (unsigned)(next() % 100);
            if (r < 45 || nlive == 0) {
                uint64_t address = 0x1000 + 16 * (next() % POOL);
                if (next() % 50 == 0)
                    address = 0;   /* a failed allocation */
                uint64_t *v = address ? map_slot(&raw.live, address, 0) : NULL;
                int live = v && *v;
                /* Now and then a missed free: the address again while its
                 * block is still held. (Once its allocation is sent, the
                 * reader repairs a missed free only if the re-allocation is
                 * sent too: see pair_window.h.) */
                if (live && (next() % 8 || !held(&w, address)))
                    continue;
                uint64_t size = next() % 5 ? 1 + next() % 64 : 1 + next() % 100000;
                uint32_t stack = 1 + (uint32_t)(next() % 3);
                model_alloc(&raw, address, size, stack);
                sl_window_alloc(&w, address, size, stack);
                if (address && !live && nlive < POOL)
                    order[nlive++] = address;
            } else if (r < 85) {
                /* Mostly the newest live block (nested lifetimes), else any. */
                int k = next() % 3 ? nlive - 1 : (int)(next() % (uint64_t)nlive);
                uint64_t address = order[k];
                memmove(&order[k], &order[k + 1], (size_t)(nlive - k - 1) * sizeof order[0]);
                nlive--;
                model_free(&raw, address);
                sl_window_free(&w, address);
            } else if (r < 88) {
                uint64_t address = 0x900000 + 16 * (next() % 8);   /* allocated before tracing */
                model_free(&raw, address);
                sl_window_free(&w, address);
            } else if (r < 91) {
                /* Handed out again under another stack: a live block, held
                 * or sent, or now and then one allocated before tracing. */
                uint64_t address = next() % 6 ? order[next() % (uint64_t)nlive] : 0x900000 + 16 * (next() % 8);
                uint32_t stack = 1 + (uint32_t)(next() % 3);
                model_retag(&raw, address, stack);
                sl_window_retag(&w, address, stack);
            } else if (r < 93) {
                sl_window_commit(&w);   /* an ordered record goes out */
            } else {
                sl_window_settle(&w);   /* end of a batch: everything must agree */
                checks++;
                mismatches += !same(&raw, &sent);
            }
        }
        sl_window_settle(&w);
        checks++;
        mismatches += !same(&raw, &sent);
        sequences++;
        if (mismatches)
            fprintf(stderr, "    raw: %lu B %lu blocks, peak %lu B %lu; sent: %lu B %lu, peak %lu B %lu\n",
                    (unsigned long)raw.bytes, (unsigned long)raw.blocks, (unsigned long)raw.peak_bytes,
                    (unsigned long)raw.peak_blocks, (unsigned long)sent.bytes, (unsigned long)sent.blocks,
                    (unsigned long)sent.peak_bytes, (unsigned long)sent.peak_blocks);
    }
    CHECK(mismatches == 0, "the window's stream and the raw one disagree (sequence %ld)", sequences);
    CHECK(bad_order == 0, "%d empty pair or peak records", bad_order);
    /* A window that sent everything would pass the above: it must not. */
    CHECK(pairs_sent > 100000 && peaks_sent > 10000, "pairs %lu, peak records %lu", (unsigned long)pairs_sent,
          (unsigned long)peaks_sent);
    /* Retags of held blocks are folded; the rest must still go out. */
    CHECK(retags_sent > 1000, "retag records %lu", (unsigned long)retags_sent);
    printf("    window: %ld sequences, %ld batch ends compared, %lu pairs never sent, %lu peak records\n", sequences,
           checks, (unsigned long)pairs_sent, (unsigned long)peaks_sent);
    model_clear(&raw);
    model_clear(&sent);
}
