/* Thin wrappers for system calls Swift cannot import directly: ptrace is
 * variadic, the wait status decoders are macros, process_vm_readv/writev need
 * _GNU_SOURCE. Each wrapper returns what the call returns (-1 and errno on
 * failure) so the Swift side keeps one error convention. */
#ifndef CLEAKSYS_H
#define CLEAKSYS_H
#include <sys/types.h>
#include <sys/user.h>
#include <signal.h>
#include <stdint.h>
#include <stddef.h>

/* MARK: ptrace (one thread: every request names a tid, never a process) */

/* PTRACE_SEIZE without stopping the thread; options as for PTRACE_SETOPTIONS. */
int sl_ptrace_seize(pid_t tid, unsigned long options);
/* PTRACE_INTERRUPT: stop a seized thread; a waitpid then sees PTRACE_EVENT_STOP. */
int sl_ptrace_interrupt(pid_t tid);
/* PTRACE_CONT, delivering `sig` (0: none). */
int sl_ptrace_cont(pid_t tid, int sig);
/* PTRACE_SYSCALL: resume until the next system call entry or exit (with
 * PTRACE_O_TRACESYSGOOD those stops report SIGTRAP | 0x80). */
int sl_ptrace_syscall(pid_t tid, int sig);
/* PTRACE_DETACH, delivering `sig` (0: none). */
int sl_ptrace_detach(pid_t tid, int sig);
int sl_ptrace_getregs(pid_t tid, struct user_regs_struct *regs);
int sl_ptrace_setregs(pid_t tid, const struct user_regs_struct *regs);
/* PTRACE_GETREGSET NT_X86_XSTATE into buf; *len is the buffer size on entry
 * and the size the kernel filled on return (pass that size to the setter,
 * the kernel wants the whole XSAVE area back). */
int sl_ptrace_get_xstate(pid_t tid, void *buf, size_t *len);
int sl_ptrace_set_xstate(pid_t tid, void *buf, size_t len);
/* Fallback for CPUs without XSAVE: the legacy FXSAVE area. */
int sl_ptrace_getfpregs(pid_t tid, struct user_fpregs_struct *fp);
int sl_ptrace_setfpregs(pid_t tid, const struct user_fpregs_struct *fp);
int sl_ptrace_getsiginfo(pid_t tid, siginfo_t *info);
int sl_ptrace_setsiginfo(pid_t tid, const siginfo_t *info);
/* PTRACE_PEEKDATA: returns 0 and the word in *word, or -1 with errno. */
int sl_ptrace_peek(pid_t tid, uint64_t addr, uint64_t *word);
int sl_ptrace_poke(pid_t tid, uint64_t addr, uint64_t word);

/* Fields of a siginfo_t that Swift cannot reach through the unions. */
uint64_t sl_siginfo_addr(const siginfo_t *info);
int sl_siginfo_code(const siginfo_t *info);
int sl_siginfo_signo(const siginfo_t *info);
/* The sending process of a kill/sigqueue/tkill (si_code <= 0). */
pid_t sl_siginfo_pid(const siginfo_t *info);

/* tgkill(2): re-sends a signal to one thread. */
int sl_tgkill(pid_t pid, pid_t tid, int sig);

/* MARK: wait status (the W* macros) */

/* Decoded waitpid status. kind: 1 exited (value = exit code), 2 killed by a
 * signal (value = signal), 3 stopped (value = stop signal, event = the
 * PTRACE_EVENT_* in status >> 16, 0 for a signal-delivery-stop). */
struct sl_wait_status {
    int kind;
    int value;
    int event;
};
struct sl_wait_status sl_decode_wait_status(int status);
/* waitpid(tid, &status, __WALL | (nohang ? WNOHANG : 0)) */
pid_t sl_waitpid_thread(pid_t tid, int *status, int nohang);

/* MARK: memory of another process */

/* One-iovec process_vm_readv/writev: bytes moved, or -1 and errno. */
ssize_t sl_process_read(pid_t pid, uint64_t remote, void *local, size_t len);
ssize_t sl_process_write(pid_t pid, uint64_t remote, const void *local, size_t len);
/* Many remote ranges in one process_vm_readv, packed one after the other
 * into `local`; count <= SL_READV_MAX (the kernel's IOV_MAX). Returns the
 * bytes moved: the ranges are filled in order and the call stops at the
 * first one it cannot read, so a short count tells where to go on. */
#define SL_READV_MAX 1024
ssize_t sl_process_read_scattered(pid_t pid, const uint64_t *remotes, const size_t *lengths, size_t count, void *local);

/* MARK: termination signals during a ptrace window */

/* Keeps SIGINT/SIGTERM/SIGHUP/SIGQUIT from killing us while a target thread
 * runs with borrowed registers: the kernel would detach and the target would
 * resume at our fake return address. begin blocks them in the calling
 * thread and, for those whose disposition is the default (terminate),
 * installs a handler that only records the signal, because a process-directed
 * signal may be delivered to any other thread of ours. end restores both and
 * re-raises a recorded signal, so the user's Ctrl-C still takes effect, just
 * after the target is whole again. Not reentrant: one window at a time. */
struct sl_signal_guard {
    sigset_t old_mask;
    struct sigaction old_actions[4];
    int replaced[4];
};
int sl_signal_guard_begin(struct sl_signal_guard *guard);
/* Returns the signal that arrived during the window (re-raised), or 0. */
int sl_signal_guard_end(struct sl_signal_guard *guard);

/* MARK: seccomp */

/* Largest classic BPF program the kernel accepts (BPF_MAXINSNS). */
#define SL_BPF_MAXINSNS 4096
/* PTRACE_SECCOMP_GET_FILTER on a stopped tracee: copies its index-th filter
 * (0 is the most recently installed) into buf, which must hold
 * SL_BPF_MAXINSNS 8-byte instructions (the kernel takes no size, and
 * another thread may install a bigger filter between two calls), and
 * returns the number of instructions; -1 with errno ENOENT past the last
 * filter, EACCES without CAP_SYS_ADMIN, EINVAL/EMEDIUMTYPE when it cannot
 * be read back. */
long sl_ptrace_seccomp_get_filter(pid_t tid, unsigned long index, void *buf);

/* MARK: heap */

/* MARK: files (O_TMPFILE is a macro Swift cannot import; copy_file_range needs _GNU_SOURCE) */

/* open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600): an unlinked file in dir. */
int sl_open_unlinked(const char *dir);
ssize_t sl_copy_file_range(int in, long long *in_offset, int out, long long *out_offset, size_t len);

/* No Swift module covers malloc.h: malloc_trim is imported through here. */
#include <malloc.h>

#endif
