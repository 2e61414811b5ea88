/*
 * bench_report.c: `Tests/AgentTests/run bench`: not a pass/fail test, the
 * cost of a malloc+free pair without the agent, with it passing through,
 * and tracing.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* Not a pass/fail test: ns per malloc+free pair, printed for the report. */
void bench(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "bench");
    char *n = getenv("AGENT_BENCH_N") ? getenv("AGENT_BENCH_N") : "2000000";
    static const char *names[] = {"no agent", "preloaded, no socket (pass-through)", "tracing, 21 frames"};
    for (int mode = 0; mode < 3; mode++) {
        struct run r;
        run_listen(&r, "bench");
        char *argv[] = {exe, n, NULL};
        if (mode == 1) {
            /* the agent is loaded but SWIFTLEAK_SOCKET names nothing */
            setenv("LD_PRELOAD", agent, 1);
            run_start(&r, argv, 0, NULL);
            unsetenv("LD_PRELOAD");
        } else {
            run_start(&r, argv, mode == 2, "21");
        }
        run_finish(&r, 120000);
        printf("    bench: %s: %s ns per malloc+free\n", names[mode], strtok(r.out, "\n") ? r.out : "?");
        if (mode == 2 && r.nstreams)
            printf("    bench: %zu records, %zu distinct stacks, %.1f MB\n", r.streams[0].nrecs, r.streams[0].nstacks,
                   r.streams[0].bytes / 1e6);
    }
}
