/*
 * t_attach.c: attach mode, driven by a fixture that attaches the agent to
 * itself: GOT slots hooked and restored, SYNC and STOP, a second session,
 * a library dlopen'ed after attach.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void t_attach(void)
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
    run_finish_ok(&r, 10000);
    CHECK(strstr(r.out, "RESTORED2 1") && strstr(r.out, "END"), "end: %s", r.out);
}
