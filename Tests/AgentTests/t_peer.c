/*
 * t_peer.c: the agent streams only to root or to its own user. A socket
 * someone else listens on gets nothing, not even the hello, and the program
 * runs on untraced.
 */
#include "harness.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void t_peer_stranger(void)
{
    struct run r;
    run_listen(&r, "peer");
    /* Listen again as nobody: SO_PEERCRED names whoever called listen(). */
    close(r.listen_fd);
    unlink(r.sock);
    r.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, r.sock, strnlen(r.sock, sizeof sa.sun_path - 1));
    CHECK(bind(r.listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind");
    CHECK(seteuid(65534) == 0, "seteuid(nobody): the agent tests run as root");
    CHECK(listen(r.listen_fd, 8) == 0, "listen as nobody");
    CHECK(seteuid(0) == 0, "seteuid(root)");

    char path[512];
    fixture(path, sizeof path, "basic");
    char *const argv[] = {path, NULL};
    run_start(&r, argv, 1, "32");
    CHECK(run_finish_ok(&r, 10000), "the program runs on: %s", r.out);
    CHECK(r.nstreams <= 1, "streams %d", r.nstreams);
    for (int i = 0; i < r.nstreams; i++)
        CHECK(!r.streams[i].have_hello && r.streams[i].bytes == 0,
              "a stranger's socket got %zu bytes (hello %d)", r.streams[i].bytes, r.streams[i].have_hello);
}
