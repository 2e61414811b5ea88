/*
 * mallocbench: malloc+free pairs at a fixed call depth, the workload of
 * Scripts/bench. Sizes cycle through 16..4096 bytes; a window of 1024 live
 * blocks makes each free release a block allocated 1024 operations earlier.
 *
 * Usage: mallocbench [OPS] [DEPTH] [THREADS]   (defaults 2000000 21 1)
 * Prints one line: "ns_per_op <value>" (wall time / OPS, per thread).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WINDOW 1024

static long ops = 2000000;
static int depth = 21;

__attribute__((noinline)) static void churn(void) {
    void *window[WINDOW] = {0};
    unsigned size = 16;
    for (long i = 0; i < ops; i++) {
        unsigned slot = (unsigned)i % WINDOW;
        free(window[slot]);
        window[slot] = malloc(size);
        *(volatile char *)window[slot] = 1;
        size = size >= 4096 ? 16 : size * 2 + 16;
    }
    for (unsigned slot = 0; slot < WINDOW; slot++) free(window[slot]);
}

/* Recurse to the requested depth so every stack capture walks `depth` frames. */
__attribute__((noinline)) static void descend(int level) {
    if (level <= 1) {
        churn();
        return;
    }
    descend(level - 1);
    __asm__ volatile("" ::: "memory");  /* keep the call from becoming a tail call */
}

static void *thread_main(void *unused) {
    (void)unused;
    descend(depth - 3);  /* main, thread_main/churn account for the rest */
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) ops = atol(argv[1]);
    if (argc > 2) depth = atoi(argv[2]);
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (threads < 1 || threads > 64 || ops < 1 || depth < 4) {
        fprintf(stderr, "usage: mallocbench [OPS>0] [DEPTH>=4] [THREADS 1-64]\n");
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_t ids[64];
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, thread_main, NULL);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("ns_per_op %.1f\n", ns / (double)ops);
    return 0;
}
