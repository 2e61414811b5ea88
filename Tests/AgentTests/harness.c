/*
 * harness.c: runs the agent's C tests (the t_*.c files, see harness.h).
 *
 * usage: harness AGENT_SO FIXTURE_DIR [test...] [bench]
 * Prints "agent tests: N passed, M failed" last; exits non-zero on failure.
 */
#include "harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *agent;
const char *fixdir;
char tmpdir[256];
int test_failed;

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct test {
    const char *name;
    void (*fn)(void);
};

static const struct test tests[] = {
    {"eh_frame_prologue", t_eh_frame_prologue},
    {"eh_frame_states", t_eh_frame_states},
    {"eh_frame_outermost", t_eh_frame_outermost},
    {"eh_frame_r14", t_eh_frame_r14},
    {"eh_frame_refusals", t_eh_frame_refusals},
    {"eh_frame_pcrel", t_eh_frame_pcrel},
    {"eh_frame_hdr", t_eh_frame_hdr},
    {"ring", t_ring},
    {"window", t_window},
    {"needed", t_needed},
    {"own_lines", t_own_lines},
    {"passthrough", t_passthrough},
    {"basic", t_basic},
    {"allfuncs", t_allfuncs},
    {"sync", t_sync},
    {"threads", t_threads},
    {"fork", t_fork},
    {"throw", t_throw},
    {"closemid", t_closemid},
    {"attach", t_attach},
    {"peer_stranger", t_peer_stranger},
    {"unwinders", t_unwinders},
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s AGENT_SO FIXTURE_DIR [test...] [bench]\n", argv[0]);
        return 2;
    }
    agent = argv[1];
    fixdir = argv[2];
    signal(SIGPIPE, SIG_IGN);
    /* Most tests check each hook's own records and their order, which the
     * consumer's pair window would fold: off for every fixture, unless a
     * test (t_threads) turns it back on to count what it folded. */
    setenv(SL_ENV_PAIRS, "off", 1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/swiftleak-agent-tests.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int selected = argc == 3;
        for (int k = 3; k < argc; k++)
            selected |= strcmp(argv[k], tests[i].name) == 0;
        if (!selected)
            continue;
        test_failed = 0;
        printf("  %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
        if (test_failed)
            failed++;
        else
            passed++;
        printf("  %s: %s\n", tests[i].name, test_failed ? "FAILED" : "ok");
        fflush(stdout);
    }
    for (int k = 3; k < argc; k++)
        if (strcmp(argv[k], "bench") == 0)
            bench();
    rmdir(tmpdir);
    printf("agent tests: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
