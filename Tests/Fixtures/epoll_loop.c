/* An idle event loop, as redis, nginx or asyncio run one: a single thread
 * waits in epoll_wait (or epoll_pwait / epoll_pwait2: argv[1]) with the
 * timeout in argv[2] (ms, -1: none). A line on stdin is sent through a
 * socketpair and answered when the loop sees it arrive on the other end:
 * "pong <line> eintr <n>", n counting the waits that ended with EINTR (an
 * attach is allowed exactly one). "quit" ends it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int wait_events(const char *how, int ep, struct epoll_event *ev, int timeout_ms)
{
    if (strcmp(how, "epoll_pwait") == 0) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR1);
        return epoll_pwait(ep, ev, 4, timeout_ms, &mask);
    }
    if (strcmp(how, "epoll_pwait2") == 0) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        /* glibc 2.36 wraps it, but call it directly: older glibc does not. */
        return (int)syscall(SYS_epoll_pwait2, ep, ev, 4, timeout_ms < 0 ? NULL : &ts, NULL, (size_t)8);
    }
    return epoll_wait(ep, ev, 4, timeout_ms);
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "epoll_wait";
    int timeout_ms = argc > 2 ? atoi(argv[2]) : -1;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) { perror("socketpair"); return 1; }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event in = {.events = EPOLLIN, .data.fd = 0};
    struct epoll_event peer = {.events = EPOLLIN, .data.fd = pair[1]};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pair[1], &peer) != 0) {
        perror("epoll");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    unsigned eintr = 0;
    for (;;) {
        struct epoll_event ev[4];
        int n = wait_events(how, ep, ev, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) { eintr++; continue; }
            printf("%s failed: %s\n", how, strerror(errno));
            return 3;
        }
        for (int i = 0; i < n; i++) {
            char buf[256];
            ssize_t got = read(ev[i].data.fd, buf, sizeof buf - 1);
            if (got <= 0) return got == 0 ? 0 : 3;
            buf[got] = 0;
            if (got > 0 && buf[got - 1] == '\n') buf[--got] = 0;
            if (ev[i].data.fd == 0) {
                if (strcmp(buf, "quit") == 0) return 0;
                if (write(pair[0], buf, (size_t)got) != got) return 3;
            } else {
                printf("pong %s eintr %u\n", buf, eintr);
                fflush(stdout);
            }
        }
    }
}
