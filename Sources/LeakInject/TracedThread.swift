import CLeakSys
import Glibc
import LeakProc

/// One target thread held with PTRACE_SEIZE. Only this thread is ever
/// stopped: freezing the others made an injected dlopen deadlock when one of
/// them was inside the loader (field notes). All requests must come from the
/// OS thread that seized it (the kernel ties the tracer to a thread), so the
/// injector is synchronous.
final class TracedThread {
    let pid: Int32
    let tid: Int32
    /// Signals that arrived for the thread while we held it. They are
    /// suppressed while our code runs in the thread and delivered again on
    /// detach, so the program sees them (only later).
    private(set) var pendingSignals: [siginfo_t] = []
    /// Whether the thread currently sits in a signal-delivery-stop, the only
    /// stop in which PTRACE_DETACH can deliver a signal.
    private var inSignalDeliveryStop = false
    /// Set when a system call made by OUR code in this thread was interrupted
    /// with -ERESTART_RESTARTBLOCK: the thread's single restart_block then
    /// describes our call, not the program's poll/nanosleep it was parked in.
    var restartBlockClobbered = false
    private var attached = true
    /// Which stop the thread sits in, for `restore`.
    enum StopKind { case other, syscallEntry, syscallExit }
    private(set) var stopKind = StopKind.other
    /// Resumed with PTRACE_SYSCALL from a syscall-entry stop: the next
    /// syscall stop is that call's exit (the stops alternate; any other way
    /// of resuming leaves the thread outside a system call).
    private var nextSyscallStopIsExit = false

    /// How a wait ended.
    enum Stop {
        /// Signal-delivery-stop (a real signal, or our own fault at rip 0).
        case signal(Int32, siginfo_t)
        /// PTRACE_EVENT_STOP: our interrupt, or a group-stop (then the signal is SIGSTOP etc.).
        case eventStop(signal: Int32)
        /// A syscall-entry or -exit stop (PTRACE_SYSCALL, PTRACE_O_TRACESYSGOOD).
        case syscall(entry: Bool)
        /// Any other ptrace event (none are enabled; kept for robustness).
        case otherEvent(Int32)
        /// The thread is gone (exit, kill, exec by another thread).
        case gone(String)
    }

    private init(pid: Int32, tid: Int32) {
        self.pid = pid
        self.tid = tid
    }

    /// Last line of defence for an error path that forgot to detach: a
    /// thread left seized would stop at its next signal and wait for us
    /// forever. PTRACE_DETACH needs a stopped tracee, so stop it first.
    deinit {
        guard attached else { return }
        if sl_ptrace_detach(tid, 0) != 0 { stopAndDetach(signal: 0) }
    }

    /// PTRACE_DETACH refuses a running tracee (ESRCH, as for a dead one):
    /// interrupt it, wait for the stop, then detach. A signal stop that
    /// comes instead keeps its signal.
    private func stopAndDetach(signal: Int32) {
        guard sl_ptrace_interrupt(tid) == 0 else { return } // gone
        var status: Int32 = 0
        guard retryingInterrupted({ sl_waitpid_thread(tid, &status, 0) }) >= 0,
              case .stopped(let stopSignal, let event) = WaitStatus(status) else { return } // exited meanwhile
        let pending = event == 0 ? stopSignal : 0
        if pending != 0 && signal != 0 { _ = sl_tgkill(pid, tid, pending) }
        _ = sl_ptrace_detach(tid, signal != 0 ? signal : pending)
    }

    /// PTRACE_SEIZE: attaches without stopping the thread.
    static func seize(pid: Int32, tid: Int32) throws -> TracedThread {
        if sl_ptrace_seize(tid, 1 /* PTRACE_O_TRACESYSGOOD */) != 0 {
            let code = errno
            if code == EPERM { throw PermissionExplainer.error(pid: pid) }
            if code == ESRCH { throw InjectError.targetExited(pid: pid, detail: "thread \(tid) exited") }
            throw InjectError.ptraceFailed(operation: "SEIZE", tid: tid, errno: code)
        }
        return TracedThread(pid: pid, tid: tid)
    }

    func interrupt() throws {
        if sl_ptrace_interrupt(tid) != 0 { throw failure("INTERRUPT") }
    }

    func cont() throws {
        inSignalDeliveryStop = false
        nextSyscallStopIsExit = false
        stopKind = .other
        if sl_ptrace_cont(tid, 0) != 0 { throw failure("CONT") }
    }

    /// Resumes until the next stop or system call entry/exit.
    func contSyscall() throws {
        inSignalDeliveryStop = false
        nextSyscallStopIsExit = stopKind == .syscallEntry
        stopKind = .other
        if sl_ptrace_syscall(tid, 0) != 0 { throw failure("SYSCALL") }
    }

    /// Waits for the next stop. With a deadline, returns nil once it passed;
    /// waitpid has no timeout, so it polls: a remote call usually ends within
    /// tens of microseconds, so the first 200 us only yield the CPU (a sleep
    /// would overshoot and lengthen the target's pause), then sleeps back off
    /// from 20 us to 1 ms.
    func wait(deadline: Double? = nil) -> Stop? {
        let spinUntil = Clock.now() + 200e-6
        var interval = 20e-6
        while true {
            var status: Int32 = 0
            let r = retryingInterrupted { sl_waitpid_thread(tid, &status, deadline == nil ? 0 : 1) }
            if r < 0 {
                attached = false
                return .gone("waitpid: \(Errno.current)")
            }
            if r == 0, let deadline {
                let now = Clock.now()
                if now >= deadline { return nil }
                if now < spinUntil {
                    sched_yield()
                } else {
                    Clock.sleep(seconds: min(interval, deadline - now))
                    interval = min(interval * 2, 1e-3)
                }
                continue
            }
            switch WaitStatus(status) {
            case .exited(let code):
                attached = false
                return .gone("thread \(tid) exited with status \(code)")
            case .killed(let signal):
                attached = false
                return .gone("thread \(tid) was killed by signal \(signal)")
            case .stopped(let signal, let event):
                if event == 0 && signal == SIGTRAP | 0x80 {
                    inSignalDeliveryStop = false
                    let entry = !nextSyscallStopIsExit
                    nextSyscallStopIsExit = false
                    stopKind = entry ? .syscallEntry : .syscallExit
                    return .syscall(entry: entry)
                }
                stopKind = .other
                nextSyscallStopIsExit = false
                if event == 0 {
                    var info = siginfo_t()
                    _ = sl_ptrace_getsiginfo(tid, &info)
                    inSignalDeliveryStop = true
                    return .signal(signal, info)
                }
                inSignalDeliveryStop = false
                if event == 128 /* PTRACE_EVENT_STOP */ { return .eventStop(signal: signal) }
                return .otherEvent(event)
            case .other:
                // Not asked for (no WCONTINUED): treat it as a stop to look past.
                stopKind = .other
                nextSyscallStopIsExit = false
                inSignalDeliveryStop = false
                return .otherEvent(0)
            }
        }
    }

    /// How waiting for the stop our PTRACE_INTERRUPT asked for ended.
    enum InterruptStop {
        case stopped
        /// A group-stop came instead: job control is stopping the process.
        case groupStop
        case gone
        /// The deadline passed without a stop.
        case timedOut
    }

    /// Waits for the stop after `interrupt()`. A signal that races it is held
    /// back until detach; other stops are let go.
    func waitForInterruptStop(deadline: Double? = nil) throws -> InterruptStop {
        while true {
            switch wait(deadline: deadline) {
            case .gone?:
                return .gone
            case .signal(_, let info)?:
                deferSignal(info)
                try cont()
            case .eventStop(let signal)?:
                return signal == SIGTRAP ? .stopped : .groupStop
            case .otherEvent?, .syscall?:
                try cont()
            case nil:
                if deadline != nil { return .timedOut }
                try cont()
            }
        }
    }

    /// Keeps a signal that arrived while we held the thread, for detach.
    func deferSignal(_ info: siginfo_t) {
        pendingSignals.append(info)
    }

    func registers() throws -> user_regs_struct {
        var regs = user_regs_struct()
        if sl_ptrace_getregs(tid, &regs) != 0 { throw failure("GETREGS") }
        return regs
    }

    func setRegisters(_ regs: user_regs_struct) throws {
        var copy = regs
        if sl_ptrace_setregs(tid, &copy) != 0 { throw failure("SETREGS") }
    }

    /// Every register the thread owns: general purpose plus the whole XSAVE
    /// area (x87, SSE, AVX...), because the functions we call clobber vector
    /// registers the interrupted code may rely on after the syscall.
    struct SavedState {
        var regs: user_regs_struct
        var xstate: [UInt8]?
        var fpregs: user_fpregs_struct?
    }

    func saveState() throws -> SavedState {
        let regs = try registers()
        var size = 16 << 10
        while size <= 1 << 20 {
            var buffer = [UInt8](repeating: 0, count: size)
            var length = size
            let rc = buffer.withUnsafeMutableBytes { sl_ptrace_get_xstate(tid, $0.baseAddress, &length) }
            if rc != 0 { break } // no XSAVE: fall back to the FXSAVE area below
            // A full buffer may mean truncation; the kernel wants the whole area back.
            if length < size { return SavedState(regs: regs, xstate: Array(buffer[0..<length]), fpregs: nil) }
            size *= 2
        }
        var fp = user_fpregs_struct()
        if sl_ptrace_getfpregs(tid, &fp) != 0 { throw failure("GETFPREGS") }
        return SavedState(regs: regs, xstate: nil, fpregs: fp)
    }

    /// Puts `state` (saved at the PTRACE_INTERRUPT stop, inside a
    /// restartable system call) back. From a signal or event stop the kernel
    /// restarts the call itself on the way out. From a syscall stop it does
    /// not: at an entry stop the kernel runs whatever orig_rax names, so it
    /// is given the interrupted call (or restart_syscall) to run now, with
    /// the saved arguments, returning to the saved rip; at an exit stop the
    /// thread is sent back to the syscall instruction (rip - 2) with the
    /// number in rax, which is what the kernel's own restart does.
    func restore(_ state: SavedState) throws {
        // Vector state first: should we die between the two, the thread still
        // returns to the program with its own general registers.
        try restoreVectorState(state)
        try setRegisters(Self.resumable(state.regs, at: stopKind))
    }

    /// The registers that resume `regs` (a thread stopped inside a system
    /// call) from a stop of `kind`. See `restore`.
    static func resumable(_ regs: user_regs_struct, at kind: StopKind) -> user_regs_struct {
        var out = regs
        let result = Int64(bitPattern: regs.rax)
        let restarts = Int64(bitPattern: regs.orig_rax) >= 0 && Injector.restartCodes.contains(result)
        let number = result == -516 ? UInt64(SyscallTable.restartSyscall) : regs.orig_rax
        switch kind {
        case .other:
            break
        case .syscallEntry:
            if restarts {
                out.orig_rax = number
                out.rax = UInt64(bitPattern: -Int64(ENOSYS))
            } else {
                out.orig_rax = UInt64.max // run nothing; rax is the result
            }
        case .syscallExit:
            out.orig_rax = UInt64.max
            if restarts {
                out.rax = number
                out.rip = regs.rip &- 2
            }
        }
        return out
    }

    private func restoreVectorState(_ state: SavedState) throws {
        if var xstate = state.xstate {
            let rc = xstate.withUnsafeMutableBytes { sl_ptrace_set_xstate(tid, $0.baseAddress, $0.count) }
            if rc != 0 { throw failure("SETREGSET(NT_X86_XSTATE)") }
        } else if var fp = state.fpregs {
            if sl_ptrace_setfpregs(tid, &fp) != 0 { throw failure("SETFPREGS") }
        }
    }

    /// A signal mask from the thread's /proc status: "SigBlk" (this thread
    /// blocks), "SigCgt" (the process catches), "SigIgn".
    func signalMask(_ field: String) -> UInt64? {
        ProcStatus.read(pid: pid, tid: tid)?.hexMask(field)
    }

    /// Lets the thread go, handing back the signals it received meanwhile.
    /// PTRACE_DETACH can deliver one signal, with its original siginfo, only
    /// from a signal-delivery-stop; the rest are re-sent with tgkill (their
    /// sender information is lost, their number is not).
    func detach() {
        guard attached else { return }
        attached = false
        var signals = pendingSignals
        pendingSignals = []
        var detachSignal: Int32 = 0
        if inSignalDeliveryStop, var first = signals.first {
            if sl_ptrace_setsiginfo(tid, &first) == 0 {
                detachSignal = sl_siginfo_signo(&first)
                signals.removeFirst()
            }
        }
        if sl_ptrace_detach(tid, detachSignal) != 0 {
            if errno != ESRCH { return }
            // Not stopped (or gone): stop it, then detach.
            stopAndDetach(signal: detachSignal)
        }
        for var info in signals {
            _ = sl_tgkill(pid, tid, sl_siginfo_signo(&info))
        }
    }

    private func failure(_ operation: String) -> InjectError {
        let code = errno
        if code == ESRCH { return .targetExited(pid: pid, detail: "thread \(tid) vanished during \(operation)") }
        return .ptraceFailed(operation: operation, tid: tid, errno: code)
    }
}
