/*
 * t_unwinders.c: the fast unwinder against libunwind, end to end: the same
 * fixture traced three times (libunwind, fast with fallback, fast only) must
 * give the same stacks, module-relative, whatever ASLR did.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

struct mapping {
    uint64_t lo, hi, off;
    char path[200];
};

/* The MAPS sections a fixture prints: lines of its /proc/self/maps (a
 * dlclose'd library's lines come from a section printed before dlclose). */
static int parse_maps(const char *out, struct mapping *m, int max)
{
    const char *p = strstr(out, "MAPS\n");
    int n = 0;
    if (!p)
        return 0;
    p += 5;
    while (*p && n < max) {
        if (strncmp(p, "MAPS\n", 5) == 0) {
            p += 5;
            continue;
        }
        unsigned long lo, hi, off;
        char perms[8];
        int used = 0;
        if (sscanf(p, "%lx-%lx %7s %lx %*s %*s%n", &lo, &hi, perms, &off, &used) == 4) {
            const char *q = p + used;
            while (*q == ' ')
                q++;
            size_t len = strcspn(q, "\n");
            m[n].lo = lo;
            m[n].hi = hi;
            m[n].off = off;
            snprintf(m[n].path, sizeof m[n].path, "%.*s", (int)len, q);
            n++;
        }
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every allocation as "size|module+offset ..." (sorted), so two runs of the
 * same fixture can be compared whatever ASLR and thread timing did. Stacks
 * of blocks whose size is in [skip_lo, skip_hi) are left out. */
static char **normalized_stacks(struct run *r, size_t *count)
{
    static struct mapping maps[512];
    int nm = parse_maps(r->out, maps, 512);
    struct stream *s = &r->streams[0];
    char **v = calloc(s->nrecs + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->nrecs; i++) {
        if (s->recs[i].type != SL_REC_ALLOC)
            continue;
        struct stackrec *st = find_stack(s, s->recs[i].stack);
        size_t cap = 64 + (st ? st->depth : 0) * 80, len = 0;
        char *line = malloc(cap);
        len += (size_t)snprintf(line, cap, "%llu|", (unsigned long long)s->recs[i].size);
        for (uint32_t f = 0; st && f < st->depth; f++) {
            uint64_t ip = st->ips[f], look = f ? ip - 1 : ip;
            const char *mod = "?";
            uint64_t rel = ip;
            for (int k = 0; k < nm; k++)
                if (look >= maps[k].lo && look < maps[k].hi) {
                    mod = strrchr(maps[k].path, '/') ? strrchr(maps[k].path, '/') + 1 : maps[k].path;
                    rel = ip - maps[k].lo + maps[k].off;
                    break;
                }
            len += (size_t)snprintf(line + len, cap - len, " %s+%llx", mod, (unsigned long long)rel);
        }
        v[n++] = line;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *count = n;
    return v;
}

/* "size|rest": the size in front. */
static unsigned long line_size(const char *l) { return strtoul(l, NULL, 10); }

/* Runs fixture `name` under SWIFTLEAK_UNWINDER=libunwind, then with the
 * default (fast with fallback), then fast-only (never falls back): the first
 * two must agree on every stack; fast-only must too, except for blocks with
 * sizes in [prefix_lo, prefix_hi) (stacks it is expected to decline, such as
 * signal frames), where its stack must be a prefix of libunwind's. */
static void compare_unwinders(const char *name, const char *frames, size_t min_allocs, unsigned long prefix_lo,
                              unsigned long prefix_hi)
{
    static const char *modes[3] = {"libunwind", NULL, "fast-only"};
    struct run r[3];
    char **st[3];
    size_t n[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (modes[k])
            setenv("SWIFTLEAK_UNWINDER", modes[k], 1);
        run_fixture(&r[k], name, frames);
        unsetenv("SWIFTLEAK_UNWINDER");
        run_finish_ok(&r[k], 30000);
        CHECK(strstr(r[k].out, "DONE\n") && strstr(r[k].out, "MAPS\n"), "%s run %d output", name, k);
        CHECK(r[k].nstreams == 1, "%s run %d: streams %d", name, k, r[k].nstreams);
        if (r[k].nstreams != 1)
            return;
        st[k] = normalized_stacks(&r[k], &n[k]);
    }
    CHECK(n[0] >= min_allocs, "%s: only %zu allocations", name, n[0]);
    size_t deepest = 0, prefixed = 0;
    for (int k = 1; k < 3; k++) {
        CHECK(n[0] == n[k], "%s: %zu allocations with libunwind, %zu with %s", name, n[0], n[k],
              modes[k] ? modes[k] : "fast");
        size_t same = 0, shown = 0;
        for (size_t i = 0; i < n[0] && i < n[k]; i++) {
            const char *a = st[0][i], *b = st[k][i];
            unsigned long size = line_size(a);
            int ok = strcmp(a, b) == 0;
            if (!ok && k == 2 && size >= prefix_lo && size < prefix_hi && strncmp(a, b, strlen(b)) == 0) {
                ok = 1;
                prefixed++;
            }
            if (ok) {
                same++;
                size_t frames_here = 0;
                for (const char *p = a; *p; p++)
                    frames_here += *p == ' ';
                if (frames_here > deepest)
                    deepest = frames_here;
            } else if (shown++ < 3) {
                fprintf(stderr, "    libunwind: %s\n    %-10s %s\n", a, modes[k] ? modes[k] : "fast:", b);
            }
        }
        CHECK(same == n[0] && n[0] == n[k], "%s: %zu of %zu stacks differ (%s)", name, n[0] - same, n[0],
              modes[k] ? modes[k] : "fast");
    }
    printf("    %s: %zu allocation stacks identical under libunwind, fast, fast-only (%zu declined by fast-only, "
           "a prefix there; deepest %zu frames)\n", name, n[0], prefixed, deepest);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n[k]; i++)
            free(st[k][i]);
        free(st[k]);
    }
}

void t_unwinders(void)
{
    /* 5001..5002: allocations in a signal handler (through __restore_rt). */
    compare_unwinders("unwind", "128", 1000, 5001, 5003);
    compare_unwinders("unwind_cxx", "64", 200, 0, 0);
}
