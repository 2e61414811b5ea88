/*
 * warming: a C program with a cache that warms up and then stops growing,
 * next to a slow leak, for swiftleak's trend and gate tests.
 * It prints "ready", then reads commands from stdin:
 *   "batch"    one batch of work, then prints "done <batches so far>":
 *                - leak_record() leaks LEAK_PER_BATCH blocks of LEAK_SIZE bytes;
 *                - cache_insert() adds CACHE_PER_BATCH blocks of CACHE_SIZE
 *                  bytes to a cache of CACHE_SLOTS slots; once the cache is
 *                  full (after CACHE_SLOTS / CACHE_PER_BATCH batches) each
 *                  insert replaces (frees) the oldest entry: a plateau;
 *   "hog KIB"  leaks KIB blocks of 1024 bytes in hog(), prints "hogged KIB"
 *   "exit N"   exits with status N at once (a target that fails)
 *   "quit"     exits 0
 * Ground truth lives in the constants below; tests read them from here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_PER_BATCH 5
#define LEAK_SIZE 100
#define CACHE_PER_BATCH 20
#define CACHE_SIZE 1024
#define CACHE_SLOTS 60
#define MAX_LEAKS 100000

static void *leaks[MAX_LEAKS];
static size_t leak_count;
static void *cache[CACHE_SLOTS];
static size_t cache_next;

static void keep(void *block) {
    if (leak_count < MAX_LEAKS) leaks[leak_count++] = block;
}

__attribute__((noinline)) static void leak_record(void) {
    void *record = malloc(LEAK_SIZE);
    memset(record, 0x11, LEAK_SIZE);
    keep(record);
}

__attribute__((noinline)) static void cache_insert(void) {
    void *entry = malloc(CACHE_SIZE);
    memset(entry, 0x22, CACHE_SIZE);
    size_t slot = cache_next++ % CACHE_SLOTS;
    free(cache[slot]);
    cache[slot] = entry;
}

__attribute__((noinline)) static void hog(unsigned kib) {
    for (unsigned i = 0; i < kib; i++) {
        void *block = malloc(1024);
        memset(block, 0x33, 1024);
        keep(block);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[128];
    unsigned batches = 0, value;
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "batch", 5) == 0) {
            for (int i = 0; i < LEAK_PER_BATCH; i++) leak_record();
            for (int i = 0; i < CACHE_PER_BATCH; i++) cache_insert();
            printf("done %u\n", ++batches);
        } else if (sscanf(line, "hog %u", &value) == 1) {
            hog(value);
            printf("hogged %u\n", value);
        } else if (sscanf(line, "exit %u", &value) == 1) {
            exit((int)value);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    return 0;
}
