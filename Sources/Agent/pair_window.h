/*
 * pair_window.h: the consumer's window of allocations not yet sent.
 *
 * Most blocks die young, and a block allocated and freed again costs the
 * reader two records and two table operations for nothing it will ever
 * show as live. The consumer therefore holds the newest allocations back
 * (at most SL_WINDOW_CAP, and never past the end of a batch). When a free
 * finds its allocation still held, neither goes on the wire: the pair is
 * counted per (stack, size) and sent as one SL_REC_PAIRS record a batch.
 *
 * What the reader computes stays exactly what the raw records would have
 * made it, including the peak, which is the one figure a vanished pair
 * could lower: each gap between two records that do reach the stream
 * carries the most the vanished blocks added to the live totals anywhere
 * in it ("gap excess"), sent as an SL_REC_PEAK record in that gap. Removing
 * a held allocation X (freed now) merges the gaps on either side of it,
 * max(before, after + X), and adds X to every later gap, where X was live.
 *
 * A free that finds nothing held (of a block sent earlier, or allocated
 * before tracing) goes out at once, ahead of the held allocations that came
 * before it, preceded by the most the live totals reached since the last
 * record with those allocations counted: the reader sees the same peak,
 * and the held allocations may still fold. Every other ordered record
 * (SYNC, STATUS, EXITING...) first sends everything held. Tested against a
 * replay of the raw events in Tests/AgentTests/t_window.c.
 *
 * A free the hooks missed shows as an allocation at an address still
 * held: everything held and the new allocation go out at once, and the
 * reader replaces the old block as it would have. One limit remains: once
 * the old block was sent, a re-allocation that vanishes here with its own
 * free leaves the old block live in the reader until the address is next
 * sent.
 *
 * One consumer thread owns a window; nothing here is shared or locked.
 */
#ifndef SWIFTLEAK_PAIR_WINDOW_H
#define SWIFTLEAK_PAIR_WINDOW_H

#include <stdint.h>

#define SL_WINDOW_CAP 16u    /* held allocations; a power of two */
#define SL_PAIRS_CAP 256u    /* (stack, size) counters a batch; a power of two */

struct sl_held_alloc {
    uint64_t address;
    uint64_t size;
    uint64_t gap_bytes;      /* excess of the gap just before this allocation */
    uint32_t gap_blocks;
    uint32_t stack_id;
};

struct sl_pair_count {
    uint64_t size;
    uint64_t count;          /* 0: slot unused */
    uint32_t stack_id;
};

struct sl_window {
    struct sl_held_alloc held[SL_WINDOW_CAP];
    unsigned first, n;                /* held[(first + k) % CAP], k < n, oldest first */
    uint64_t gap_bytes;               /* excess of the gap after the newest record */
    uint32_t gap_blocks;
    uint32_t frees, folded;           /* since the consumer last looked: is the window worth it? */
    unsigned npairs;
    uint16_t used[SL_PAIRS_CAP];      /* the counters in use, to clear only those */
    struct sl_pair_count pairs[SL_PAIRS_CAP];
};

/* What the window sends, in stream order; the consumer (agent_thread.c) or
 * a test defines them. */
void sl_window_out_alloc(uint64_t address, uint64_t size, uint32_t stack_id);
void sl_window_out_free(uint64_t address);
void sl_window_out_peak(uint64_t bytes, uint64_t blocks);
void sl_window_out_pairs(uint32_t stack_id, uint64_t size, uint64_t count);

void sl_window_reset(struct sl_window *w);
/* Sends everything held, oldest first, then the last gap's excess: call
 * before any record whose place in the order matters. */
void sl_window_commit(struct sl_window *w);
/* sl_window_commit, then the pair counts: before SYNC, STATUS, EXITING and
 * whenever the buffer goes out. */
void sl_window_settle(struct sl_window *w);

void sl_window_free_slow(struct sl_window *w, uint64_t address);
void sl_window_alloc_again(struct sl_window *w, uint64_t address, uint64_t size, uint32_t stack_id);
void sl_window_commit_oldest(struct sl_window *w);
void sl_window_count_pair_slow(struct sl_window *w, uint32_t stack_id, uint64_t size);

static inline struct sl_held_alloc *sl_window_at(struct sl_window *w, unsigned k)
{
    return &w->held[(w->first + k) & (SL_WINDOW_CAP - 1)];
}

/* The counter's home slot; the slow path probes on from it. */
static inline unsigned sl_pair_home(uint32_t stack_id, uint64_t size)
{
    return (unsigned)(((size ^ (uint64_t)stack_id << 32) * 0x9e3779b97f4a7c15ull) >> 56) & (SL_PAIRS_CAP - 1);
}

/* Inline while the pair's counter sits in its home slot, as nearly all do:
 * a program's pairs cycle through few stacks and sizes. */
static inline void sl_window_count_pair(struct sl_window *w, uint32_t stack_id, uint64_t size)
{
    struct sl_pair_count *c = &w->pairs[sl_pair_home(stack_id, size)];
    if (__builtin_expect(c->count && c->stack_id == stack_id && c->size == size, 1)) {
        c->count++;
        return;
    }
    sl_window_count_pair_slow(w, stack_id, size);
}

static inline void sl_window_alloc(struct sl_window *w, uint64_t address, uint64_t size, uint32_t stack_id)
{
    for (unsigned k = 0; k < w->n; k++) {
        if (__builtin_expect(sl_window_at(w, k)->address == address && address, 0)) {
            sl_window_alloc_again(w, address, size, stack_id);
            return;
        }
    }
    if (__builtin_expect(w->n == SL_WINDOW_CAP, 0))
        sl_window_commit_oldest(w);
    struct sl_held_alloc *h = sl_window_at(w, w->n++);
    h->address = address;
    h->size = size;
    h->gap_bytes = w->gap_bytes;
    h->gap_blocks = w->gap_blocks;
    h->stack_id = stack_id;
    w->gap_bytes = 0;
    w->gap_blocks = 0;
}

/* The common case inline: the free of the newest held allocation, the only
 * one held with that address. */
static inline void sl_window_free(struct sl_window *w, uint64_t address)
{
    w->frees++;
    if (w->n == 1 && address) {
        struct sl_held_alloc *h = sl_window_at(w, 0);
        if (h->address == address) {
            uint64_t b = w->gap_bytes + h->size;
            uint32_t k = w->gap_blocks + 1;
            w->gap_bytes = b > h->gap_bytes ? b : h->gap_bytes;
            w->gap_blocks = k > h->gap_blocks ? k : h->gap_blocks;
            w->n = 0;
            w->folded++;
            sl_window_count_pair(w, h->stack_id, h->size);
            return;
        }
    }
    sl_window_free_slow(w, address);
}

#endif
