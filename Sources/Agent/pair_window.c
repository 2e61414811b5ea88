/*
 * pair_window.c: the window's slow paths: an allocation that goes out at
 * once, room for a new one, a free of nothing held, sending what is held,
 * and the pair counters.
 */
#include "pair_window.h"

#include <string.h>

void sl_window_reset(struct sl_window *w)
{
    memset(w, 0, sizeof *w);
}

/* The oldest slot goes: out as an allocation if its block still lives.
 * The reader's current rises by what leaves the held total, so the most
 * held, counted from the reader's current, falls by as much. */
void sl_window_send_oldest(struct sl_window *w)
{
    unsigned slot = w->first;
    w->first = (w->first + 1) & (SL_WINDOW_CAP - 1);
    w->n--;
    if (!w->tag.byte[slot])
        return;   /* vanished */
    w->tag.byte[slot] = 0;
    w->held_bytes -= w->size[slot];
    w->held_blocks--;
    w->held_max_bytes -= w->size[slot];
    w->held_max_blocks--;
    sl_window_out_alloc(w->address[slot], w->size[slot], w->stack_id[slot]);
}

void sl_window_commit(struct sl_window *w)
{
    /* Sent in order, the allocations show the reader the held total it
     * ends at; a higher one reached before is told first. */
    if (!w->max_told && (w->held_max_bytes > w->held_bytes || w->held_max_blocks > w->held_blocks))
        sl_window_out_peak(w->held_max_bytes, w->held_max_blocks);
    while (w->n)
        sl_window_send_oldest(w);
    w->held_max_bytes = 0;
    w->held_max_blocks = 0;
    w->max_told = 1;
}

void sl_window_alloc_now(struct sl_window *w, uint64_t address, uint64_t size, uint32_t stack_id)
{
    sl_window_commit(w);
    sl_window_out_alloc(address, size, stack_id);
}

/* The free of a block sent earlier (or allocated before tracing) goes out
 * at once, ahead of the held allocations it came after, so that they may
 * still fold. The reader's current is about to fall by a size only it
 * knows: the most held until now is told first, and counting starts again
 * from what is held, live after the free as before it. */
void sl_window_free_past(struct sl_window *w, uint64_t address)
{
    if (!w->max_told && (w->held_max_bytes || w->held_max_blocks))
        sl_window_out_peak(w->held_max_bytes, w->held_max_blocks);
    sl_window_out_free(address);
    /* What is held now is no more than what was told, at a current that
     * was no lower. */
    w->held_max_bytes = w->held_bytes;
    w->held_max_blocks = w->held_blocks;
    w->max_told = 1;
}

void sl_window_retag(struct sl_window *w, uint64_t address, uint32_t stack_id)
{
    int slot = address && w->n ? sl_window_find(w, address) : -1;
    if (slot < 0) {
        sl_window_out_retag(address, stack_id);
        return;
    }
    uint64_t size = w->size[slot];
    sl_window_free(w, address);
    sl_window_alloc(w, address, size, stack_id);
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
            return;
        }
        if (c->stack_id == stack_id && c->size == size) {
            c->count++;
            return;
        }
        i = (i + 1) & (SL_PAIRS_CAP - 1);
    }
}

void sl_window_settle(struct sl_window *w)
{
    sl_window_commit(w);
    out_pairs(w);
}
