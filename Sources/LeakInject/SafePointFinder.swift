/// x86_64 system call numbers, as far as injection cares about them.
enum SyscallTable {
    /// Blocking calls that the kernel restarts transparently when a ptrace
    /// stop interrupts them (they return -ERESTARTSYS, -ERESTARTNOHAND or
    /// -ERESTART_RESTARTBLOCK, never EINTR, unless a timeout socket option is
    /// set). A thread parked in one of them holds no malloc arena or loader
    /// lock of its own making, which is what makes dlopen safe to run in it.
    /// Left out on purpose: futex (often holding or waiting on a lock the
    /// dlopen may need), epoll_wait/epoll_pwait and rt_sigtimedwait (they
    /// return EINTR to the program).
    static let restartable: [Int64: String] = [
        0: "read", 17: "pread64", 19: "readv", 45: "recvfrom", 47: "recvmsg",
        43: "accept", 288: "accept4", 7: "poll", 271: "ppoll", 23: "select",
        270: "pselect6", 35: "nanosleep", 230: "clock_nanosleep", 61: "wait4",
        247: "waitid", 34: "pause",
    ]

    /// Names for the calls that commonly show up instead, so a refusal can
    /// say what the threads were doing.
    static let others: [Int64: String] = [
        202: "futex", 232: "epoll_wait", 281: "epoll_pwait", 441: "epoll_pwait2",
        128: "rt_sigtimedwait", 130: "rt_sigsuspend", 24: "sched_yield", 1: "write",
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
        return restartable[number] ?? others[number] ?? "syscall \(number)"
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

        /// "2 running, 1 futex": for the noSafePoint message.
        var summary: String {
            var counts: [String: Int] = [:]
            for a in activity { counts[a, default: 0] += 1 }
            if counts.isEmpty { return "no threads seen" }
            return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        }
    }

    static func scan(pid: Int32) -> Scan {
        var scan = Scan()
        for tid in ProcFiles.numericEntries("/proc/\(pid)/task") {
            guard let text = ProcFiles.readIfPresent("/proc/\(pid)/task/\(tid)/syscall") else { continue }
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard let first = fields.first else { continue }
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
                if SyscallTable.restartable[number] == nil { continue }
            }
            // Only an interruptible sleep ('S') stops promptly on PTRACE_INTERRUPT;
            // a 'D' sleeper (disk I/O) or a job-control stop ('T') would not.
            guard ProcStat.read("/proc/\(pid)/task/\(tid)/stat")?.state == "S" else { continue }
            scan.candidates.append(point)
        }
        return scan
    }
}
