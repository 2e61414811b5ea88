/*
 * t_footprint.c: what the library does to a process besides tracing: it
 * needs libc only and exports the allocator and the attach entry point,
 * passes everything through when there is nobody to talk to, and leaves
 * C++ exceptions to the process's own unwinder.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void t_throw(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "throw");
    char a[4096], b[4096];
    int ea = run_plain(exe, 0, a, sizeof a);
    int eb = run_plain(exe, 1, b, sizeof b);
    CHECK(ea == 0 && eb == 0, "exit %d / %d", ea, eb);
    CHECK(strcmp(a, b) == 0, "output differs:\n--- plain\n%s--- agent\n%s", a, b);
    CHECK(strstr(b, "caught 2000,") != NULL, "exceptions: %s", b);
    CHECK(strstr(b, "from libgcc_s") != NULL, "unwinder interposed: %s", b);
}

void t_needed(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "readelf -d '%s' | grep NEEDED", agent);
    FILE *f = popen(cmd, "r");
    char line[512];
    int n = 0, libc = 0;
    while (f && fgets(line, sizeof line, f)) {
        n++;
        if (strstr(line, "[libc.so.6]"))
            libc = 1;
        else
            CHECK(strstr(line, "[ld-linux-x86-64.so.2]") != NULL, "unexpected: %s", line);
    }
    if (f)
        pclose(f);
    CHECK(libc && n >= 1, "NEEDED entries: %d", n);
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s' | awk '{print $3}' | sort | tr '\\n' ' '", agent);
    f = popen(cmd, "r");
    char syms[2048] = "";
    if (f) {
        if (!fgets(syms, sizeof syms, f))
            syms[0] = 0;
        pclose(f);
    }
    /* _exit and _Exit: flushed like exit (preload.c). */
    CHECK(strcmp(syms, "_Exit _exit aligned_alloc calloc free malloc memalign posix_memalign pvalloc realloc reallocarray "
                       "swiftleak_agent_attach valloc ") == 0,
          "exports: %s", syms);
}

/* What one thread writes for every event sits on cache lines no other
 * variable shares (SL_OWN_LINES): the consumer's state, the ring's consumer
 * side and tail, the stack table's counters. A variable the hooks read on
 * one of those lines costs every allocation a miss (false sharing), which
 * no functional test would notice. Read from the agent's symbol table. */
void t_own_lines(void)
{
    static const char *const own[] = {"consumer", "cons", "sl_ring_tail_line", "grow"};
    enum { MAX = 4096 };
    static unsigned long start[MAX], size[MAX];
    static char name[MAX][64];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "nm -S '%s' | awk '$3 ~ /^[bBdD]$/ {print $1, $2, $4}'", agent);
    FILE *f = popen(cmd, "r");
    int n = 0;
    while (f && n < MAX && fscanf(f, "%lx %lx %63s", &start[n], &size[n], name[n]) == 3)
        n++;
    if (f)
        pclose(f);
    CHECK(n > 100, "%d data symbols read from nm", n);
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
        int i = 0;
        while (i < n && strcmp(name[i], own[k]) != 0)
            i++;
        if (i == n) {
            CHECK(0, "no symbol %s in the agent", own[k]);
            continue;
        }
        unsigned long lo = start[i] & ~63ul, hi = (start[i] + size[i] + 63) & ~63ul;
        for (int j = 0; j < n; j++) {
            if (j == i || start[j] + (size[j] ? size[j] : 1) <= lo || start[j] >= hi)
                continue;
            CHECK(0, "%s shares a cache line with %s", own[k], name[j]);
        }
    }
}

void t_passthrough(void)
{
    /* No socket, or a socket nobody listens on: plain pass-through. */
    char exe[512], out[4096];
    fixture(exe, sizeof exe, "basic");
    struct run r;
    memset(&r, 0, sizeof r);
    r.exit_status = -1;
    int in[2], outp[2];
    CHECK(pipe(in) == 0 && pipe(outp) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(outp[1], 1);
        setenv("LD_PRELOAD", agent, 1);
        setenv(SL_ENV_SOCKET, "/nonexistent/dir/x.sock", 1);
        execl(exe, exe, (char *)NULL);
        _exit(127);
    }
    close(outp[1]);
    ssize_t n = read(outp[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = 0;
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit");
    CHECK(strstr(out, "FN ") != NULL, "output %s", out);
    close(outp[0]);
    close(in[0]);
    close(in[1]);
}
