/*
 * pair_window.h: the consumer's window of allocations not yet sent.
 *
 * Most blocks die young, and a block allocated and freed again costs the
 * reader two records and two table operations for nothing it will ever
 * show as live. The consumer therefore holds the newest allocations back
 * (at most SL_WINDOW_CAP). When a free finds its allocation still held,
 * neither goes on the wire: the pair is counted per (stack, size) and sent
 * as one SL_REC_PAIRS record a batch.
 *
 * What the reader computes stays exactly what the raw records would have
 * made it, including the peak, the one figure a vanished pair could lower.
 * The blocks held are exactly the live blocks the reader does not know of,
 * so at every moment the true live total is the reader's current plus what
 * is held. The window keeps the most that was held since the reader's
 * current last moved under it ("held_max"), and tells it, as an SL_REC_PEAK
 * record, before the reader's current moves: before a free goes out ahead
 * of held allocations (a free of a block sent earlier, or allocated before
 * tracing, may still let them fold), and before everything held goes out
 * (when the window is settled for an ordered record: SYNC, STATUS, EXITING,
 * or at idle) if the allocations themselves will not show it; not again
 * while it is no more than what was told (the reader's current only fell
 * since, by the frees). An allocation
 * that goes out alone (the window full) moves the reader's current up by
 * exactly what leaves the held total, so the maximum is only shifted.
 *
 * A free the hooks missed shows as an allocation at an address still held:
 * everything held and the new allocation go out at once, and the reader
 * replaces the old block as it would have. One limit remains: once the old
 * block was sent, a re-allocation that vanishes here with its own free
 * leaves the old block live in the reader until the address is next sent.
 * Failed allocations (address 0) go out at once too.
 *
 * Tested against a replay of the raw events in Tests/AgentTests/t_window.c.
 * One consumer thread owns a window; nothing here is shared or locked.
 */
#ifndef SWIFTLEAK_PAIR_WINDOW_H
#define SWIFTLEAK_PAIR_WINDOW_H

#include <stdint.h>

#define SL_WINDOW_CAP 16u    /* held allocations: their tags fill two words */
#define SL_PAIRS_CAP 256u    /* (stack, size) counters a batch; a power of two */

struct sl_pair_count {
    uint64_t size;
    uint64_t count;          /* 0: slot unused */
    uint32_t stack_id;
};

struct sl_window {
    /* A ring of slots, oldest at `first`; `n` slots in use from there. A
     * slot whose block vanished keeps its place (tag 0) until it reaches
     * the front, so no free moves the others. */
    uint64_t address[SL_WINDOW_CAP];
    uint64_t size[SL_WINDOW_CAP];
    uint32_t stack_id[SL_WINDOW_CAP];
    union {
        uint8_t byte[SL_WINDOW_CAP];   /* a hash of the address, never 0; 0: free slot */
        uint64_t word[SL_WINDOW_CAP / 8];
    } tag;
    unsigned first, n;
    uint64_t held_bytes, held_max_bytes;
    uint32_t held_blocks, held_max_blocks;
    uint32_t max_told;                /* the reader was told as much (or more) as the most held */
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
void sl_window_out_retag(uint64_t address, uint32_t stack_id);

void sl_window_reset(struct sl_window *w);
/* Sends everything held, oldest first (after the peak it reached, if the
 * allocations alone would not show it): before any record whose place in
 * the order matters. */
void sl_window_commit(struct sl_window *w);
/* sl_window_commit, then the pair counts: before SYNC, STATUS, EXITING and
 * whenever the consumer goes idle. */
void sl_window_settle(struct sl_window *w);

/* The live block at `address` now belongs to `stack_id` (SL_REC_RETAG: to a
 * reader, its free and allocation again at the same size). Held, it is
 * exactly that here: a pair at its old stack, and held again at the new. */
void sl_window_retag(struct sl_window *w, uint64_t address, uint32_t stack_id);

void sl_window_alloc_now(struct sl_window *w, uint64_t address, uint64_t size, uint32_t stack_id);
void sl_window_send_oldest(struct sl_window *w);
void sl_window_free_past(struct sl_window *w, uint64_t address);
void sl_window_count_pair_slow(struct sl_window *w, uint32_t stack_id, uint64_t size);

static inline uint8_t sl_window_tag(uint64_t address)
{
    return (uint8_t)((address * 0x9e3779b97f4a7c15ull) >> 56) | 1u;
}

/* The slot holding `address`, or -1. Tags are compared eight at a time;
 * a zero-byte test can flag a byte next to a true match, so every flagged
 * slot's address is compared too. No address is held twice. */
static inline int sl_window_find(const struct sl_window *w, uint64_t address)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t pattern = sl_window_tag(address) * ones;
    for (unsigned i = 0; i < SL_WINDOW_CAP / 8; i++) {
        uint64_t x = w->tag.word[i] ^ pattern;
        uint64_t hits = (x - ones) & ~x & highs;
        while (hits) {
            unsigned slot = i * 8 + (unsigned)__builtin_ctzll(hits) / 8;
            if (w->address[slot] == address)
                return (int)slot;
            hits &= hits - 1;
        }
    }
    return -1;
}

/* The pair's counter's home slot; the slow path probes on from it. */
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
    if (__builtin_expect(!address || (w->n && sl_window_find(w, address) >= 0), 0)) {
        sl_window_alloc_now(w, address, size, stack_id);
        return;
    }
    if (__builtin_expect(w->n == SL_WINDOW_CAP, 0))
        sl_window_send_oldest(w);   /* full: room for the new one */
    unsigned slot = (w->first + w->n++) & (SL_WINDOW_CAP - 1);
    w->address[slot] = address;
    w->size[slot] = size;
    w->stack_id[slot] = stack_id;
    w->tag.byte[slot] = sl_window_tag(address);
    w->held_bytes += size;
    w->held_blocks++;
    if (w->held_bytes > w->held_max_bytes) {
        w->held_max_bytes = w->held_bytes;
        w->max_told = 0;
    }
    if (w->held_blocks > w->held_max_blocks) {
        w->held_max_blocks = w->held_blocks;
        w->max_told = 0;
    }
}

static inline void sl_window_free(struct sl_window *w, uint64_t address)
{
    w->frees++;
    /* Most often the newest is the one freed. */
    unsigned newest = (w->first + w->n - 1) & (SL_WINDOW_CAP - 1);
    int slot = w->n && w->address[newest] == address && w->tag.byte[newest] ? (int)newest
               : address && w->n ? sl_window_find(w, address) : -1;
    if (__builtin_expect(slot < 0, 0)) {
        sl_window_free_past(w, address);
        return;
    }
    /* It vanishes: the most held so far stays as it was. */
    w->held_bytes -= w->size[slot];
    w->held_blocks--;
    w->tag.byte[slot] = 0;
    w->folded++;
    while (w->n && !w->tag.byte[(w->first + w->n - 1) & (SL_WINDOW_CAP - 1)])
        w->n--;
    sl_window_count_pair(w, w->stack_id[slot], w->size[slot]);
}

#endif
