import CLeakSys
import Glibc
import LeakProc

/// x86_64 system call numbers, as far as injection cares about them.
enum SyscallTable {
    /// Blocking calls that the kernel restarts transparently when a ptrace
    /// stop interrupts them (they return -ERESTARTSYS, -ERESTARTNOHAND or
    /// -ERESTART_RESTARTBLOCK, never EINTR, unless a timeout socket option is
    /// set). A thread parked in one of them holds no malloc arena or loader
    /// lock of its own making, which is what makes dlopen safe to run in it.
    /// Left out on purpose: futex (often holding or waiting on a lock the
    /// dlopen may need) and rt_sigtimedwait (it returns EINTR to the
    /// program, and a thread waiting for signals is often one that must
    /// not miss them). The epoll waits are `interruptible` below.
    ///
    /// rt_sigsuspend (a daemon's master waiting for SIGCHLD or SIGHUP, like
    /// nginx's) is `pause` with a temporary mask: the kernel restores the
    /// thread's own mask before our code runs and the re-issued call installs
    /// the temporary one again, so a signal that arrives meanwhile stays
    /// pending (the program blocks it outside the call) and is delivered as
    /// the call re-enters: none is lost.
    static let restartable: [Int64: String] = [
        0: "read", 17: "pread64", 19: "readv", 45: "recvfrom", 47: "recvmsg",
        43: "accept", 288: "accept4", 7: "poll", 271: "ppoll", 23: "select",
        270: "pselect6", 35: "nanosleep", 230: "clock_nanosleep", 61: "wait4",
        247: "waitid", 34: "pause", 130: "rt_sigsuspend",
    ]

    /// The waits every event loop sits in when idle. The kernel never
    /// restarts them: a ptrace stop (like SIGSTOP/SIGCONT, or any handled
    /// signal, even with SA_RESTART) makes them return EINTR, so every
    /// program using them already loops on EINTR (libuv, redis' ae, nginx;
    /// Python retries by itself since PEP 475). A thread parked in one holds
    /// no lock of its own making, exactly like a thread in poll.
    ///
    /// Two ways to give the thread back: re-issue the call (rip -= 2, rax =
    /// orig_rax) or let it return EINTR. Re-issuing restarts its timeout
    /// from the full value, so a timer the loop waits for fires late by as
    /// much as it had already waited (up to a whole period of redis' or
    /// asyncio's timers). EINTR is what SIGSTOP/SIGCONT, gdb and strace
    /// already do to these programs; the loop recomputes its timeout from
    /// its own clock and loses nothing. So the program gets EINTR, once.
    /// While we hold the thread, though, it is made to re-enter the call
    /// (`reentering`): the machinery that runs our calls starts from the
    /// call's entry stop, and nothing of the program (its EINTR path
    /// included) may run while its registers are saved for later.
    static let interruptible: [Int64: String] = [232: "epoll_wait", 281: "epoll_pwait", 441: "epoll_pwait2"]

    /// Names for the calls that commonly show up instead, so a refusal can
    /// say what the threads were doing.
    static let others: [Int64: String] = [
        202: "futex",
        128: "rt_sigtimedwait", 24: "sched_yield", 1: "write",
        44: "sendto", 46: "sendmsg", 42: "connect", 72: "fcntl", 16: "ioctl",
    ]

    /// restart_syscall: a thread resuming poll, select, nanosleep... after a
    /// stop or a signal (including an earlier attach) shows this number
    /// instead of the original one. A futex wait with a timeout resumes
    /// through it too, so it is only a safe point when the kernel function
    /// the thread sleeps in (wchan) is known and is not a futex wait.
    static let restartSyscall: Int64 = 219

    static func name(_ number: Int64) -> String {
        if number == restartSyscall { return "restart_syscall" }
        return restartable[number] ?? interruptible[number] ?? others[number] ?? "syscall \(number)"
    }

    static func isSafePoint(_ number: Int64) -> Bool {
        restartable[number] != nil || interruptible[number] != nil
    }

    /// Whether registers saved at the PTRACE_INTERRUPT stop show the thread
    /// was stopped inside `point`'s call (rather than just after it
    /// returned): a restart code, or EINTR from an `interruptible` call.
    static func stoppedInside(_ point: SafePoint, rax: UInt64, origRax: UInt64) -> Bool {
        let result = Int64(bitPattern: rax)
        guard Int64(bitPattern: origRax) == point.syscall else { return false }
        if interruptible[point.syscall] != nil && result == -Int64(EINTR) { return true }
        return Injector.restartCodes.contains(result)
    }

    /// For a thread stopped with EINTR from an `interruptible` call: the
    /// live registers that make it re-enter the same call (-ERESTARTNOHAND
    /// makes the kernel rewind to the syscall instruction, as for poll). The
    /// saved registers keep EINTR, which is what the program gets back
    /// (also when the thread restores itself, see SelfRestore); nil for
    /// every other call.
    static func reentering(_ regs: user_regs_struct) -> user_regs_struct? {
        guard interruptible[Int64(bitPattern: regs.orig_rax)] != nil,
              Int64(bitPattern: regs.rax) == -Int64(EINTR) else { return nil }
        var out = regs
        out.rax = UInt64(bitPattern: -514) // ERESTARTNOHAND
        return out
    }

    /// What a restart_syscall resumes, judged from wchan; nil when it is a
    /// futex or cannot be told (wchan hidden: "0" or empty).
    static func resumedCall(wchan: String) -> String? {
        let w = wchan.trimmedLine
        if w.isEmpty || w == "0" || w.contains("futex") { return nil }
        if w.contains("poll") || w.contains("select") { return "poll" }
        // A resumed nanosleep sleeps in a tail call that leaves only the
        // syscall entry as wchan (observed on 6.x: do_syscall_64).
        if w.contains("nanosleep") || w.contains("do_syscall_64") { return "nanosleep" }
        return nil
    }
}

/// A thread found parked in a restartable system call.
struct SafePoint: Equatable {
    var tid: Int32
    var syscall: Int64
    /// For restart_syscall, the call it resumes ("poll", "nanosleep").
    var resumes: String? = nil
    var name: String {
        resumes.map { "restart_syscall (\($0))" } ?? SyscallTable.name(syscall)
    }
}

/// Finds a thread to borrow by reading /proc/PID/task/TID/syscall, which the
/// kernel fills for a sleeping thread without stopping anything.
enum SafePointFinder {
    struct Scan {
        var candidates: [SafePoint] = []
        /// What each thread was doing ("running", "futex", "user code"...).
        var activity: [String] = []
        /// The thread each `activity` belongs to.
        var tids: [Int32] = []

        /// "2 running, 1 futex": for the noSafePoint message.
        var summary: String {
            groups.map { "\($0.tids.count) \($0.activity)" }.joined(separator: ", ").nonEmpty ?? "no threads seen"
        }

        /// Activities with their threads, the most common first.
        var groups: [(activity: String, tids: [Int32])] {
            var byActivity: [String: [Int32]] = [:]
            for (i, a) in activity.enumerated() { byActivity[a, default: []].append(i < tids.count ? tids[i] : 0) }
            return byActivity.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
                .map { (activity: $0.key, tids: $0.value) }
        }

        /// "4 futex (threads 11 12 13 14), 1 running (thread 10)": what each
        /// thread was doing, for a refusal that has to explain itself.
        var perThread: String {
            groups.map { group in
                let shown = group.tids.prefix(8).map(String.init).joined(separator: " ")
                let more = group.tids.count > 8 ? " +\(group.tids.count - 8) more" : ""
                return "\(group.tids.count) \(group.activity) (thread\(group.tids.count == 1 ? "" : "s") \(shown)\(more))"
            }.joined(separator: ", ").nonEmpty ?? "no threads seen"
        }

        /// Every thread waits on a futex (idle thread pools, condition
        /// variables) or runs user code: none may be borrowed. A futex
        /// waiter is never taken, even with a stack that looks harmless: a
        /// condition-variable wait can sit inside the program's own critical
        /// section, and a lock the injection needs (the loader's, malloc's
        /// arena locks, stdio's) may be held by the very frames above it, so
        /// proving it safe needs the whole stack unwound and every lock of
        /// the program understood. The refusal says what would help instead.
        var onlyLockWaits: Bool {
            func waitsOnLock(_ a: String) -> Bool {
                a == "futex" || a.hasPrefix("restart_syscall") && a.contains("futex")
            }
            return activity.contains(where: waitsOnLock)
                && activity.allSatisfy { waitsOnLock($0) || $0 == "running" || $0 == "not in a system call" }
        }

        func refusal(pid: Int32, seconds: Double) -> InjectError {
            onlyLockWaits
                ? .onlyLockWaits(pid: pid, seconds: seconds, threads: perThread)
                : .noSafePoint(pid: pid, seconds: seconds, threads: summary)
        }
    }

    static func scan(pid: Int32) -> Scan {
        var scan = Scan()
        for tid in ProcFiles.numericEntries("/proc/\(pid)/task") {
            guard let text = ProcFiles.readIfPresent("/proc/\(pid)/task/\(tid)/syscall") else { continue }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard let first = fields.first else { continue }
            scan.tids.append(tid)
            guard let number = Int64(first) else {
                scan.activity.append(String(first)) // "running"
                continue
            }
            if number < 0 {
                scan.activity.append("not in a system call") // preempted in user code, or stopped
                continue
            }
            var point = SafePoint(tid: tid, syscall: number)
            if number == SyscallTable.restartSyscall {
                let wchan = ProcFiles.readIfPresent("/proc/\(pid)/task/\(tid)/wchan") ?? ""
                point.resumes = SyscallTable.resumedCall(wchan: wchan)
                scan.activity.append(point.resumes == nil ? "restart_syscall (\(wchan.trimmedLine))" : point.name)
                if point.resumes == nil { continue }
            } else {
                scan.activity.append(point.name)
                if !SyscallTable.isSafePoint(number) { continue }
            }
            // Only an interruptible sleep ('S') stops promptly on PTRACE_INTERRUPT;
            // a 'D' sleeper (disk I/O) or a job-control stop ('T') would not.
            guard ProcStat.read("/proc/\(pid)/task/\(tid)/stat")?.state == "S" else { continue }
            scan.candidates.append(point)
        }
        return scan
    }
}

private extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
