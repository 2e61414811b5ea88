/// One system call the injection or the agent makes inside the target, with
/// the arguments a seccomp filter may look at (nil: not predictable, e.g. an
/// address or a descriptor). A call made with several argument sets lists
/// each one.
struct SeccompNeed {
    var name: String
    var number: UInt32
    var argumentSets: [[UInt64?]] = [[]]
    /// The caller copes with an error result (glibc ignores a failed rseq
    /// registration...), so only a kill, trap or hand-off refuses.
    var failureIsHandled = false
    /// A call tried first whose ENOSYS sends glibc to `fallback` instead
    /// (clone3 -> clone: seccomp profiles commonly deny clone3 that way).
    var fallback: String? = nil
    /// Who makes it, for the refusal: "the injection" or "the agent".
    var madeBy: String

    func inputs() -> [SeccompInput] {
        argumentSets.map { set in
            SeccompInput(nr: number, args: (0..<6).map { $0 < set.count ? set[$0] : nil })
        }
    }
}

/// Every system call an attach makes in the target, x86_64 numbers. Derived
/// from the code (where each comes from is noted) and checked against
/// `strace -f` of a dlopen + swiftleak_agent_attach on glibc 2.36. Calls the
/// target's own threads make through our hooks later (the agent's unwinder)
/// are included: a seccomp kill there would kill the program just as surely.
/// Anything added to the injector or the agent that makes a new system call
/// must be added here, or a filtered target may die of it.
enum SeccompNeeds {
    static let anywhere: UInt64? = nil
    private static let minus1 = UInt64.max
    private static let atFDCWD = UInt64(bitPattern: -100)

    static func list(pid: Int32) -> [SeccompNeed] {
        let injection = "the injection", loader = "the injection (dlopen)", agent = "the agent"
        let (read, rw, rx, none): (UInt64, UInt64, UInt64, UInt64) = (1, 3, 5, 0) // PROT_*
        let anon: UInt64 = 0x22, anonNoReserve: UInt64 = 0x4022, anonStack: UInt64 = 0x20022, anonFixed: UInt64 = 0x32
        let file: UInt64 = 0x802, fileFixed: UInt64 = 0x812, privateFile: UInt64 = 0x02
        return [
            // Injector.runAgent: the scratch page (r-x, or rw- without the
            // self-restoring stub) and its munmap at the end.
            SeccompNeed(name: "mmap", number: 9, argumentSets: [
                [anywhere, anywhere, rx, anon, minus1, 0], [anywhere, anywhere, rw, anon, minus1, 0],
                // dlopen maps the agent and libunwind: headers, text, rodata, data, bss.
                [anywhere, anywhere, read, file, anywhere, 0], [anywhere, anywhere, rx, fileFixed, anywhere, anywhere],
                [anywhere, anywhere, read, fileFixed, anywhere, anywhere], [anywhere, anywhere, rw, fileFixed, anywhere, anywhere],
                [anywhere, anywhere, rw, anonFixed, minus1, 0], [anywhere, anywhere, read, privateFile, anywhere, 0],
                // The agent's tables (ring, stacks, write buffer...), malloc in the loader.
                [anywhere, anywhere, rw, anonNoReserve, minus1, 0],
                // pthread_create: the agent thread's stack, then its guard page.
                [anywhere, anywhere, none, anonStack, minus1, 0],
            ], madeBy: injection),
            SeccompNeed(name: "munmap", number: 11, madeBy: injection),
            // SelfRestore: the stub signals its own thread, then every call
            // returns through rt_sigreturn.
            SeccompNeed(name: "tgkill", number: 234, argumentSets: [[UInt64(pid)]], madeBy: injection),
            SeccompNeed(name: "rt_sigreturn", number: 15, madeBy: injection),

            // dlopen of the agent, and the agent's dlopen of libunwind.
            SeccompNeed(name: "openat", number: 257, argumentSets: [[atFDCWD, anywhere, 0x80000]], madeBy: loader),
            SeccompNeed(name: "read", number: 0, madeBy: loader),
            SeccompNeed(name: "newfstatat", number: 262, madeBy: loader),
            SeccompNeed(name: "fstat", number: 5, madeBy: loader), // glibc before 2.33
            SeccompNeed(name: "close", number: 3, madeBy: loader),
            // RELRO after loading; the agent's GOT patching (rw- then back).
            SeccompNeed(name: "mprotect", number: 10, argumentSets: [
                [anywhere, anywhere, read], [anywhere, anywhere, rw], [anywhere, anywhere, none],
            ], madeBy: loader),
            SeccompNeed(name: "brk", number: 12, madeBy: loader),
            SeccompNeed(name: "getrandom", number: 318, failureIsHandled: true, madeBy: loader), // malloc's tcache key

            // swiftleak_agent_attach (transport.c, agent_thread.c, session.c).
            SeccompNeed(name: "socket", number: 41, argumentSets: [[1 /* AF_UNIX */, 0x80001 /* STREAM|CLOEXEC */, 0]],
                        madeBy: agent),
            SeccompNeed(name: "connect", number: 42, argumentSets: [[anywhere, anywhere, 110]], madeBy: agent),
            SeccompNeed(name: "getsockopt", number: 55, argumentSets: [[anywhere, 1, 4]], madeBy: agent), // SO_ERROR
            SeccompNeed(name: "poll", number: 7, madeBy: agent),
            SeccompNeed(name: "sendto", number: 44, argumentSets: [[anywhere, anywhere, anywhere, 0x4000, 0, 0]],
                        madeBy: agent),
            SeccompNeed(name: "recvfrom", number: 45, argumentSets: [[anywhere, anywhere, anywhere, 0x40, 0, 0]],
                        madeBy: agent),
            SeccompNeed(name: "getpid", number: 39, madeBy: agent),
            SeccompNeed(name: "clock_gettime", number: 228, madeBy: agent), // when the vDSO is not used
            SeccompNeed(name: "rt_sigprocmask", number: 14, argumentSets: [[2 /* SIG_SETMASK */, anywhere, anywhere, 8]],
                        madeBy: agent),
            // pthread_create: glibc's first thread installs its handlers, then clone3.
            SeccompNeed(name: "rt_sigaction", number: 13, madeBy: agent),
            SeccompNeed(name: "clone3", number: 435, fallback: "clone", madeBy: agent),
            SeccompNeed(name: "set_robust_list", number: 273, failureIsHandled: true, madeBy: agent),
            SeccompNeed(name: "rseq", number: 334, failureIsHandled: true, madeBy: agent),
            SeccompNeed(name: "prctl", number: 157, argumentSets: [[15 /* PR_SET_NAME */]], failureIsHandled: true,
                        madeBy: agent),
            // The agent thread's loop and shutdown.
            SeccompNeed(name: "ppoll", number: 271, madeBy: agent),
            SeccompNeed(name: "clock_nanosleep", number: 230, argumentSets: [[0, 0]], madeBy: agent),
            SeccompNeed(name: "nanosleep", number: 35, madeBy: agent), // glibc before 2.31
            SeccompNeed(name: "sched_yield", number: 24, madeBy: agent),
            SeccompNeed(name: "futex", number: 202, madeBy: agent),
            SeccompNeed(name: "madvise", number: 28, failureIsHandled: true, madeBy: agent),
            SeccompNeed(name: "exit", number: 60, madeBy: agent),
            // libunwind (the agent's slow unwinder, also in the program's
            // threads) validates addresses through a pipe or mincore.
            SeccompNeed(name: "pipe2", number: 293, argumentSets: [[anywhere, 0x80800 /* NONBLOCK|CLOEXEC */]],
                        madeBy: agent),
            SeccompNeed(name: "write", number: 1, madeBy: agent),
            SeccompNeed(name: "mincore", number: 27, madeBy: agent),
        ]
    }

    /// glibc's fallback for clone3, made only when clone3 fails with ENOSYS.
    static func fallback(_ name: String) -> SeccompNeed? {
        guard name == "clone" else { return nil }
        // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
        return SeccompNeed(name: "clone", number: 56, argumentSets: [[0x3d0f00]], madeBy: "the agent")
    }
}
