import Glibc
import XCTest

/// Small C programs and libraries the tests build with cc into a private
/// temporary directory, once per test run. Every process a test attaches to
/// is one of these, started by the test itself.
enum Fixtures {
    /// Three threads: main blocks in read() on stdin, two spin on
    /// malloc/free counting in `spins` (exported with -rdynamic so the test
    /// agent can watch them). On a line it prints "got <line> ..." and exits
    /// 0; a read() that failed (EINTR...) exits 3. With the argument
    /// "catch-ignored-signals" it catches every signal whose default action
    /// is to do nothing, so no signal is left to stop it quietly.
    static let reader = #"""
    #include <errno.h>
    #include <pthread.h>
    #include <signal.h>
    #include <stdatomic.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>
    volatile unsigned long spins[2];
    static atomic_int stop_flag;
    static volatile sig_atomic_t usr1;
    static void on_usr1(int sig) { (void)sig; usr1++; }
    static void on_other(int sig) { (void)sig; }
    static void *spinner(void *arg) {
        long i = (long)arg;
        while (!atomic_load(&stop_flag)) {
            char *p = malloc(16 + spins[i] % 4096);
            memset(p, 1, 16);
            free(p);
            spins[i]++;
        }
        return NULL;
    }
    int main(int argc, char **argv) {
        struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
        sigaction(SIGUSR1, &sa, NULL);
        if (argc > 1 && strcmp(argv[1], "catch-ignored-signals") == 0) {
            struct sigaction other = { .sa_handler = on_other, .sa_flags = SA_RESTART };
            int ignored[] = { SIGCHLD, SIGCONT, SIGURG, SIGWINCH };
            for (int i = 0; i < 4; i++) sigaction(ignored[i], &other, NULL);
        }
        pthread_t t[2];
        for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, spinner, (void *)i);
        while (spins[0] == 0 || spins[1] == 0) usleep(1000);
        printf("ready\n");
        fflush(stdout);
        char buf[256];
        ssize_t n = read(0, buf, sizeof buf - 1);
        if (n < 0) { printf("read failed: %s\n", strerror(errno)); fflush(stdout); return 3; }
        buf[n] = 0;
        if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
        atomic_store(&stop_flag, 1);
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        printf("got %s spins %lu %lu usr1 %d\n", buf, spins[0], spins[1], (int)usr1);
        return 0;
    }
    """#

    /// Sleeps 1 s in nanosleep (a -ERESTART_RESTARTBLOCK syscall) and prints
    /// how long the sleep really took.
    static let sleeper = #"""
    #include <stdio.h>
    #include <time.h>
    int main(void) {
        printf("ready\n");
        fflush(stdout);
        struct timespec a, b, d = { 1, 0 };
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = nanosleep(&d, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("slept %.3f rc %d\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, rc);
        return rc == 0 ? 0 : 4;
    }
    """#

    /// One thread in poll() on stdin: a process where an attach costs only
    /// the remote calls (the test agent finds no spinner threads to watch).
    static let sleepLoop = #"""
    #include <poll.h>
    #include <stdio.h>
    #include <string.h>
    #include <unistd.h>
    int main(void) {
        printf("ready\n");
        fflush(stdout);
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, -1) != 1) { perror("poll"); return 3; }
        char buf[256];
        ssize_t n = read(0, buf, sizeof buf - 1);
        if (n <= 0) return 3;
        buf[buf[n - 1] == '\n' ? n - 1 : n] = 0;
        printf("got %s\n", buf);
        return 0;
    }
    """#

    /// Ignores SIGUSR2 and waits in poll() with a timeout (which resumes
    /// through restart_syscall); prints poll's result and errno.
    static let pollIgnoring = #"""
    #include <errno.h>
    #include <poll.h>
    #include <signal.h>
    #include <stdio.h>
    #include <unistd.h>
    int main(void) {
        signal(SIGUSR2, SIG_IGN);
        printf("ready\n");
        fflush(stdout);
        struct pollfd p = { .fd = 0, .events = POLLIN };
        int rc = poll(&p, 1, 60000);
        printf("poll %d %d\n", rc, rc < 0 ? errno : 0);
        return 0;
    }
    """#

    /// Only burns CPU: never in a system call, so never a safe point.
    static let spinner = #"""
    #include <stdio.h>
    int main(void) {
        printf("ready\n");
        fflush(stdout);
        volatile unsigned long x = 0;
        for (;;) x++;
    }
    """#

    /// Forks a child that exits at once and never reaps it: a zombie.
    static let zombieMaker = #"""
    #include <stdio.h>
    #include <unistd.h>
    int main(void) {
        pid_t child = fork();
        if (child == 0) _exit(0);
        printf("zombie %d\n", (int)child);
        fflush(stdout);
        char c;
        read(0, &c, 1);
        return 0;
    }
    """#

    /// PTRACE_SEIZEs the pid in argv[1] and holds it until stdin closes.
    static let tracer = #"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/ptrace.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        if (argc < 2 || ptrace(PTRACE_SEIZE, atoi(argv[1]), 0, 0) != 0) { perror("seize"); return 1; }
        printf("traced\n");
        fflush(stdout);
        char c;
        read(0, &c, 1);
        return 0;
    }
    """#

    /// chroot()s into argv[1] (a stand-in for a container's root), then
    /// blocks in read() like the reader.
    static let chrooted = #"""
    #include <stdio.h>
    #include <string.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        if (argc < 2 || chroot(argv[1]) != 0 || chdir("/") != 0) { perror("chroot"); return 1; }
        printf("ready\n");
        fflush(stdout);
        char buf[256];
        ssize_t n = read(0, buf, sizeof buf - 1);
        if (n < 0) { perror("read"); return 3; }
        buf[n > 0 && buf[n - 1] == '\n' ? n - 1 : n] = 0;
        printf("got %s\n", buf);
        return 0;
    }
    """#

    /// Stand-in for the real agent: records its arguments in
    /// "<socket path>.called" (path, frames, and whether the target's
    /// spinner threads advanced while this call ran in the hijacked thread);
    /// a socket path containing "refuse" makes it fail with ECONNREFUSED, one
    /// containing "raise" sends SIGUSR1 to its own (the hijacked) thread, one
    /// containing "hang" never returns.
    static let testAgent = #"""
    #define _GNU_SOURCE
    #include <dlfcn.h>
    #include <errno.h>
    #include <fcntl.h>
    #include <pthread.h>
    #include <signal.h>
    #include <stdio.h>
    #include <string.h>
    #include <time.h>
    #include <unistd.h>
    static void *kick(void *arg) {
        struct timespec d = { 0, 20000000 };
        nanosleep(&d, NULL);
        pthread_kill(*(pthread_t *)arg, SIGUSR2);
        return NULL;
    }
    int swiftleak_agent_attach(const char *path, unsigned frames) {
        if (strstr(path, "refuse")) return ECONNREFUSED;
        if (strstr(path, "raise")) raise(SIGUSR1);
        if (strstr(path, "hang")) for (volatile int x = 0;; x++) {} /* no syscall: a pure busy hang */
        if (strstr(path, "clobber")) {
            /* Our own nanosleep gets interrupted by a signal: the thread's
               restart_block now describes it, not the program's call. */
            pthread_t helper, self = pthread_self();
            pthread_create(&helper, NULL, kick, &self);
            struct timespec d = { 0, 100000000 };
            nanosleep(&d, NULL);
            pthread_join(helper, NULL);
        }
        volatile unsigned long *spins = dlsym(RTLD_DEFAULT, "spins");
        const char *progress = "no-spinners";
        if (spins) {
            unsigned long a = spins[0], b = spins[1];
            struct timespec t0, t;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            progress = "stalled";
            for (;;) {
                if (spins[0] - a > 1000 && spins[1] - b > 1000) { progress = "advancing"; break; }
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 500000000L) break;
            }
        }
        char file[4096], line[4300];
        snprintf(file, sizeof file, "%s.called", path);
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return errno;
        int n = snprintf(line, sizeof line, "%s\n%u\n%s\n", path, frames, progress);
        write(fd, line, n);
        close(fd);
        return 0;
    }
    """#

    /// A library without the entry point.
    static let noEntry = "int something_else(void) { return 1; }\n"

    // MARK: - building

    /// The private directory all fixtures are built in.
    static let directory: String = {
        var template = Array("/tmp/swiftleak-inject-tests-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(errno)") }
        return String(cString: made)
    }()

    private static var built: [String: String] = [:]

    /// Compiles `source` (once) and returns the output path. Extra flags
    /// choose executable/shared/static.
    static func build(_ name: String, _ source: String, flags: [String]) throws -> String {
        let key = name + flags.joined(separator: " ")
        if let path = built[key] { return path }
        let sourcePath = "\(directory)/\(name).c"
        let output = "\(directory)/\(name)"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let cc = try ChildProcess("/usr/bin/cc", ["-O1", "-o", output, sourcePath] + flags)
        let log = cc.readAll()
        let status = cc.waitExit(timeout: 120)
        cc.terminate()
        guard status == 0 else { throw CompileError(name: name, log: log) }
        built[key] = output
        return output
    }

    static func program(_ name: String, _ source: String) throws -> String {
        try build(name, source, flags: ["-pthread", "-rdynamic"])
    }

    static func library(_ name: String, _ source: String) throws -> String {
        try build(name, source, flags: ["-shared", "-fPIC", "-pthread"])
    }

    struct CompileError: Error, CustomStringConvertible {
        var name: String
        var log: String
        var description: String { "cc failed for \(name): \(log)" }
    }
}
