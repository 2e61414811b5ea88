/* A service under a seccomp filter (argv[1] names it), waiting in
 * nanosleep as a cron-like worker does. Every 20 ms it looks at stdin
 * without blocking and answers a line with "alive <line>" ("quit" ends it).
 * Only raw write(2) after the filter is in: stdio could need calls the
 * filter forbids.
 *   kill-socket    socket(2) kills the process (systemd's SystemCallFilter=)
 *   eperm-mmap     mmap(2) fails with EPERM
 *   kill-openat    openat(2) kills the thread
 *   kill:NR        system call NR kills the process
 *   eperm:NR       system call NR fails with EPERM
 *   allow-agent    what careful services run with, all of which an attach
 *                  survives: other architectures killed, socket(2) only
 *                  for AF_UNIX (RestrictAddressFamilies=), no writable and
 *                  executable mmap (MemoryDenyWriteExecute=), clone3 failing
 *                  with ENOSYS (so glibc falls back to clone), ptrace killed */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NR offsetof(struct seccomp_data, nr)
#define ARCH offsetof(struct seccomp_data, arch)
#define ARG_LO(i) offsetof(struct seccomp_data, args[i])
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off)
#define RET(v) BPF_STMT(BPF_RET | BPF_K, v)
/* if (A == nr) return action; */
#define DENY(nr, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), RET(action)

static void say(const char *s) { (void)!write(1, s, strlen(s)); }

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    struct sock_filter kill_socket[] = {
        LOAD(NR), DENY(__NR_socket, SECCOMP_RET_KILL_PROCESS), RET(SECCOMP_RET_ALLOW),
    };
    struct sock_filter eperm_mmap[] = {
        LOAD(NR), DENY(__NR_mmap, SECCOMP_RET_ERRNO | EPERM), RET(SECCOMP_RET_ALLOW),
    };
    struct sock_filter kill_openat[] = {
        LOAD(NR), DENY(__NR_openat, SECCOMP_RET_KILL_THREAD), RET(SECCOMP_RET_ALLOW),
    };
    struct sock_filter allow_agent[] = {
        LOAD(ARCH),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        RET(SECCOMP_RET_KILL_PROCESS),
        LOAD(NR),
        DENY(__NR_ptrace, SECCOMP_RET_KILL_PROCESS),
        DENY(__NR_clone3, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4),
        LOAD(ARG_LO(0)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1),
        RET(SECCOMP_RET_ALLOW),
        RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 5),
        LOAD(ARG_LO(2)),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
        RET(SECCOMP_RET_KILL_PROCESS),
        RET(SECCOMP_RET_ALLOW),
        RET(SECCOMP_RET_ALLOW),
    };
    /* kill:NR / eperm:NR, for checking each call an attach makes. */
    struct sock_filter one_call[] = {
        LOAD(NR), DENY(0, SECCOMP_RET_ALLOW), RET(SECCOMP_RET_ALLOW),
    };
    struct sock_filter *filter = NULL;
    unsigned short length = 0;
    if (strncmp(mode, "kill:", 5) == 0 || strncmp(mode, "eperm:", 6) == 0) {
        int kill = mode[0] == 'k';
        one_call[1].k = (unsigned)atoi(mode + (kill ? 5 : 6));
        one_call[2].k = kill ? SECCOMP_RET_KILL_PROCESS : (SECCOMP_RET_ERRNO | EPERM);
        filter = one_call;
        length = sizeof one_call / sizeof one_call[0];
    }
#define PICK(name, f) if (strcmp(mode, name) == 0) { filter = f; length = sizeof f / sizeof f[0]; }
    PICK("kill-socket", kill_socket)
    PICK("eperm-mmap", eperm_mmap)
    PICK("kill-openat", kill_openat)
    PICK("allow-agent", allow_agent)
    if (!filter) { say("usage: seccomp_sleeper kill-socket|eperm-mmap|kill-openat|allow-agent|kill:NR|eperm:NR\n"); return 2; }
    struct sock_fprog prog = {length, filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        say("cannot install the filter\n");
        return 1;
    }
    say("ready\n");
    for (;;) {
        struct timespec d = {0, 20000000};
        nanosleep(&d, NULL);
        struct pollfd p = {0, POLLIN, 0};
        if (poll(&p, 1, 0) != 1) continue;
        char buf[200];
        ssize_t n = read(0, buf, sizeof buf - 1);
        if (n <= 0) return 0;
        buf[n] = 0;
        if (buf[n - 1] == '\n') buf[--n] = 0;
        if (strcmp(buf, "quit") == 0) return 0;
        say("alive ");
        say(buf);
        say("\n");
    }
}
