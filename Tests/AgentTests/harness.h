/*
 * harness.h: what the agent's C tests share: the check macro, the decoded
 * event stream, and a fixture run (socket, child process, its output).
 *
 * The harness plays swiftleak's part: it listens on a Unix socket, launches
 * fixtures with the agent preloaded (or lets them attach it themselves),
 * decodes the stream with the protocol header and checks what the agent
 * claims. One file per area holds the tests (t_*.c); harness.c runs them.
 */
#ifndef SWIFTLEAK_AGENT_HARNESS_H
#define SWIFTLEAK_AGENT_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "swiftleak_protocol.h"

/* Set by main: the agent library, the directory of built fixtures, a
 * private directory for sockets. */
extern const char *agent;
extern const char *fixdir;
extern char tmpdir[256];
/* Set by CHECK; main resets it before each test. */
extern int test_failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "    FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            test_failed = 1;                                                \
        }                                                                   \
    } while (0)

uint64_t now_ms(void);

/* ---- a small hash map uint64 -> uint64 (stream.c) ---------------------- */

struct map {
    uint64_t *keys, *vals;
    size_t cap, n;
};

/* The value slot of key; NULL if absent and !create. Value 0 = dead. */
uint64_t *map_slot(struct map *m, uint64_t key, int create);

/* ---- decoded stream (stream.c) ------------------------------------------ */

struct rec {
    uint16_t type;
    uint32_t stack;
    uint64_t addr, size, extra;
};

struct stackrec {
    uint32_t id, depth;
    uint64_t *ips;
};

struct stream {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    int have_hello, eof, error;
    struct sl_hello hello;
    struct rec *recs;
    size_t nrecs, caprecs;
    struct stackrec *stacks;
    size_t nstacks, capstacks;
    struct map stack_index;        /* id -> index + 1 */
    int got_status;
    int exiting;       /* SL_REC_EXITING records seen (answered with SL_CMD_RELEASE) */
    struct sl_rec_status status;
    int alloc_without_stack;
    size_t bytes;
};

void stream_init(struct stream *s, int fd);
/* Read what the socket has and decode every complete record. */
void stream_read(struct stream *s);
struct stackrec *find_stack(struct stream *s, uint32_t id);
/* Checks the hello and the stream's health. */
void check_hello(struct stream *s, pid_t pid, uint32_t mode, uint32_t frames);
/* Index of the allocation records with this size; returns how many. */
int allocs_of_size(struct stream *s, uint64_t size, size_t *idx, int max);
/* Index of the FREE of addr after record `from`, or -1 (none, or reallocated first). */
long free_after(struct stream *s, size_t from, uint64_t addr);
/* Whether frame `frame` of stack `stack` lies in [lo, hi). */
int ip_in(struct stream *s, uint32_t stack, int frame, uint64_t lo, uint64_t hi);
/* Ordering: replay the stream; an ALLOC of a live address is a violation.
 * Returns violations; *unknown counts frees of blocks never seen (allocated
 * before tracing), *live_out (if not NULL) the blocks left live. */
long replay(struct stream *s, long *unknown, long *live_out);

/* ---- a fixture run (fixture_run.c) -------------------------------------- */

#define MAX_STREAMS 4

struct run {
    const char *name;
    int listen_fd;
    char sock[300];
    pid_t pid;
    int in_fd, out_fd;      /* child's stdin (write end), stdout (read end) */
    char out[1 << 16];
    size_t outlen;
    struct stream streams[MAX_STREAMS];
    int nstreams;
    int accept_limit;       /* connections beyond this are closed at once (rejected) */
    int rejected;
    int exit_status;        /* -1 while running */
};

/* Path of a built fixture. */
void fixture(char *path, size_t n, const char *name);
/* A fresh listening socket named after the run. */
void run_listen(struct run *r, const char *name);
/* Fork and exec argv; preload: set LD_PRELOAD and the socket (and frames,
 * SWIFTLEAK_FRAMES, unless NULL). */
void run_start(struct run *r, char *const argv[], int preload, const char *frames);
/* The common case: listen, then start fixture `name` with the agent
 * preloaded, no arguments. */
void run_fixture(struct run *r, const char *name, const char *frames);
/* One round of waiting for anything: connections, stream bytes, output. */
void run_pump(struct run *r, int timeout_ms);
int wait_output(struct run *r, const char *needle, int timeout_ms);
int wait_streams(struct run *r, int count, int timeout_ms);
/* Until the stream has a SYNC with `token`; returns its record index or -1. */
long wait_sync(struct run *r, struct stream *s, uint64_t token, int timeout_ms);
void send_cmd(struct stream *s, uint16_t type, const void *payload, uint32_t size);
long send_sync(struct run *r, struct stream *s, uint64_t token);
/* Wait for the process to exit and every stream to reach EOF. */
void run_finish(struct run *r, int timeout_ms);
/* run_finish, then check the fixture exited 0; returns whether it did. */
int run_finish_ok(struct run *r, int timeout_ms);
/* The first connection's stream; checked, NULL (a failure) if none came. */
struct stream *first_stream(struct run *r);
/* Run exe to the end with its output in out; returns its exit status. */
int run_plain(const char *exe, int preload, char *out, size_t n);
/* "TAG hex-address size" on a line of the child's output, as [lo, hi). */
int out_fn(struct run *r, const char *tag, uint64_t *lo, uint64_t *hi);
/* "TAG number" on a line of the child's output. */
int out_int(struct run *r, const char *tag, long *v);

/* ---- the tests, by area ------------------------------------------------- */

/* t_preload.c: the stream of a preloaded agent. */
void t_basic(void);
void t_allfuncs(void);
void t_threads(void);
void t_sync(void);
void t_fork(void);
void t_closemid(void);
/* t_footprint.c: what the library does to a process besides tracing. */
void t_needed(void);
void t_own_lines(void);
void t_passthrough(void);
void t_throw(void);
/* t_attach.c */
void t_attach(void);
/* t_peer.c: whom the agent talks to (SO_PEERCRED). */
void t_peer_stranger(void);
/* t_unwinders.c: the fast unwinder against libunwind, end to end. */
void t_unwinders(void);
/* t_eh_frame.c: the CFA interpreter on hand-made CIE/FDE bytes. */
void t_eh_frame_prologue(void);
void t_eh_frame_states(void);
void t_eh_frame_outermost(void);
void t_eh_frame_r14(void);
void t_eh_frame_refusals(void);
void t_eh_frame_pcrel(void);
void t_eh_frame_hdr(void);
/* t_ring.c: the event ring on its own, with a hand-moved clock. */
void t_ring(void);
void t_window(void);
/* bench_report.c: not a pass/fail test. */
void bench(void);

#endif
