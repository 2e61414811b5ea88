/*
 * fixture_run.c: one run of a fixture: the socket the agent connects to,
 * the child process, its output, and the streams of its connections.
 * Every wait has a deadline.
 */
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

void run_listen(struct run *r, const char *name)
{
    memset(r, 0, sizeof *r);
    r->name = name;
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

void run_start(struct run *r, char *const argv[], int preload, const char *frames)
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

void run_fixture(struct run *r, const char *name, const char *frames)
{
    char exe[512];
    fixture(exe, sizeof exe, name);
    run_listen(r, name);
    char *argv[] = {exe, NULL};
    run_start(r, argv, 1, frames);
}

void run_pump(struct run *r, int timeout_ms)
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

int wait_output(struct run *r, const char *needle, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!strstr(r->out, needle)) {
        if (now_ms() > end)
            return 0;
        run_pump(r, 20);
    }
    return 1;
}

int wait_streams(struct run *r, int count, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (r->nstreams < count || !r->streams[count - 1].have_hello) {
        if (now_ms() > end)
            return 0;
        run_pump(r, 20);
    }
    return 1;
}

long wait_sync(struct run *r, struct stream *s, uint64_t token, int timeout_ms)
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

void send_cmd(struct stream *s, uint16_t type, const void *payload, uint32_t size)
{
    unsigned char b[64];
    struct sl_frame_header h = {size, type, 0};
    memcpy(b, &h, sizeof h);
    if (size)
        memcpy(b + sizeof h, payload, size);
    if (write(s->fd, b, sizeof h + size) != (ssize_t)(sizeof h + size))
        perror("send_cmd");
}

long send_sync(struct run *r, struct stream *s, uint64_t token)
{
    struct sl_cmd_sync c = {token};
    send_cmd(s, SL_CMD_SYNC, &c, sizeof c);
    return wait_sync(r, s, token, 10000);
}

void run_finish(struct run *r, int timeout_ms)
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

int run_finish_ok(struct run *r, int timeout_ms)
{
    run_finish(r, timeout_ms);
    CHECK(r->exit_status == 0, "%s: exit %d: %s", r->name, r->exit_status, r->out);
    return r->exit_status == 0;
}

struct stream *first_stream(struct run *r)
{
    CHECK(r->nstreams >= 1, "%s: no stream", r->name);
    return r->nstreams >= 1 ? &r->streams[0] : NULL;
}

void fixture(char *path, size_t n, const char *name)
{
    snprintf(path, n, "%s/%s", fixdir, name);
}

/* Text after "TAG " at the start of a line of the child's output, or NULL. */
static const char *out_value(const struct run *r, const char *tag)
{
    size_t n = strlen(tag);
    for (const char *line = r->out; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp(line, tag, n) == 0 && line[n] == ' ')
            return line + n + 1;
    return NULL;
}

int out_fn(struct run *r, const char *tag, uint64_t *lo, uint64_t *hi)
{
    const char *p = out_value(r, tag);
    unsigned long a, sz;
    if (!p || sscanf(p, "%lx %lu", &a, &sz) != 2)
        return 0;
    *lo = a;
    *hi = a + sz;
    return 1;
}

int out_int(struct run *r, const char *tag, long *v)
{
    const char *p = out_value(r, tag);
    return p && sscanf(p, "%li", v) == 1;
}

int run_plain(const char *exe, int preload, char *out, size_t n)
{
    struct run r;
    run_listen(&r, "plain");
    char *argv[] = {(char *)exe, NULL};
    run_start(&r, argv, preload, NULL);
    run_finish(&r, 20000);
    snprintf(out, n, "%s", r.out);
    return r.exit_status;
}
