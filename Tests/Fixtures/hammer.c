/*
 * hammer: threads that allocate and free without pause, for attach/detach
 * stress tests and the attach benchmark. The main thread stays blocked in
 * read() on stdin, so an attach has a safe point to stop.
 *
 * Usage: hammer THREADS
 *   prints "ready" once every thread runs, then reads commands from stdin:
 *     "gap"   print "gap <microseconds>": the longest time any thread went
 *             between two loop iterations since the last "gap" (and reset it)
 *     "quit"  stop and join the threads, print
 *             "checksum <read> <expected> iterations <n>" and exit 0
 *
 * Ground truth for the checksum: every block gets its requested size written
 * into its first and last bytes; before a block is freed both are read back
 * and added to <read>, while <expected> adds up the sizes the thread asked
 * for. They differ only if someone (an allocator hook, say) handed out a
 * wrong or overlapping block, or lost a realloc's contents.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 64
#define MAX_THREADS 32

static atomic_int stop;
static atomic_int started;
static _Atomic uint64_t max_gap_ns;

struct worker {
    pthread_t id;
    unsigned seed;
    uint64_t read_sum, expected_sum, iterations;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned next_random(unsigned *state) {
    unsigned x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Sizes are stored as 32-bit values at both ends of the block. */
static void stamp(unsigned char *block, uint32_t size) {
    memcpy(block, &size, sizeof size);
    memcpy(block + size - sizeof size, &size, sizeof size);
}

static uint64_t read_back(const unsigned char *block, uint32_t size) {
    uint32_t head, tail;
    memcpy(&head, block, sizeof head);
    memcpy(&tail, block + size - sizeof tail, sizeof tail);
    return (uint64_t)head + tail;
}

static void note_gap(uint64_t gap) {
    uint64_t seen = atomic_load(&max_gap_ns);
    while (gap > seen && !atomic_compare_exchange_weak(&max_gap_ns, &seen, gap)) {
    }
}

static void *work(void *arg) {
    struct worker *w = arg;
    unsigned char *blocks[SLOTS] = {0};
    uint32_t sizes[SLOTS] = {0};
    atomic_fetch_add(&started, 1);
    uint64_t last = now_ns();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned r = next_random(&w->seed);
        unsigned slot = r % SLOTS;
        uint32_t size = 8 + (r >> 8) % 4089;   /* 8..4096 bytes */
        if (blocks[slot]) {
            w->read_sum += read_back(blocks[slot], sizes[slot]);
            if (r & 0x10000) {
                /* realloc keeps the old contents: read back its head too. */
                unsigned char *grown = realloc(blocks[slot], size);
                if (!grown) abort();
                uint32_t kept;
                memcpy(&kept, grown, sizeof kept);
                w->read_sum += kept;
                w->expected_sum += sizes[slot];
                blocks[slot] = grown;
                sizes[slot] = size;
                stamp(grown, size);
                w->expected_sum += 2ull * size;
                goto timed;
            }
            free(blocks[slot]);
        }
        blocks[slot] = (r & 0x20000) ? calloc(1, size) : malloc(size);
        if (!blocks[slot]) abort();
        sizes[slot] = size;
        stamp(blocks[slot], size);
        w->expected_sum += 2ull * size;
    timed:
        w->iterations++;
        uint64_t now = now_ns();
        note_gap(now - last);
        last = now;
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (!blocks[i]) continue;
        w->read_sum += read_back(blocks[i], sizes[i]);
        free(blocks[i]);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: hammer THREADS (1-%d)\n", MAX_THREADS);
        return 2;
    }
    static struct worker workers[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        workers[t].seed = 2463534242u + 977u * (unsigned)t;
        if (pthread_create(&workers[t].id, NULL, work, &workers[t]) != 0) abort();
    }
    while (atomic_load(&started) < threads) sched_yield();
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "gap", 3) == 0) {
            printf("gap %llu\n", (unsigned long long)(atomic_exchange(&max_gap_ns, 0) / 1000));
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    atomic_store(&stop, 1);
    uint64_t read_sum = 0, expected_sum = 0, iterations = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].id, NULL);
        read_sum += workers[t].read_sum;
        expected_sum += workers[t].expected_sum;
        iterations += workers[t].iterations;
    }
    printf("checksum %llu %llu iterations %llu\n", (unsigned long long)read_sum,
           (unsigned long long)expected_sum, (unsigned long long)iterations);
    return read_sum == expected_sum ? 0 : 1;
}
