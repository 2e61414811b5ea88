/*
 * mallocbench: malloc+free pairs at a fixed call depth, the workload of
 * Scripts/bench. A window of 1024 live blocks makes each free release a
 * block allocated 1024 operations earlier (MALLOCBENCH_LIVE=N: N blocks,
 * 1..16777216; 1 frees each block right after the next one is asked for,
 * the short lives most programs' temporaries have). MALLOCBENCH_ORDER=random
 * frees a block of the window chosen at random instead, as a service's
 * caches and sessions die: with a window larger than the caches, most of
 * the program's own loads then miss, which is where a hook's work between
 * them costs the most. Each thread fills its window before the clock starts
 * and empties it after the clock stops.
 *
 * Usage: mallocbench [OPS] [DEPTH] [THREADS] [SITES] [SIZES] [WHERE] [wait]
 *   OPS     pairs per thread (default 2000000)
 *   DEPTH   frames below the allocation (default 21); LO-HI: the pairs are
 *           made at each depth from LO to HI in turn, one stack per depth
 *           through the same functions (a path cache cannot keep just one)
 *   THREADS allocating threads (default 1)
 *   SITES   distinct malloc call sites used in turn, 1-8 (default 1)
 *   SIZES   "cycle" (16, 48, ... 4096, the default), "random" (16..4096) or
 *           "small" (16..256 at random: a large window of them fits memory)
 *   WHERE   "pthread" (default) or "main": the main thread allocates
 *           (THREADS must be 1 then)
 *   wait    print "waiting", then start once a line arrives on stdin (the
 *           main thread blocked in read(): a profiler can attach first)
 * Prints "ns_per_op V" (wall time / OPS, per thread) and "cpu_ns_per_op V"
 * (the allocating threads' own CPU time per pair: what a loaded machine's
 * preemption does not inflate).
 *
 *        mallocbench hold BLOCKS
 * Waits as above, then keeps BLOCKS live 16-byte blocks from one call site,
 * prints "holding BLOCKS" and waits for another line before exiting (the
 * snapshot-at-scale measurement).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#define WINDOW 1024
#define MAX_LIVE (1L << 24)
#define MAX_SITES 8

static long ops = 2000000;
static int depth = 21;
static int paths = 1;   /* DEPTH given as LO-HI: HI - LO + 1 depths in turn */
static int sites = 1;
static int random_sizes;
static unsigned size_span = 4081;   /* random sizes: 16 .. 16 + size_span - 1 */
static unsigned live = WINDOW;   /* blocks each thread keeps live, MALLOCBENCH_LIVE */
static int random_order;         /* MALLOCBENCH_ORDER=random */
static _Atomic long long thread_cpu_ns;
/* Every thread's window full, then the clock starts; every loop done, then it stops. */
static pthread_barrier_t filled, done;
/* WHERE "main": no other thread to read the clock, so the loop's does. */
static int main_clock;
static struct timespec main_start, main_end;

/* Distinct call sites: each one a separate function, so each has its own stack. */
#define SITE(n) __attribute__((noinline)) static void *site##n(size_t s) { void *p = malloc(s); __asm__ volatile("" ::: "memory"); return p; }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
static void *(*const site_fns[MAX_SITES])(size_t) = {site0, site1, site2, site3, site4, site5, site6, site7};

static long long cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One thread's churn: a window of live blocks and the next size. */
struct churn {
    void **window;
    unsigned size, seed;
    uint64_t pick;   /* random order: xorshift state */
};

/* Pair i: free the block allocated `live` pairs ago (or a random one of
 * the window), allocate its successor. */
static inline void step(struct churn *c, long i)
{
    unsigned slot;
    if (random_order) {
        c->pick ^= c->pick << 13;
        c->pick ^= c->pick >> 7;
        c->pick ^= c->pick << 17;
        slot = (unsigned)(c->pick % live);
    } else {
        slot = (unsigned)i % live;
    }
    free(c->window[slot]);
    c->window[slot] = site_fns[(unsigned)i % (unsigned)sites](c->size);
    *(volatile char *)c->window[slot] = 1;
    if (random_sizes) {
        c->seed = c->seed * 1103515245u + 12345u;
        c->size = 16 + (c->seed >> 16) % size_span;
    } else {
        c->size = c->size >= 4096 ? 16 : c->size * 2 + 16;
    }
}

/* Pair i made `extra` frames deeper than the loop: each depth is a path of its own. */
__attribute__((noinline)) static void step_deeper(struct churn *c, long i, int extra)
{
    if (extra <= 0)
        step(c, i);
    else
        step_deeper(c, i, extra - 1);
    __asm__ volatile("" ::: "memory");  /* keep the call from becoming a tail call */
}

__attribute__((noinline)) static void churn(void) {
    struct churn c = {NULL, 16, 12345, 88172645463325252ull};
    void *inline_window[WINDOW];
    c.window = live <= WINDOW ? inline_window : malloc(live * sizeof(void *));
    if (!c.window) {
        fprintf(stderr, "mallocbench: no memory for a window of %u blocks\n", live);
        exit(1);
    }
    for (unsigned slot = 0; slot < live; slot++)
        c.window[slot] = site_fns[0](16);
    pthread_barrier_wait(&filled);
    if (main_clock)
        clock_gettime(CLOCK_MONOTONIC, &main_start);
    long long cpu0 = cpu_now();
    if (paths == 1) {
        for (long i = 0; i < ops; i++)
            step(&c, i);
    } else {
        for (long i = 0; i < ops; i++)
            step_deeper(&c, i, (int)(i % paths));
    }
    thread_cpu_ns += cpu_now() - cpu0;
    if (main_clock)
        clock_gettime(CLOCK_MONOTONIC, &main_end);
    pthread_barrier_wait(&done);
    for (unsigned slot = 0; slot < live; slot++) free(c.window[slot]);
    if (c.window != inline_window)
        free(c.window);
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

/* "waiting", then block in read() until a line (or EOF) arrives. A
 * debugger's injection (heaptrack -p) can interrupt the read: go on reading. */
static void wait_for_go(void)
{
    printf("waiting\n");
    fflush(stdout);
    char c = 0;
    for (;;) {
        ssize_t n = read(0, &c, 1);
        if (n == 0 || (n == 1 && c == '\n'))
            return;
        if (n < 0 && errno != EINTR)
            return;
    }
}

__attribute__((noinline)) static void **hold(long blocks)
{
    void **kept = malloc((size_t)blocks * sizeof(void *));
    for (long i = 0; kept && i < blocks; i++)
        kept[i] = malloc(16);
    return kept;
}

static int hold_main(long blocks)
{
    if (blocks < 1) {
        fprintf(stderr, "usage: mallocbench hold BLOCKS>0\n");
        return 2;
    }
    wait_for_go();
    void **kept = hold(blocks);
    if (!kept)
        return 1;
    printf("holding %ld\n", blocks);
    fflush(stdout);
    wait_for_go();
    return 0;
}

int main(int argc, char **argv) {
    const char *keep = getenv("MALLOCBENCH_LIVE");
    if (keep) {
        long n = atol(keep);
        if (n < 1 || n > MAX_LIVE) {
            fprintf(stderr, "mallocbench: MALLOCBENCH_LIVE must be 1..%ld\n", MAX_LIVE);
            return 2;
        }
        live = (unsigned)n;
    }
    const char *order = getenv("MALLOCBENCH_ORDER");
    if (order && strcmp(order, "random") != 0 && strcmp(order, "fifo") != 0) {
        fprintf(stderr, "mallocbench: MALLOCBENCH_ORDER must be fifo or random\n");
        return 2;
    }
    random_order = order && strcmp(order, "random") == 0;
    if (argc > 1 && strcmp(argv[1], "hold") == 0)
        return hold_main(argc > 2 ? atol(argv[2]) : 0);
    if (argc > 1) ops = atol(argv[1]);
    if (argc > 2) {
        char *end;
        depth = (int)strtol(argv[2], &end, 10);
        if (*end == '-') {
            long hi = strtol(end + 1, &end, 10);
            paths = hi >= depth && hi - depth < 64 ? (int)(hi - depth + 1) : 0;
        }
        if (*end)
            depth = 0;   /* not a number: the usage below */
    }
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (argc > 4) sites = atoi(argv[4]);
    const char *sizes = argc > 5 ? argv[5] : "cycle";
    const char *where = argc > 6 ? argv[6] : "pthread";
    random_sizes = strcmp(sizes, "random") == 0 || strcmp(sizes, "small") == 0;
    if (strcmp(sizes, "small") == 0)
        size_span = 241;
    int on_main = strcmp(where, "main") == 0;
    int wait_first = argc > 7 && strcmp(argv[7], "wait") == 0;
    if ((argc > 7 && !wait_first) || threads < 1 || threads > 64 || ops < 1 || depth < 4 || paths < 1 || sites < 1 || sites > MAX_SITES ||
        (!random_sizes && strcmp(sizes, "cycle") != 0) || (!on_main && strcmp(where, "pthread") != 0) ||
        (on_main && threads != 1)) {
        fprintf(stderr, "usage: mallocbench [OPS>0] [DEPTH>=4 or LO-HI] [THREADS 1-64] [SITES 1-8] [cycle|random|small] [pthread|main (1 thread)] [wait]\n");
        return 2;
    }
    if (wait_first)
        wait_for_go();
    struct timespec start, end;
    if (on_main) {
        /* The clock is read by the loop's own thread, between the barriers. */
        pthread_barrier_init(&filled, NULL, 1);
        pthread_barrier_init(&done, NULL, 1);
        main_clock = 1;
        thread_main(NULL);
        start = main_start;
        end = main_end;
    } else {
        pthread_barrier_init(&filled, NULL, (unsigned)threads + 1);
        pthread_barrier_init(&done, NULL, (unsigned)threads + 1);
        pthread_t ids[64];
        for (int t = 0; t < threads; t++) {
            int e = pthread_create(&ids[t], NULL, thread_main, NULL);
            if (e) {   /* the barriers would wait for it forever */
                fprintf(stderr, "mallocbench: cannot start thread %d: %s\n", t + 1, strerror(e));
                return 1;
            }
        }
        pthread_barrier_wait(&filled);
        clock_gettime(CLOCK_MONOTONIC, &start);
        pthread_barrier_wait(&done);
        clock_gettime(CLOCK_MONOTONIC, &end);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    }
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("ns_per_op %.1f\n", ns / (double)ops);
    printf("cpu_ns_per_op %.1f\n", (double)thread_cpu_ns / (double)ops / threads);
    return 0;
}
