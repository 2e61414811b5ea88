/*
 * transport.c: the Unix socket to swiftleak. Raw syscalls only (no stdio: a
 * signal inside buffered I/O corrupts streams), every call checked, EINTR
 * retried, MSG_NOSIGNAL so a closed peer never raises SIGPIPE in the host.
 */
#include "agent.h"
#include "sampling.h"

#include <errno.h>
#include <fcntl.h>
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

/* Reads up to n-1 bytes of a small file (a /proc entry) into buf, NUL
 * terminated; 0 or errno. */
static int read_small_file(const char *path, char *buf, size_t n)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno;
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t r = read(fd, buf + got, n - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = 0;
    sl_close_fd(fd);
    return 0;
}

/* The uid a process outside our user namespace shows as, or (uid_t)-1 when
 * we are in the initial namespace: there the overflow uid is a real account
 * (nobody), not a stand-in for an unmapped one. The initial namespace maps
 * every uid to itself: "0 0 4294967295". */
static uid_t unmapped_peer_uid(void)
{
    char map[128];
    if (read_small_file("/proc/self/uid_map", map, sizeof map) != 0)
        return (uid_t)-1;
    const char *p = map;
    unsigned long v[3];
    for (int k = 0; k < 3; k++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return (uid_t)-1;
        v[k] = 0;
        while (*p >= '0' && *p <= '9')
            v[k] = v[k] * 10 + (unsigned long)(*p++ - '0');
    }
    if (v[0] == 0 && v[1] == 0 && v[2] == 4294967295ul)
        return (uid_t)-1;
    char text[32];
    uid_t overflow = 65534;
    if (read_small_file("/proc/sys/kernel/overflowuid", text, sizeof text) == 0 && text[0] >= '0' && text[0] <= '9') {
        overflow = 0;
        for (const char *q = text; *q >= '0' && *q <= '9'; q++)
            overflow = overflow * 10 + (uid_t)(*q - '0');
    }
    return overflow;
}

/* Only swiftleak may receive our events and send us commands: the process
 * listening on the socket must run as root or as our own effective uid. In
 * a user namespace that does not map root (a rootless container), root
 * outside shows as the overflow uid; accepted there, since the socket's
 * directory (swiftleak's, reachable by our uid only) is something no
 * unprivileged process outside could have bound. */
static int peer_is_trusted(int fd)
{
    struct ucred peer;
    socklen_t len = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || len != sizeof peer)
        return 0;
    if (peer.uid == 0 || peer.uid == geteuid())
        return 1;
    uid_t unmapped = unmapped_peer_uid();
    return unmapped != (uid_t)-1 && peer.uid == unmapped;
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
    if (!peer_is_trusted(fd)) {
        sl_close_fd(fd);
        return EPERM;
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
    h.sample_bytes = (uint32_t)sl_sample_mean;   /* configured <= SL_MAX_SAMPLE_BYTES */
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
