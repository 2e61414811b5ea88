/*
 * t_preload.c: what a preloaded agent puts on the wire: every allocator
 * function at the right stack, frees in order, threads, SYNC, fork, and a
 * collector that hangs up in the middle.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void t_basic(void)
{
    struct run r;
    run_fixture(&r, "basic", "32");
    run_finish_ok(&r, 10000);
    CHECK(r.nstreams <= 1, "streams %d", r.nstreams);
    struct stream *s = first_stream(&r);
    if (!s)
        return;
    check_hello(s, r.pid, SL_MODE_PRELOAD, 32);
    if (getenv("AGENT_TESTS_DEBUG"))
        fprintf(stderr, "    debug: %zu records, %zu stacks, %zu bytes, eof %d err %d\n", s->nrecs, s->nstacks, s->bytes, s->eof, s->error);
    uint64_t lo = 0, hi = 0, mlo = 0, mhi = 0;
    CHECK(out_fn(&r, "FN", &lo, &hi), "no FN line in: %s", r.out);
    CHECK(out_fn(&r, "MAIN", &mlo, &mhi), "no MAIN line");
    int total = 0;
    for (int i = 0; i < 7; i++) {
        size_t idx[4];
        int n = allocs_of_size(s, 4001 + (uint64_t)i, idx, 4);
        total += n;
        CHECK(n == 1, "size %d seen %d times", 4001 + i, n);
        if (n != 1)
            continue;
        struct rec *a = &s->recs[idx[0]];
        char tag[8];
        snprintf(tag, sizeof tag, "P %d", i);
        long addr = 0;
        CHECK(out_int(&r, tag, &addr) && (uint64_t)addr == a->addr, "address of block %d", i);
        CHECK(ip_in(s, a->stack, 0, lo, hi), "ips[0] of block %d not in leak_here", i);
        CHECK(ip_in(s, a->stack, 1, mlo, mhi), "ips[1] of block %d not in main", i);
        struct stackrec *st = find_stack(s, a->stack);
        CHECK(st && st->depth >= 3 && st->depth <= 32, "depth %u", st ? st->depth : 0);
        long f = free_after(s, idx[0], a->addr);
        if (i == 0 || i == 2 || i == 4)
            CHECK(f > 0, "block %d freed but no FREE", i);
        else
            CHECK(f < 0, "block %d never freed but FREE seen", i);
    }
    CHECK(total == 7, "allocations at leak_here: %d", total);
    long unknown = 0;
    CHECK(replay(s, &unknown, NULL) == 0, "ordering violations");
}

void t_allfuncs(void)
{
    struct run r;
    run_fixture(&r, "allfuncs", NULL);
    run_finish_ok(&r, 10000);
    struct stream *s = first_stream(&r);
    if (!s)
        return;
    check_hello(s, r.pid, SL_MODE_PRELOAD, 64);
    uint64_t lo = 0, hi = 0;
    CHECK(out_fn(&r, "FN", &lo, &hi), "no FN");
    static const struct { uint64_t size; const char *what; int frame; } want[] = {
        {3003, "calloc", 0}, {5005, "realloc(NULL)", 0}, {60006, "realloc grow", 0},
        {7007, "posix_memalign", 0}, {8064, "aligned_alloc", 0}, {9009, "memalign", 0},
        {10010, "valloc", 0}, {11011, "pvalloc", 0}, {12012, "reallocarray", 0},
        {13013, "strdup", 1}, {14014, "malloc before realloc(p, 0)", 0},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t idx[4];
        int n = allocs_of_size(s, want[k].size, idx, 4);
        CHECK(n == 1, "%s (%lu bytes) seen %d times", want[k].what, (unsigned long)want[k].size, n);
        if (n != 1)
            continue;
        struct rec *a = &s->recs[idx[0]];
        CHECK(ip_in(s, a->stack, want[k].frame, lo, hi), "%s: frame %d not in do_all", want[k].what, want[k].frame);
        CHECK(free_after(s, idx[0], a->addr) > 0, "%s: block never freed", want[k].what);
    }
    /* realloc grow: FREE(old) comes right before ALLOC(new) */
    long r1 = 0, r2 = 0;
    if (out_int(&r, "R1", &r1) && out_int(&r, "R2", &r2)) {
        size_t idx[2];
        if (allocs_of_size(s, 60006, idx, 2) == 1) {
            CHECK(idx[0] > 0 && s->recs[idx[0] - 1].type == SL_REC_FREE && s->recs[idx[0] - 1].addr == (uint64_t)r1,
                  "realloc: FREE(old) not right before ALLOC(new)");
            CHECK(s->recs[idx[0]].addr == (uint64_t)r2, "realloc: new address");
        }
    }
    long unknown = 0;
    CHECK(replay(s, &unknown, NULL) == 0, "ordering violations");
}

void t_threads(void)
{
    struct run r;
    uint64_t t0 = now_ms();
    setenv(SL_ENV_PAIRS, "on", 1);   /* as swiftleak runs it: pairs folded */
    run_fixture(&r, "threads", NULL);
    setenv(SL_ENV_PAIRS, "off", 1);
    CHECK(wait_output(&r, "R\n", 60000), "threads fixture never finished");
    uint64_t t1 = now_ms();
    struct stream *s = first_stream(&r);
    if (!s) {
        run_finish(&r, 10000);
        return;
    }
    long at = send_sync(&r, s, 0x5157);
    CHECK(at >= 0, "no SYNC answer");
    if (at >= 0)
        CHECK(s->recs[at].extra == 0, "lost events: %llu", (unsigned long long)s->recs[at].extra);
    run_finish_ok(&r, 20000);
    check_hello(s, r.pid, SL_MODE_PRELOAD, 64);
    long allocs = 0, folded = 0;
    for (size_t i = 0; i < s->nrecs; i++) {
        allocs += s->recs[i].type == SL_REC_ALLOC && s->recs[i].size == 777;
        if (s->recs[i].type == SL_REC_PAIRS && s->recs[i].size == 777)
            folded += (long)s->recs[i].extra;
    }
    CHECK(allocs + folded == 400000, "allocations of 777 bytes: %ld sent, %ld folded", allocs, folded);
    CHECK(folded > 0, "the pair window folded no pair of 4 x 100k");
    long unknown = 0, live = 0;
    long bad = replay(s, &unknown, &live);
    CHECK(bad == 0, "%ld allocations of an address that was still live (ordering)", bad);
    /* every block of 777 was freed: none of them may remain live */
    struct map lv = {0};
    for (size_t i = 0; i < s->nrecs; i++) {
        struct rec *c = &s->recs[i];
        if (c->type == SL_REC_ALLOC)
            *map_slot(&lv, c->addr, 1) = c->size == 777 ? 1 : 2;
        else if (c->type == SL_REC_FREE) {
            uint64_t *v = map_slot(&lv, c->addr, 0);
            if (v)
                *v = 0;
        }
    }
    long live777 = 0;
    for (size_t i = 0; i < lv.cap; i++)
        live777 += lv.keys[i] && lv.vals[i] == 1;
    CHECK(live777 == 0, "%ld blocks of 777 bytes without their free", live777);
    printf("    threads: 4 x 100k malloc/free traced in %llu ms, %zu records, %.1f MB on the wire, %zu stacks, %ld pairs folded\n",
           (unsigned long long)(t1 - t0), s->nrecs, s->bytes / 1e6, s->nstacks, folded);
}

void t_sync(void)
{
    struct run r;
    run_fixture(&r, "sync", NULL);
    CHECK(wait_output(&r, "R\n", 10000), "fixture not ready");
    CHECK(wait_streams(&r, 1, 5000), "no connection");
    if (r.nstreams < 1) {
        run_finish(&r, 5000);
        return;
    }
    struct stream *s = &r.streams[0];
    long a = send_sync(&r, s, 0xabcdef0123ull);
    CHECK(a >= 0, "no SYNC answer");
    size_t idx[128];
    int before = 0;
    for (long i = 0; i < a; i++)
        before += s->recs[i].type == SL_REC_ALLOC && s->recs[i].size == 2222;
    CHECK(before == 100, "allocations before SYNC: %d", before);
    if (a >= 0)
        CHECK(s->recs[a].extra == 0, "lost %llu", (unsigned long long)s->recs[a].extra);
    long b = send_sync(&r, s, 7);
    CHECK(b > a, "second SYNC");
    run_finish_ok(&r, 10000);
    int n = allocs_of_size(s, 2222, idx, 128);
    int freed = 0;
    for (int i = 0; i < n && i < 128; i++)
        freed += free_after(s, idx[i], s->recs[idx[i]].addr) > b;
    CHECK(freed == 100, "frees after the SYNC: %d", freed);
}

void t_fork(void)
{
    struct run r;
    run_fixture(&r, "fork", NULL);
    run_finish_ok(&r, 15000);
    CHECK(strstr(r.out, "CHILD 0 0") && strstr(r.out, "CHILD 1 0"), "children: %s", r.out);
    CHECK(r.nstreams <= 1, "streams %d", r.nstreams);
    CHECK(r.rejected == 1, "the exec'd child should have connected (and been rejected): %d", r.rejected);
    struct stream *s = first_stream(&r);
    if (!s)
        return;
    check_hello(s, r.pid, SL_MODE_PRELOAD, 64);
    size_t idx[32];
    CHECK(allocs_of_size(s, 555, idx, 32) == 0, "child allocations in the parent's stream");
    CHECK(allocs_of_size(s, 556, idx, 32) == 0, "exec'd child allocations in the parent's stream");
    CHECK(allocs_of_size(s, 3131, idx, 32) == 10, "parent allocations before fork");
    CHECK(allocs_of_size(s, 3132, idx, 32) == 10, "parent allocations after fork");
    long unknown = 0;
    CHECK(replay(s, &unknown, NULL) == 0, "ordering violations");
}

void t_closemid(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "closemid");
    char plain[256];
    run_plain(exe, 0, plain, sizeof plain);
    struct run r;
    run_fixture(&r, "closemid", NULL);
    CHECK(wait_streams(&r, 1, 5000), "no connection");
    uint64_t end = now_ms() + 5000;
    while (r.nstreams && r.streams[0].nrecs < 1000 && now_ms() < end)
        run_pump(&r, 10);
    CHECK(r.nstreams && r.streams[0].nrecs >= 1000, "no events");
    CHECK(r.exit_status < 0, "finished too early to test");
    if (r.nstreams) {
        close(r.streams[0].fd);
        r.streams[0].fd = -1;
        r.streams[0].eof = 1;
    }
    run_finish_ok(&r, 10000);
    CHECK(strncmp(r.out, "RESULT ", 7) == 0 && strcmp(r.out, plain) == 0, "output '%s' vs '%s'", r.out, plain);
}
