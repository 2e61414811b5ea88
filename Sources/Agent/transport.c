/*
 * transport.c: the Unix socket to swiftleak. Raw syscalls only (no stdio: a
 * signal inside buffered I/O corrupts streams), every call checked, EINTR
 * retried, MSG_NOSIGNAL so a closed peer never raises SIGPIPE in the host.
 */
#include "agent.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

uint64_t sl_now_ns(int clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sl_connect(const char *path, int *fd_out)
{
    struct sockaddr_un sa;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(sa.sun_path))
        return ENAMETOOLONG;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (e != EINTR && e != EINPROGRESS) {
            sl_close_fd(fd);
            return e;
        }
        /* Interrupted: the connection completes asynchronously. */
        struct pollfd p = {fd, POLLOUT, 0};
        int r;
        do
            r = poll(&p, 1, 5000);
        while (r < 0 && errno == EINTR);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
            sl_close_fd(fd);
            return r == 0 ? ETIMEDOUT : (soerr ? soerr : EIO);
        }
    }
    *fd_out = fd;
    return 0;
}

int sl_send_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {fd, POLLOUT, 0};
            if (poll(&pf, 1, 1000) < 0 && errno != EINTR)
                return errno;
            continue;
        }
        return n < 0 ? errno : EPIPE;
    }
    return 0;
}

int sl_send_hello(int fd, uint32_t mode, uint32_t frames)
{
    struct sl_hello h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, SL_HELLO_MAGIC, sizeof h.magic);
    h.version = SL_PROTOCOL_VERSION;
    h.hello_size = sizeof h;
    h.pid = (uint32_t)getpid();
    h.mode = mode;
    h.frames_max = frames;
    h.start_ns = sl_now_ns(CLOCK_REALTIME);
    return sl_send_all(fd, &h, sizeof h);
}

int sl_send_status(int fd, uint32_t code, uint32_t detail, uint64_t lost)
{
    struct {
        struct sl_frame_header h;
        struct sl_rec_status s;
    } __attribute__((packed)) m;
    memset(&m, 0, sizeof m);
    m.h.size = sizeof m.s;
    m.h.type = SL_REC_STATUS;
    m.s.code = code;
    m.s.detail = detail;
    m.s.lost_events = lost;
    return sl_send_all(fd, &m, sizeof m);
}

void sl_close_fd(int fd)
{
    /* Linux closes the descriptor even when close reports EINTR: no retry. */
    if (fd >= 0)
        (void)close(fd);
}

/* Diagnostics for agent developers (SWIFTLEAK_AGENT_DEBUG=1): one line on
 * stderr, built on the stack, written with a single write(2). Never on the
 * hot path. */
static int debug_on = -1;

void sl_debug(const char *msg, uint64_t a, uint64_t b)
{
    if (debug_on < 0) {
        const char *e = getenv("SWIFTLEAK_AGENT_DEBUG");
        debug_on = e && *e == '1';
    }
    if (!debug_on)
        return;
    char line[256];
    size_t n = 0;
    const char *pre = "swiftleak-agent: ";
    while (*pre && n < 100)
        line[n++] = *pre++;
    while (*msg && n < 200)
        line[n++] = *msg++;
    uint64_t v[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        line[n++] = ' ';
        line[n++] = '0';
        line[n++] = 'x';
        for (int s = 60; s >= 0; s -= 4)
            line[n++] = "0123456789abcdef"[(v[k] >> s) & 15];
    }
    line[n++] = '\n';
    ssize_t w;
    do
        w = write(2, line, n);
    while (w < 0 && errno == EINTR);
}
