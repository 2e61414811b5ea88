/*
 * leaky: a multi-threaded C program with a known leak, for swiftleak's
 * integration tests. Ground truth:
 *   - every unit of work leaks exactly one block of LEAK_SIZE bytes, allocated
 *     by make_session_record() through a chain of non-inlined calls;
 *   - a bounded cache keeps at most CACHE_SLOTS blocks of CACHE_SIZE bytes;
 *   - transient allocations through calloc, realloc, posix_memalign,
 *     aligned_alloc, memalign, strdup and reallocarray are all freed.
 *
 * Usage:
 *   leaky batch UNITS THREADS   do UNITS units spread over THREADS threads, exit 0
 *   leaky interactive THREADS   print "ready", then read commands from stdin:
 *                                 "work N"  do N units (on the worker threads), print "done N"
 *                                 "quit"    exit 0
 *   The readiness lines are the handshake tests synchronise on (no sleeps).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_SIZE 4001
#define CACHE_SLOTS 16
#define CACHE_SIZE 512

static void **leaked;
static size_t leaked_count, leaked_capacity;
static void *cache[CACHE_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void *make_session_record(void) {
    void *record = malloc(LEAK_SIZE);
    memset(record, 0x5a, LEAK_SIZE);
    return record;
}

__attribute__((noinline)) static void store_session(void) {
    void *record = make_session_record();
    pthread_mutex_lock(&lock);
    if (leaked_count == leaked_capacity) {
        /* The array itself is allocated with mmap-free growth via realloc:
           it is live memory of its own site, not part of the leak site. */
        leaked_capacity = leaked_capacity ? leaked_capacity * 2 : 1024;
        leaked = realloc(leaked, leaked_capacity * sizeof *leaked);
    }
    leaked[leaked_count++] = record;
    pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) static void handle_request(void) {
    store_session();
}

__attribute__((noinline)) static void cache_put(unsigned slot) {
    void *fresh = calloc(1, CACHE_SIZE);
    pthread_mutex_lock(&lock);
    void *old = cache[slot % CACHE_SLOTS];
    cache[slot % CACHE_SLOTS] = fresh;
    pthread_mutex_unlock(&lock);
    free(old);
}

static void touch(void *block) {
    *(volatile char *)block = 1;
}

__attribute__((noinline)) static void transient_work(unsigned seed) {
    char *text = strdup("a transient string that is freed at once");
    void *zeroed = calloc(10, 33);
    zeroed = realloc(zeroed, 700 + seed % 64);
    void *aligned = NULL;
    if (posix_memalign(&aligned, 64, 256) != 0) abort();
    void *aligned2 = aligned_alloc(128, 1024);
    void *aligned3 = memalign(32, 96);
    int *array = reallocarray(NULL, 50, sizeof(int));
    /* Touch every block: a compiler may elide an allocation nobody uses. */
    touch(text);
    touch(zeroed);
    touch(aligned);
    touch(aligned2);
    touch(aligned3);
    touch(array);
    free(text);
    free(zeroed);
    free(aligned);
    free(aligned2);
    free(aligned3);
    free(array);
}

__attribute__((noinline)) static void do_unit(unsigned index) {
    handle_request();
    cache_put(index);
    transient_work(index);
}

struct batch { unsigned first, count; };

static void *worker(void *arg) {
    struct batch *work = arg;
    for (unsigned i = 0; i < work->count; i++) do_unit(work->first + i);
    return NULL;
}

static void run_units(unsigned units, unsigned threads) {
    pthread_t ids[64];
    struct batch work[64];
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    unsigned first = 0;
    for (unsigned t = 0; t < threads; t++) {
        work[t].first = first;
        work[t].count = units / threads + (t < units % threads ? 1 : 0);
        first += work[t].count;
        if (pthread_create(&ids[t], NULL, worker, &work[t]) != 0) abort();
    }
    for (unsigned t = 0; t < threads; t++) pthread_join(ids[t], NULL);
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "batch") == 0) {
        unsigned units = (unsigned)strtoul(argv[2], NULL, 10);
        run_units(units, (unsigned)strtoul(argv[3], NULL, 10));
        printf("leaked %zu blocks of %d bytes\n", leaked_count, LEAK_SIZE);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "interactive") == 0) {
        unsigned threads = (unsigned)strtoul(argv[2], NULL, 10);
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("ready\n");
        char line[128];
        while (fgets(line, sizeof line, stdin)) {
            unsigned units;
            if (sscanf(line, "work %u", &units) == 1) {
                run_units(units, threads);
                printf("done %u\n", units);
            } else if (strncmp(line, "quit", 4) == 0) {
                break;
            }
        }
        printf("leaked %zu blocks of %d bytes\n", leaked_count, LEAK_SIZE);
        return 0;
    }
    fprintf(stderr, "usage: leaky batch UNITS THREADS | leaky interactive THREADS\n");
    return 2;
}
