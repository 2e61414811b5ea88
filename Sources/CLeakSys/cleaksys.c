/* Thin wrappers over the C-only parts of the system interface; see cleaksys.h. */
#define _GNU_SOURCE
#include "cleaksys.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

int sl_ptrace_seize(pid_t tid, unsigned long options) {
    return (int)ptrace(PTRACE_SEIZE, tid, NULL, (void *)options);
}

int sl_ptrace_syscall(pid_t tid, int sig) {
    return (int)ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)sig);
}

int sl_ptrace_interrupt(pid_t tid) {
    return (int)ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
}

int sl_ptrace_cont(pid_t tid, int sig) {
    return (int)ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig);
}

int sl_ptrace_detach(pid_t tid, int sig) {
    return (int)ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
}

int sl_ptrace_getregs(pid_t tid, struct user_regs_struct *regs) {
    return (int)ptrace(PTRACE_GETREGS, tid, NULL, regs);
}

int sl_ptrace_setregs(pid_t tid, const struct user_regs_struct *regs) {
    return (int)ptrace(PTRACE_SETREGS, tid, NULL, (void *)regs);
}

int sl_ptrace_get_xstate(pid_t tid, void *buf, size_t *len) {
    struct iovec iov = { .iov_base = buf, .iov_len = *len };
    if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_X86_XSTATE, &iov) == -1)
        return -1;
    *len = iov.iov_len;
    return 0;
}

int sl_ptrace_set_xstate(pid_t tid, void *buf, size_t len) {
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    return (int)ptrace(PTRACE_SETREGSET, tid, (void *)(long)NT_X86_XSTATE, &iov);
}

int sl_ptrace_getfpregs(pid_t tid, struct user_fpregs_struct *fp) {
    return (int)ptrace(PTRACE_GETFPREGS, tid, NULL, fp);
}

int sl_ptrace_setfpregs(pid_t tid, const struct user_fpregs_struct *fp) {
    return (int)ptrace(PTRACE_SETFPREGS, tid, NULL, (void *)fp);
}

int sl_ptrace_getsiginfo(pid_t tid, siginfo_t *info) {
    return (int)ptrace(PTRACE_GETSIGINFO, tid, NULL, info);
}

int sl_ptrace_setsiginfo(pid_t tid, const siginfo_t *info) {
    return (int)ptrace(PTRACE_SETSIGINFO, tid, NULL, (void *)info);
}

int sl_ptrace_peek(pid_t tid, uint64_t addr, uint64_t *word) {
    /* PEEKDATA returns the word itself, so -1 is ambiguous: errno decides. */
    errno = 0;
    long value = ptrace(PTRACE_PEEKDATA, tid, (void *)addr, NULL);
    if (value == -1 && errno != 0)
        return -1;
    *word = (uint64_t)value;
    return 0;
}

int sl_ptrace_poke(pid_t tid, uint64_t addr, uint64_t word) {
    return (int)ptrace(PTRACE_POKEDATA, tid, (void *)addr, (void *)word);
}

uint64_t sl_siginfo_addr(const siginfo_t *info) { return (uint64_t)(uintptr_t)info->si_addr; }
int sl_siginfo_code(const siginfo_t *info) { return info->si_code; }
int sl_siginfo_signo(const siginfo_t *info) { return info->si_signo; }
pid_t sl_siginfo_pid(const siginfo_t *info) { return info->si_pid; }

int sl_tgkill(pid_t pid, pid_t tid, int sig) {
    return (int)syscall(SYS_tgkill, pid, tid, sig);
}

struct sl_wait_status sl_decode_wait_status(int status) {
    struct sl_wait_status out = { 0, 0, 0 };
    if (WIFEXITED(status)) {
        out.kind = 1;
        out.value = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out.kind = 2;
        out.value = WTERMSIG(status);
    } else if (WIFSTOPPED(status)) {
        out.kind = 3;
        out.value = WSTOPSIG(status);
        out.event = (status >> 16) & 0xff;
    }
    return out;
}

pid_t sl_waitpid_thread(pid_t tid, int *status, int nohang) {
    return waitpid(tid, status, __WALL | (nohang ? WNOHANG : 0));
}

ssize_t sl_process_read(pid_t pid, uint64_t remote, void *local, size_t len) {
    struct iovec l = { .iov_base = local, .iov_len = len };
    struct iovec r = { .iov_base = (void *)(uintptr_t)remote, .iov_len = len };
    return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

ssize_t sl_process_read_scattered(pid_t pid, const uint64_t *remotes, const size_t *lengths, size_t count, void *local) {
    if (count > SL_READV_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct iovec l = { .iov_base = local, .iov_len = 0 };
    struct iovec r[SL_READV_MAX];
    for (size_t i = 0; i < count; i++) {
        r[i].iov_base = (void *)(uintptr_t)remotes[i];
        r[i].iov_len = lengths[i];
        l.iov_len += lengths[i];
    }
    return process_vm_readv(pid, &l, 1, r, count, 0);
}

ssize_t sl_process_write(pid_t pid, uint64_t remote, const void *local, size_t len) {
    struct iovec l = { .iov_base = (void *)local, .iov_len = len };
    struct iovec r = { .iov_base = (void *)(uintptr_t)remote, .iov_len = len };
    return process_vm_writev(pid, &l, 1, &r, 1, 0);
}

/* MARK: signal guard */

static const int guarded_signals[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
/* The first termination signal seen during the window; sig_atomic_t because
 * a handler on another thread writes it. */
static volatile sig_atomic_t recorded_signal = 0;

static void record_signal(int sig) {
    if (recorded_signal == 0)
        recorded_signal = sig;
}

int sl_signal_guard_begin(struct sl_signal_guard *guard) {
    sigset_t block;
    sigemptyset(&block);
    for (int i = 0; i < 4; i++)
        sigaddset(&block, guarded_signals[i]);
    recorded_signal = 0;
    int rc = pthread_sigmask(SIG_BLOCK, &block, &guard->old_mask);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        guard->replaced[i] = 0;
        if (sigaction(guarded_signals[i], NULL, &guard->old_actions[i]) != 0)
            continue;
        /* Only a default (terminating) disposition is replaced: an ignored
         * signal is harmless, and a handler of the caller's stays in charge. */
        if (!(guard->old_actions[i].sa_flags & SA_SIGINFO) &&
            guard->old_actions[i].sa_handler == SIG_DFL) {
            struct sigaction act;
            memset(&act, 0, sizeof act);
            act.sa_handler = record_signal;
            sigemptyset(&act.sa_mask);
            act.sa_flags = SA_RESTART;
            if (sigaction(guarded_signals[i], &act, NULL) == 0)
                guard->replaced[i] = 1;
        }
    }
    return 0;
}

int sl_signal_guard_end(struct sl_signal_guard *guard) {
    for (int i = 0; i < 4; i++)
        if (guard->replaced[i])
            sigaction(guarded_signals[i], &guard->old_actions[i], NULL);
    /* Unblocking delivers what is pending in this thread, with the restored
     * dispositions: the default action of a Ctrl-C happens here. */
    pthread_sigmask(SIG_SETMASK, &guard->old_mask, NULL);
    int sig = recorded_signal;
    recorded_signal = 0;
    if (sig != 0)
        kill(getpid(), sig);
    return sig;
}

/* MARK: seccomp */

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

long sl_ptrace_seccomp_get_filter(pid_t tid, unsigned long index, void *buf) {
    return ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, buf);
}

int sl_open_unlinked(const char *dir) {
    return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

ssize_t sl_copy_file_range(int in, long long *in_offset, int out, long long *out_offset, size_t len) {
    loff_t in_off = *in_offset, out_off = *out_offset;
    ssize_t copied = copy_file_range(in, &in_off, out, &out_off, len, 0);
    *in_offset = in_off;
    *out_offset = out_off;
    return copied;
}
