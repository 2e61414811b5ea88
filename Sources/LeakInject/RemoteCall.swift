import CLeakSys
import Glibc

/// Runs functions inside the target, in the one thread we stopped, using the
/// System V calling convention and a return address of 0: when the function
/// returns, the thread faults at rip 0 and stops in front of us with the
/// result in rax. Each call starts from the registers saved at the stop, so
/// nothing leaks from one call to the next.
struct RemoteCaller {
    let thread: TracedThread
    let memory: RemoteMemory
    let saved: user_regs_struct
    /// Longest a single call may run before it is abandoned.
    var callTimeout: Double = Injector.remoteCallTimeout

    /// Calls `function(args...)` (at most six integer or pointer arguments)
    /// and returns rax.
    func call(_ name: String, _ function: UInt64, _ args: [UInt64]) throws -> UInt64 {
        precondition(args.count <= 6, "only register arguments are supported")
        var regs = saved
        // -1 tells the kernel this is no longer a system call: otherwise it
        // would "restart" the interrupted syscall by rewinding rip 2 bytes from
        // our function's address (observed: SIGILL at dlopen-2).
        regs.orig_rax = UInt64.max
        // Below the interrupted code's 128-byte red zone (leaf functions keep
        // data there without moving rsp), plus slack, 16-byte aligned as the
        // ABI wants at the call; then the pushed return address.
        var sp = (saved.rsp &- 128 &- 256) & ~UInt64(15)
        sp -= 8
        try memory.write([UInt8](repeating: 0, count: 8), at: sp)
        regs.rsp = sp
        regs.rip = function
        regs.rax = 0 // al = number of vector registers used, for variadic callees
        let values = args + [UInt64](repeating: 0, count: 6 - args.count)
        regs.rdi = values[0]; regs.rsi = values[1]; regs.rdx = values[2]
        regs.rcx = values[3]; regs.r8 = values[4]; regs.r9 = values[5]
        try thread.setRegisters(regs)
        try thread.cont()

        let deadline = Clock.now() + callTimeout
        while true {
            guard let stop = thread.wait(deadline: deadline) else {
                // Stop it wherever it is; the injector then restores the saved
                // registers. Whatever the callee held stays held: said in the error.
                try thread.interrupt()
                waitLoop: while let again = thread.wait() {
                    switch again {
                    case .gone(let why):
                        throw InjectError.targetExited(pid: thread.pid, detail: why)
                    case .signal(let signal, var info):
                        // Our own fault (the call ended just now, or crashed):
                        // stopped, and the fault must not be delivered.
                        if isFault(signal, &info) { break waitLoop }
                        noteInterruptedSyscall()
                        thread.deferSignal(info)
                        try thread.cont()
                    case .eventStop, .otherEvent:
                        noteInterruptedSyscall()
                        break waitLoop
                    }
                }
                throw InjectError.remoteCallTimedOut(function: name, seconds: callTimeout)
            }
            if case .gone = stop {} else if case .signal(let signal, var info) = stop, isFault(signal, &info) {} else {
                noteInterruptedSyscall()
            }
            switch stop {
            case .gone(let why):
                throw InjectError.targetExited(pid: thread.pid, detail: why)
            case .eventStop, .otherEvent:
                // A group-stop (SIGSTOP to the process) or a late interrupt:
                // finish our call first; job control takes over after detach.
                try thread.cont()
            case .signal(let signal, var info):
                if !isFault(signal, &info) {
                    // Meant for the program (a timer, a kill): keep it for detach.
                    thread.deferSignal(info)
                    try thread.cont()
                    continue
                }
                let now = try thread.registers()
                if signal == SIGSEGV && now.rip == 0 {
                    return now.rax
                }
                throw InjectError.remoteCallCrashed(function: name, signal: signal, address: now.rip)
            }
        }
    }

    /// At a stop in the middle of our call: if the callee sits in a system
    /// call that will resume through restart_syscall, the thread's
    /// restart_block now belongs to that call (see Injector.finalState).
    private func noteInterruptedSyscall() {
        guard let regs = try? thread.registers() else { return }
        if Int64(bitPattern: regs.orig_rax) >= 0 && Int64(bitPattern: regs.rax) == -516 /* ERESTART_RESTARTBLOCK */ {
            thread.restartBlockClobbered = true
        }
    }

    /// A fault raised by the CPU in this thread (si_code > 0: from the
    /// kernel), as opposed to the same signal sent by kill(2).
    private func isFault(_ signal: Int32, _ info: inout siginfo_t) -> Bool {
        [SIGSEGV, SIGBUS, SIGILL, SIGFPE].contains(signal) && sl_siginfo_code(&info) > 0
    }
}
