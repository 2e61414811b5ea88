/*
 * pair_window.c: the window's slow paths: a free that is not of the one
 * held allocation, sending what is held, and the pair counters.
 */
#include "pair_window.h"

#include <string.h>

void sl_window_reset(struct sl_window *w)
{
    memset(w, 0, sizeof *w);
}

static inline uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static void out_gap(uint64_t bytes, uint64_t blocks)
{
    if (bytes || blocks)
        sl_window_out_peak(bytes, blocks);
}

void sl_window_commit_oldest(struct sl_window *w)
{
    struct sl_held_alloc *h = sl_window_at(w, 0);
    out_gap(h->gap_bytes, h->gap_blocks);
    sl_window_out_alloc(h->address, h->size, h->stack_id);
    w->first = (w->first + 1) & (SL_WINDOW_CAP - 1);
    w->n--;
}

void sl_window_commit(struct sl_window *w)
{
    while (w->n)
        sl_window_commit_oldest(w);
    out_gap(w->gap_bytes, w->gap_blocks);
    w->gap_bytes = 0;
    w->gap_blocks = 0;
}

/* Held allocation k is freed: it never reaches the stream. */
static void vanish(struct sl_window *w, unsigned k)
{
    struct sl_held_alloc x = *sl_window_at(w, k);
    /* Every gap after x saw it live; the two gaps around it become one. */
    uint64_t *after_bytes = &w->gap_bytes;
    uint32_t *after_blocks = &w->gap_blocks;
    if (k + 1 < w->n) {
        for (unsigned j = k + 2; j < w->n; j++) {
            sl_window_at(w, j)->gap_bytes += x.size;
            sl_window_at(w, j)->gap_blocks += 1;
        }
        w->gap_bytes += x.size;
        w->gap_blocks += 1;
        after_bytes = &sl_window_at(w, k + 1)->gap_bytes;
        after_blocks = &sl_window_at(w, k + 1)->gap_blocks;
    }
    *after_bytes = max64(x.gap_bytes, *after_bytes + x.size);
    *after_blocks = (uint32_t)max64(x.gap_blocks, (uint64_t)*after_blocks + 1);
    for (unsigned j = k; j + 1 < w->n; j++)
        *sl_window_at(w, j) = *sl_window_at(w, j + 1);
    w->n--;
    w->folded++;
    sl_window_count_pair(w, x.stack_id, x.size);
}

/* The free of a block allocated before everything held (or before
 * tracing) goes out at once, ahead of the held allocations it came after,
 * so that they may still fold. The reader will see it before them, so the
 * live totals it never sees together with them are told first: the most
 * they reached anywhere since the last record, every held allocation live
 * from its own place on (the prefix sums), plus each gap's excess. From
 * the free on, the held blocks come after it for the reader, as they are
 * live after it in fact, and the gaps start again from nothing. */
static void free_past(struct sl_window *w, uint64_t address)
{
    uint64_t bytes = 0, blocks = 0, held_bytes = 0, held_blocks = 0;
    for (unsigned k = 0; k < w->n; k++) {
        struct sl_held_alloc *h = sl_window_at(w, k);
        bytes = max64(bytes, held_bytes + h->gap_bytes);
        blocks = max64(blocks, held_blocks + h->gap_blocks);
        if (h->address) {   /* a failed allocation is no live block */
            held_bytes += h->size;
            held_blocks++;
        }
        h->gap_bytes = 0;
        h->gap_blocks = 0;
    }
    bytes = max64(bytes, held_bytes + w->gap_bytes);
    blocks = max64(blocks, held_blocks + w->gap_blocks);
    w->gap_bytes = 0;
    w->gap_blocks = 0;
    out_gap(bytes, blocks);
    sl_window_out_free(address);
}

void sl_window_alloc_again(struct sl_window *w, uint64_t address, uint64_t size, uint32_t stack_id)
{
    sl_window_commit(w);
    sl_window_out_alloc(address, size, stack_id);
}

void sl_window_free_slow(struct sl_window *w, uint64_t address)
{
    if (address) {
        unsigned k = w->n;
        while (k > 0 && sl_window_at(w, k - 1)->address != address)
            k--;
        if (k > 0) {
            vanish(w, k - 1);
            return;
        }
    }
    free_past(w, address);
}

static void out_pairs(struct sl_window *w)
{
    for (unsigned i = 0; i < w->npairs; i++) {
        struct sl_pair_count *c = &w->pairs[w->used[i]];
        sl_window_out_pairs(c->stack_id, c->size, c->count);
        c->count = 0;
    }
    w->npairs = 0;
}

void sl_window_count_pair_slow(struct sl_window *w, uint32_t stack_id, uint64_t size)
{
    if (w->npairs >= SL_PAIRS_CAP / 2)
        out_pairs(w);   /* their place in the stream does not matter */
    unsigned i = sl_pair_home(stack_id, size);
    for (;;) {
        struct sl_pair_count *c = &w->pairs[i];
        if (!c->count) {
            c->stack_id = stack_id;
            c->size = size;
            c->count = 1;
            w->used[w->npairs++] = (uint16_t)i;
            break;
        }
        if (c->stack_id == stack_id && c->size == size) {
            c->count++;
            break;
        }
        i = (i + 1) & (SL_PAIRS_CAP - 1);
    }
}

void sl_window_settle(struct sl_window *w)
{
    sl_window_commit(w);
    out_pairs(w);
}
