/*
 * harness.c: end-to-end tests of libswiftleak-agent.so at the C level.
 *
 * Plays swiftleak's part: listens on a Unix socket, launches fixtures with
 * the agent preloaded (or lets them attach it themselves), decodes the stream
 * with the protocol header and checks what the agent claims.
 *
 * usage: harness AGENT_SO FIXTURE_DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "swiftleak_protocol.h"

static const char *agent;
static const char *fixdir;
static char tmpdir[256];
static int passed, failed;
static int test_failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "    FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            test_failed = 1;                                                \
        }                                                                   \
    } while (0)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a small hash map uint64 -> uint64 ------------------------------- */

struct map {
    uint64_t *keys, *vals;
    size_t cap, n;
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static void map_grow(struct map *m);

static uint64_t *map_slot(struct map *m, uint64_t key, int create)
{
    if (!m->cap) {
        if (!create)
            return NULL;
        map_grow(m);
    }
    size_t i = mix(key) & (m->cap - 1);
    for (;;) {
        if (m->keys[i] == key + 1)
            return &m->vals[i];
        if (m->keys[i] == 0) {
            if (!create)
                return NULL;
            if ((m->n + 1) * 2 > m->cap) {
                map_grow(m);
                return map_slot(m, key, create);
            }
            m->keys[i] = key + 1;
            m->vals[i] = 0;
            m->n++;
            return &m->vals[i];
        }
        i = (i + 1) & (m->cap - 1);
    }
}

static void map_grow(struct map *m)
{
    struct map old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->keys = calloc(m->cap, sizeof(uint64_t));
    m->vals = calloc(m->cap, sizeof(uint64_t));
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            *map_slot(m, old.keys[i] - 1, 1) = old.vals[i];
    free(old.keys);
    free(old.vals);
}

/* Removal by tombstone-free rebuild is overkill here: mark value 0 = dead. */

/* ---- decoded stream ---------------------------------------------------- */

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

static void stream_init(struct stream *s, int fd)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
}

static void add_rec(struct stream *s, struct rec r)
{
    if (s->nrecs == s->caprecs) {
        s->caprecs = s->caprecs ? s->caprecs * 2 : 4096;
        s->recs = realloc(s->recs, s->caprecs * sizeof *s->recs);
    }
    s->recs[s->nrecs++] = r;
}

static struct stackrec *find_stack(struct stream *s, uint32_t id)
{
    uint64_t *v = map_slot(&s->stack_index, id, 0);
    return v && *v ? &s->stacks[*v - 1] : NULL;
}

static void decode(struct stream *s)
{
    size_t off = 0;
    if (!s->have_hello) {
        if (s->len < sizeof(struct sl_hello))
            return;
        memcpy(&s->hello, s->buf, sizeof s->hello);
        s->have_hello = 1;
        off = s->hello.hello_size >= 8 ? s->hello.hello_size : sizeof s->hello;
        if (off > s->len) {   /* a larger hello than we know: wait for it */
            s->have_hello = 0;
            return;
        }
    }
    while (s->len - off >= sizeof(struct sl_frame_header)) {
        struct sl_frame_header h;
        memcpy(&h, s->buf + off, sizeof h);
        if (h.size > SL_FRAME_MAX_PAYLOAD) {
            s->error = 1;
            break;
        }
        if (s->len - off - sizeof h < h.size)
            break;
        const unsigned char *p = s->buf + off + sizeof h;
        struct rec r = {h.type, 0, 0, 0, 0};
        switch (h.type) {
        case SL_REC_ALLOC: {
            struct sl_rec_alloc a;
            if (h.size < sizeof a) { s->error = 1; break; }
            memcpy(&a, p, sizeof a);
            r.addr = a.address;
            r.size = a.size;
            r.stack = a.stack_id;
            if (!find_stack(s, a.stack_id))
                s->alloc_without_stack++;
            add_rec(s, r);
            break;
        }
        case SL_REC_FREE: {
            struct sl_rec_free f;
            if (h.size < sizeof f) { s->error = 1; break; }
            memcpy(&f, p, sizeof f);
            r.addr = f.address;
            add_rec(s, r);
            break;
        }
        case SL_REC_STACK: {
            struct sl_rec_stack st;
            if (h.size < sizeof st) { s->error = 1; break; }
            memcpy(&st, p, sizeof st);
            if (h.size < sizeof st + st.depth * 8ull || st.depth > SL_MAX_FRAMES) { s->error = 1; break; }
            if (s->nstacks == s->capstacks) {
                s->capstacks = s->capstacks ? s->capstacks * 2 : 256;
                s->stacks = realloc(s->stacks, s->capstacks * sizeof *s->stacks);
            }
            struct stackrec *sr = &s->stacks[s->nstacks++];
            sr->id = st.stack_id;
            sr->depth = st.depth;
            sr->ips = malloc(st.depth * 8ull + 8);
            memcpy(sr->ips, p + sizeof st, st.depth * 8ull);
            uint64_t *v = map_slot(&s->stack_index, st.stack_id, 1);
            if (*v)
                s->error = 1;   /* a stack id sent twice on one stream */
            *v = s->nstacks;
            break;
        }
        case SL_REC_SYNC: {
            struct sl_rec_sync y;
            if (h.size < sizeof y) { s->error = 1; break; }
            memcpy(&y, p, sizeof y);
            r.addr = y.token;
            r.extra = y.lost_events;
            add_rec(s, r);
            break;
        }
        case SL_REC_STATUS: {
            if (h.size < sizeof s->status) { s->error = 1; break; }
            memcpy(&s->status, p, sizeof s->status);
            s->got_status++;
            r.addr = s->status.code;
            r.extra = s->status.lost_events;
            add_rec(s, r);
            break;
        }
        case SL_REC_EXITING: {
            /* Let the exiting process go, as swiftleak does once it has symbolized. */
            struct sl_frame_header release = {0, SL_CMD_RELEASE, 0};
            s->exiting++;
            if (write(s->fd, &release, sizeof release) != (ssize_t)sizeof release)
                s->error = 1;
            break;
        }
        default:
            break;   /* unknown record: skip, as the header says */
        }
        if (s->error)
            break;
        off += sizeof h + h.size;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
}

static void stream_read(struct stream *s)
{
    if (s->fd < 0)
        return;
    if (s->cap - s->len < 65536) {
        s->cap = s->cap ? s->cap * 2 : 1 << 20;
        s->buf = realloc(s->buf, s->cap);
    }
    ssize_t n = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (n > 0) {
        s->len += (size_t)n;
        s->bytes += (size_t)n;
        decode(s);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        s->eof = 1;
        close(s->fd);
        s->fd = -1;
    }
}

/* ---- a fixture run ------------------------------------------------------ */

#define MAX_STREAMS 4

struct run {
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

static void run_listen(struct run *r, const char *name)
{
    memset(r, 0, sizeof *r);
    r->exit_status = -1;
    r->accept_limit = 1;
    r->in_fd = r->out_fd = -1;
    snprintf(r->sock, sizeof r->sock, "%s/%s.sock", tmpdir, name);
    unlink(r->sock);
    r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, r->sock, strnlen(r->sock, sizeof sa.sun_path - 1));
    if (bind(r->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(r->listen_fd, 8) != 0) {
        perror("bind/listen");
        exit(2);
    }
}

/* env: NULL-terminated "K=V" additions; preload: set LD_PRELOAD + socket. */
static void run_start(struct run *r, char *const argv[], int preload, const char *frames)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
        perror("pipe");
        exit(2);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (preload) {
            setenv("LD_PRELOAD", agent, 1);
            setenv(SL_ENV_SOCKET, r->sock, 1);
            if (frames)
                setenv(SL_ENV_FRAMES, frames, 1);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    r->pid = pid;
    r->in_fd = in[1];
    r->out_fd = out[0];
}

/* One round of waiting for anything: connections, stream bytes, output. */
static void run_pump(struct run *r, int timeout_ms)
{
    struct pollfd p[2 + MAX_STREAMS];
    int n = 0;
    p[n++] = (struct pollfd){r->listen_fd, POLLIN, 0};
    p[n++] = (struct pollfd){r->out_fd, POLLIN, 0};
    for (int i = 0; i < r->nstreams; i++)
        p[n++] = (struct pollfd){r->streams[i].fd, POLLIN, 0};
    int k = poll(p, (nfds_t)n, timeout_ms);
    if (k <= 0)
        goto reap;
    if (p[0].revents & POLLIN) {
        int c = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            if (r->nstreams < r->accept_limit && r->nstreams < MAX_STREAMS)
                stream_init(&r->streams[r->nstreams++], c);
            else {
                close(c);   /* swiftleak rejecting a connection */
                r->rejected++;
            }
        }
    }
    if (r->out_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
        ssize_t m = read(r->out_fd, r->out + r->outlen, sizeof r->out - 1 - r->outlen);
        if (m > 0) {
            r->outlen += (size_t)m;
            r->out[r->outlen] = 0;
        } else if (m == 0) {
            close(r->out_fd);
            r->out_fd = -1;
        }
    }
    for (int i = 0; i < r->nstreams; i++)
        if (p[2 + i].fd >= 0 && (p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
            stream_read(&r->streams[i]);
reap:
    if (r->exit_status < 0 && r->pid > 0) {
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid)
            r->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
}

static int wait_output(struct run *r, const char *needle, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!strstr(r->out, needle)) {
        if (now_ms() > end)
            return 0;
        run_pump(r, 20);
    }
    return 1;
}

static int wait_streams(struct run *r, int count, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (r->nstreams < count || !r->streams[count - 1].have_hello) {
        if (now_ms() > end)
            return 0;
        run_pump(r, 20);
    }
    return 1;
}

/* Until the stream has a SYNC with `token`; returns its record index or -1. */
static long wait_sync(struct run *r, struct stream *s, uint64_t token, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    size_t scanned = 0;
    for (;;) {
        for (; scanned < s->nrecs; scanned++)
            if (s->recs[scanned].type == SL_REC_SYNC && s->recs[scanned].addr == token)
                return (long)scanned;
        if (now_ms() > end || s->eof)
            return -1;
        run_pump(r, 20);
    }
}

static void send_cmd(struct stream *s, uint16_t type, const void *payload, uint32_t size)
{
    unsigned char b[64];
    struct sl_frame_header h = {size, type, 0};
    memcpy(b, &h, sizeof h);
    if (size)
        memcpy(b + sizeof h, payload, size);
    if (write(s->fd, b, sizeof h + size) != (ssize_t)(sizeof h + size))
        perror("send_cmd");
}

static long send_sync(struct run *r, struct stream *s, uint64_t token)
{
    struct sl_cmd_sync c = {token};
    send_cmd(s, SL_CMD_SYNC, &c, sizeof c);
    return wait_sync(r, s, token, 10000);
}

/* Wait for the process to exit and every stream to reach EOF. */
static void run_finish(struct run *r, int timeout_ms)
{
    if (r->in_fd >= 0) {
        close(r->in_fd);
        r->in_fd = -1;
    }
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int open = r->exit_status < 0 || r->out_fd >= 0;
        for (int i = 0; i < r->nstreams; i++)
            open |= !r->streams[i].eof;
        if (!open)
            break;
        if (now_ms() > end) {
            if (r->exit_status < 0) {
                kill(r->pid, SIGKILL);
                fprintf(stderr, "    (timeout: killed pid %d)\n", r->pid);
            }
            for (int i = 0; i < r->nstreams; i++)
                if (!r->streams[i].eof)
                    fprintf(stderr, "    (timeout: stream %d never reached EOF)\n", i);
            break;
        }
        run_pump(r, 20);
    }
    while (r->exit_status < 0) {
        int st;
        if (waitpid(r->pid, &st, 0) == r->pid)
            r->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    close(r->listen_fd);
    unlink(r->sock);
}

static void fixture(char *path, size_t n, const char *name)
{
    snprintf(path, n, "%s/%s", fixdir, name);
}

/* Value after "TAG " on a line of the child's output. */
static int out_fn(struct run *r, const char *tag, uint64_t *lo, uint64_t *hi)
{
    char key[32];
    snprintf(key, sizeof key, "\n%s ", tag);
    char tmp[sizeof r->out + 1];
    tmp[0] = '\n';
    memcpy(tmp + 1, r->out, r->outlen + 1);
    const char *p = strstr(tmp, key);
    unsigned long a, sz;
    if (!p || sscanf(p + strlen(key), "%lx %lu", &a, &sz) != 2)
        return 0;
    *lo = a;
    *hi = a + sz;
    return 1;
}

static int out_int(struct run *r, const char *tag, long *v)
{
    char key[32];
    snprintf(key, sizeof key, "\n%s ", tag);
    char tmp[sizeof r->out + 1];
    tmp[0] = '\n';
    memcpy(tmp + 1, r->out, r->outlen + 1);
    const char *p = strstr(tmp, key);
    return p && sscanf(p + strlen(key), "%li", v) == 1;
}

static void check_hello(struct stream *s, pid_t pid, uint32_t mode, uint32_t frames)
{
    CHECK(s->have_hello, "no hello");
    CHECK(memcmp(s->hello.magic, SL_HELLO_MAGIC, 8) == 0, "magic");
    CHECK(s->hello.version == SL_PROTOCOL_VERSION, "version %u", s->hello.version);
    CHECK(s->hello.hello_size == sizeof(struct sl_hello), "hello_size %u", s->hello.hello_size);
    CHECK(s->hello.pid == (uint32_t)pid, "pid %u != %d", s->hello.pid, pid);
    CHECK(s->hello.mode == mode, "mode %u", s->hello.mode);
    CHECK(s->hello.frames_max == frames, "frames %u", s->hello.frames_max);
    uint64_t now = (uint64_t)time(NULL) * 1000000000ull;
    CHECK(s->hello.start_ns > now - 600000000000ull && s->hello.start_ns < now + 60000000000ull,
          "start_ns %llu", (unsigned long long)s->hello.start_ns);
    CHECK(!s->error, "stream error");
    CHECK(s->alloc_without_stack == 0, "%d allocs referenced unsent stacks", s->alloc_without_stack);
}

/* Index of the allocation records with this size; returns how many. */
static int allocs_of_size(struct stream *s, uint64_t size, size_t *idx, int max)
{
    int n = 0;
    for (size_t i = 0; i < s->nrecs; i++)
        if (s->recs[i].type == SL_REC_ALLOC && s->recs[i].size == size) {
            if (n < max)
                idx[n] = i;
            n++;
        }
    return n;
}

static long free_after(struct stream *s, size_t from, uint64_t addr)
{
    for (size_t i = from + 1; i < s->nrecs; i++) {
        if (s->recs[i].addr != addr)
            continue;
        if (s->recs[i].type == SL_REC_FREE)
            return (long)i;
        if (s->recs[i].type == SL_REC_ALLOC)
            return -1;
    }
    return -1;
}

static int ip_in(struct stream *s, uint32_t stack, int frame, uint64_t lo, uint64_t hi)
{
    struct stackrec *st = find_stack(s, stack);
    return st && (uint32_t)frame < st->depth && st->ips[frame] >= lo && st->ips[frame] < hi;
}

/* Ordering: replay the stream; an ALLOC of a live address or a FREE before
 * ... is a violation. Returns violations; *unknown counts frees of blocks
 * never seen (allocated before tracing). */
static long replay(struct stream *s, long *unknown, long *live_out)
{
    struct map live = {0};
    long bad = 0, unk = 0, live_n = 0;
    for (size_t i = 0; i < s->nrecs; i++) {
        struct rec *c = &s->recs[i];
        if (c->type == SL_REC_ALLOC) {
            uint64_t *v = map_slot(&live, c->addr, 1);
            if (*v)
                bad++;
            else
                live_n++;
            *v = 1;
        } else if (c->type == SL_REC_FREE) {
            uint64_t *v = map_slot(&live, c->addr, 0);
            if (v && *v) {
                *v = 0;
                live_n--;
            } else {
                unk++;
            }
        }
    }
    free(live.keys);
    free(live.vals);
    *unknown = unk;
    if (live_out)
        *live_out = live_n;
    return bad;
}

/* ---- tests -------------------------------------------------------------- */

static void t_basic(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "basic");
    struct run r;
    run_listen(&r, "basic");
    char *argv[] = {exe, NULL};
    run_start(&r, argv, 1, "32");
    run_finish(&r, 10000);
    CHECK(r.exit_status == 0, "exit %d", r.exit_status);
    CHECK(r.nstreams == 1, "streams %d", r.nstreams);
    if (r.nstreams < 1)
        return;
    struct stream *s = &r.streams[0];
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

static void t_allfuncs(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "allfuncs");
    struct run r;
    run_listen(&r, "allfuncs");
    char *argv[] = {exe, NULL};
    run_start(&r, argv, 1, NULL);
    run_finish(&r, 10000);
    CHECK(r.exit_status == 0, "exit %d", r.exit_status);
    if (r.nstreams < 1) {
        CHECK(0, "no stream");
        return;
    }
    struct stream *s = &r.streams[0];
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

static void t_threads(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "threads");
    struct run r;
    run_listen(&r, "threads");
    char *argv[] = {exe, NULL};
    uint64_t t0 = now_ms();
    run_start(&r, argv, 1, NULL);
    CHECK(wait_output(&r, "R\n", 60000), "threads fixture never finished");
    uint64_t t1 = now_ms();
    if (r.nstreams < 1) {
        CHECK(0, "no stream");
        run_finish(&r, 10000);
        return;
    }
    struct stream *s = &r.streams[0];
    long at = send_sync(&r, s, 0x5157);
    CHECK(at >= 0, "no SYNC answer");
    if (at >= 0)
        CHECK(s->recs[at].extra == 0, "lost events: %llu", (unsigned long long)s->recs[at].extra);
    run_finish(&r, 20000);
    CHECK(r.exit_status == 0, "exit %d", r.exit_status);
    check_hello(s, r.pid, SL_MODE_PRELOAD, 64);
    long allocs = 0;
    for (size_t i = 0; i < s->nrecs; i++)
        allocs += s->recs[i].type == SL_REC_ALLOC && s->recs[i].size == 777;
    CHECK(allocs == 400000, "allocations of 777 bytes: %ld", allocs);
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
    printf("    threads: 4 x 100k malloc/free traced in %llu ms, %zu records, %.1f MB on the wire, %zu stacks\n",
           (unsigned long long)(t1 - t0), s->nrecs, s->bytes / 1e6, s->nstacks);
}

static void t_sync(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "sync");
    struct run r;
    run_listen(&r, "sync");
    char *argv[] = {exe, NULL};
    run_start(&r, argv, 1, NULL);
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
    run_finish(&r, 10000);
    CHECK(r.exit_status == 0, "exit %d", r.exit_status);
    int n = allocs_of_size(s, 2222, idx, 128);
    int freed = 0;
    for (int i = 0; i < n && i < 128; i++)
        freed += free_after(s, idx[i], s->recs[idx[i]].addr) > b;
    CHECK(freed == 100, "frees after the SYNC: %d", freed);
}

static void t_fork(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "fork");
    struct run r;
    run_listen(&r, "fork");
    char *argv[] = {exe, NULL};
    run_start(&r, argv, 1, NULL);
    run_finish(&r, 15000);
    CHECK(r.exit_status == 0, "exit %d", r.exit_status);
    CHECK(strstr(r.out, "CHILD 0 0") && strstr(r.out, "CHILD 1 0"), "children: %s", r.out);
    CHECK(r.nstreams == 1, "streams %d", r.nstreams);
    CHECK(r.rejected == 1, "the exec'd child should have connected (and been rejected): %d", r.rejected);
    if (r.nstreams < 1)
        return;
    struct stream *s = &r.streams[0];
    check_hello(s, r.pid, SL_MODE_PRELOAD, 64);
    size_t idx[32];
    CHECK(allocs_of_size(s, 555, idx, 32) == 0, "child allocations in the parent's stream");
    CHECK(allocs_of_size(s, 556, idx, 32) == 0, "exec'd child allocations in the parent's stream");
    CHECK(allocs_of_size(s, 3131, idx, 32) == 10, "parent allocations before fork");
    CHECK(allocs_of_size(s, 3132, idx, 32) == 10, "parent allocations after fork");
    long unknown = 0;
    CHECK(replay(s, &unknown, NULL) == 0, "ordering violations");
}

static int run_plain(const char *exe, int preload, char *out, size_t n)
{
    struct run r;
    run_listen(&r, "plain");
    char *argv[] = {(char *)exe, NULL};
    run_start(&r, argv, preload, NULL);
    run_finish(&r, 20000);
    snprintf(out, n, "%s", r.out);
    return r.exit_status;
}

static void t_throw(void)
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

static void t_closemid(void)
{
    char exe[512];
    fixture(exe, sizeof exe, "closemid");
    char plain[256];
    run_plain(exe, 0, plain, sizeof plain);
    struct run r;
    run_listen(&r, "closemid");
    char *argv[] = {exe, NULL};
    run_start(&r, argv, 1, NULL);
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
    run_finish(&r, 10000);
    CHECK(r.exit_status == 0, "exit %d", r.exit_status);
    CHECK(strncmp(r.out, "RESULT ", 7) == 0 && strcmp(r.out, plain) == 0, "output '%s' vs '%s'", r.out, plain);
}

static void t_needed(void)
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
    CHECK(strcmp(syms, "aligned_alloc calloc free malloc memalign posix_memalign pvalloc realloc reallocarray "
                       "swiftleak_agent_attach valloc ") == 0,
          "exports: %s", syms);
}

static void t_passthrough(void)
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

static void t_attach(void)
{
    char exe[512], plugin[512];
    fixture(exe, sizeof exe, "attach");
    fixture(plugin, sizeof plugin, "libplugin.so");
    struct run r;
    run_listen(&r, "attach");
    r.accept_limit = 2;
    char *argv[] = {exe, (char *)agent, r.sock, plugin, NULL};
    run_start(&r, argv, 0, NULL);
    CHECK(wait_output(&r, "R1\n", 10000), "no R1: %s", r.out);
    CHECK(r.nstreams == 1, "streams %d", r.nstreams);
    long v = -1;
    CHECK(out_int(&r, "BEFORE", &v) && v == 1, "GOT slot before attach");
    CHECK(out_int(&r, "GLOBAL", &v) && v == 1, "the agent interposed globally");
    CHECK(out_int(&r, "ATTACH1", &v) && v == 0, "attach returned %ld", v);
    CHECK(strstr(r.out, "HOOKED1 1 1") != NULL, "GOT slots not hooked: %s", r.out);
    CHECK(out_int(&r, "DUP", &v) && v == EALREADY, "second attach while attached: %ld", v);
    if (r.nstreams < 1) {
        run_finish(&r, 5000);
        return;
    }
    struct stream *s = &r.streams[0];
    long y = send_sync(&r, s, 11);
    CHECK(y >= 0, "no SYNC in attach mode");
    send_cmd(s, SL_CMD_STOP, NULL, 0);
    uint64_t end = now_ms() + 5000;
    while (!s->eof && now_ms() < end)
        run_pump(&r, 20);
    CHECK(s->eof, "no EOF after STOP");
    CHECK(s->got_status == 1 && s->status.code == SL_STATUS_STOPPED, "status %d code %u", s->got_status,
          s->status.code);
    CHECK(s->nrecs && s->recs[s->nrecs - 1].type == SL_REC_STATUS, "status is not the last record");
    check_hello(s, r.pid, SL_MODE_ATTACH, 32);
    uint64_t lo = 0, hi = 0;
    CHECK(out_fn(&r, "FN", &lo, &hi), "FN");
    size_t idx[64];
    int n = allocs_of_size(s, 4441, idx, 64);
    CHECK(n == 20, "attach allocations: %d", n);
    int freed = 0, at = 0;
    for (int i = 0; i < n && i < 64; i++) {
        freed += free_after(s, idx[i], s->recs[idx[i]].addr) > 0;
        at += ip_in(s, s->recs[idx[i]].stack, 0, lo, hi);
    }
    CHECK(freed == 10, "attach frees: %d", freed);
    CHECK(at == n, "attach stacks at attach_work: %d of %d", at, n);
    CHECK(allocs_of_size(s, 4448, idx, 4) == 1, "strdup through libc's GOT not seen");
    long unknown = 0;
    CHECK(replay(s, &unknown, NULL) == 0, "ordering");
    CHECK(unknown >= 1, "the free of a pre-attach block should be an unknown free");

    if (write(r.in_fd, "go\n", 3) != 3)
        perror("write");
    CHECK(wait_output(&r, "R2\n", 10000), "no R2: %s", r.out);
    CHECK(strstr(r.out, "RESTORED 1 1") != NULL, "GOT not restored after STOP: %s", r.out);
    CHECK(out_int(&r, "ATTACH2", &v) && v == 0, "re-attach returned %ld", v);
    CHECK(out_int(&r, "HOOKED2", &v) && v == 1, "not hooked after re-attach");
    CHECK(r.nstreams == 2, "second connection: %d", r.nstreams);
    if (r.nstreams == 2) {
        struct stream *s2 = &r.streams[1];
        CHECK(send_sync(&r, s2, 22) >= 0, "no SYNC on second attach");
        check_hello(s2, r.pid, SL_MODE_ATTACH, 16);
        CHECK(allocs_of_size(s2, 4442, idx, 8) == 0 && allocs_of_size(s, 4442, idx, 8) == 0,
              "allocations while detached were recorded");
        CHECK(allocs_of_size(s2, 4443, idx, 8) == 5, "second session allocations");
        uint64_t plo = 0, phi = 0;
        CHECK(out_fn(&r, "PFN", &plo, &phi), "PFN");
        n = allocs_of_size(s2, 4444, idx, 8);
        CHECK(n == 3, "plugin allocations (library dlopen'ed after attach): %d", n);
        for (int i = 0; i < n && i < 8; i++)
            CHECK(ip_in(s2, s2->recs[idx[i]].stack, 0, plo, phi), "plugin stack");
        send_cmd(s2, SL_CMD_STOP, NULL, 0);
        end = now_ms() + 5000;
        while (!s2->eof && now_ms() < end)
            run_pump(&r, 20);
        CHECK(s2->got_status == 1 && s2->status.code == SL_STATUS_STOPPED, "second status");
    }
    if (write(r.in_fd, "go\n", 3) != 3)
        perror("write");
    run_finish(&r, 10000);
    CHECK(r.exit_status == 0, "exit %d: %s", r.exit_status, r.out);
    CHECK(strstr(r.out, "RESTORED2 1") && strstr(r.out, "END"), "end: %s", r.out);
}

/* Not a pass/fail test: ns per malloc+free pair, printed for the report. */
static void bench(void)
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

/* ---- unwinder comparison ------------------------------------------------ */

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
    char exe[512];
    fixture(exe, sizeof exe, name);
    struct run r[3];
    char **st[3];
    size_t n[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        run_listen(&r[k], name);
        char *argv[] = {exe, NULL};
        if (modes[k])
            setenv("SWIFTLEAK_UNWINDER", modes[k], 1);
        run_start(&r[k], argv, 1, frames);
        unsetenv("SWIFTLEAK_UNWINDER");
        run_finish(&r[k], 30000);
        CHECK(r[k].exit_status == 0, "%s run %d: exit %d", name, k, r[k].exit_status);
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

static void t_unwinders(void)
{
    /* 5001..5002: allocations in a signal handler (through __restore_rt). */
    compare_unwinders("unwind", "128", 1000, 5001, 5003);
    compare_unwinders("unwind_cxx", "64", 200, 0, 0);
}

struct test {
    const char *name;
    void (*fn)(void);
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s AGENT_SO FIXTURE_DIR [test...]\n", argv[0]);
        return 2;
    }
    agent = argv[1];
    fixdir = argv[2];
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/swiftleak-agent-tests.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    static const struct test tests[] = {
        {"needed", t_needed},       {"passthrough", t_passthrough}, {"basic", t_basic},
        {"allfuncs", t_allfuncs},   {"sync", t_sync},               {"threads", t_threads},
        {"fork", t_fork},           {"throw", t_throw},             {"closemid", t_closemid},
        {"attach", t_attach},       {"unwinders", t_unwinders},
    };
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
