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

static inline uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
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

void sl_window_free_slow(struct sl_window *w, uint64_t address)
{
    if (address) {
        unsigned k = w->n;
        while (k > 0 && sl_window_at(w, k - 1)->address != address)
            k--;
        if (k > 0) {
            /* Two held at one address means a free was missed between
             * them: the reader must see both, as it would have. */
            unsigned older = k - 1;
            while (older > 0 && sl_window_at(w, older - 1)->address != address)
                older--;
            if (older == 0) {
                vanish(w, k - 1);
                return;
            }
        }
    }
    sl_window_commit(w);
    sl_window_out_free(address);
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
