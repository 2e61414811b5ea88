/*
 * sampled_leak: a known leak of about 10 MB in blocks of many sizes, for the
 * sampled mode's estimate (`--sample-bytes`). Two threads each leak half of
 * it from leak_block() and allocate and free five times as much from
 * churn_block(), so frees of both sampled and unsampled blocks are seen.
 * Block sizes are log-uniform between 16 bytes and 256 KiB from a fixed
 * seed: the ground truth is the same every run, and the program prints it.
 *
 * Usage:
 *   sampled_leak batch          leak, print the ground truth, exit 0
 *   sampled_leak interactive    print "ready"; on "leak" leak and print the
 *                               ground truth; on "quit" exit 0
 * Ground truth line: "leaked BYTES bytes in BLOCKS blocks".
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_BYTES (10u * 1000 * 1000)
#define CHURN_FACTOR 5

struct worker {
    uint64_t seed;
    unsigned long long bytes, blocks;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Log-uniform in [16, 256 KiB]. */
static size_t block_size(uint64_t *s)
{
    double u = (double)(next(s) >> 11) / 9007199254740992.0;
    return (size_t)exp(log(16.0) + u * (log(262144.0) - log(16.0)));
}

__attribute__((noinline)) static void *leak_block(size_t n)
{
    char *p = malloc(n);
    if (!p) abort();
    memset(p, 0x5a, n);
    return p;
}

__attribute__((noinline)) static void churn_block(size_t n)
{
    char *volatile p = malloc(n);
    if (!p) abort();
    p[0] = 1;
    free(p);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    while (w->bytes < TARGET_BYTES / 2) {
        size_t n = block_size(&w->seed);
        (void)leak_block(n);
        w->bytes += n;
        w->blocks += 1;
        for (int k = 0; k < CHURN_FACTOR; k++)
            churn_block(block_size(&w->seed));
    }
    return NULL;
}

static void leak(void)
{
    struct worker w[2] = {{.seed = 0x9E3779B97F4A7C15ull}, {.seed = 0xD1B54A32D192ED03ull}};
    pthread_t t;
    if (pthread_create(&t, NULL, work, &w[1]) != 0) abort();
    work(&w[0]);
    if (pthread_join(t, NULL) != 0) abort();
    printf("leaked %llu bytes in %llu blocks\n", w[0].bytes + w[1].bytes, w[0].blocks + w[1].blocks);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "batch") == 0) {
        leak();
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "interactive") != 0) {
        fprintf(stderr, "usage: sampled_leak batch | interactive\n");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "leak", 4) == 0)
            leak();
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
    }
    return 0;
}
