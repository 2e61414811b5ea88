import CLeakSys
import Glibc

/// Runs functions inside the target, in the one thread we stopped, using the
/// System V calling convention. Normally the function returns into code that
/// restores the thread by itself should swiftleak die meanwhile, and stops
/// in front of us otherwise (see SelfRestore). Without it (no trampoline
/// found in the target's libc) the return address is 0: the thread faults at
/// rip 0 and stops in front of us with the result in rax. Each call starts
/// from the registers saved at the stop, so nothing leaks from one call to
/// the next.
struct RemoteCaller {
    let thread: TracedThread
    let memory: RemoteMemory
    let saved: user_regs_struct
    /// Longest a single call may run before it is abandoned.
    var callTimeout: Double = Injector.remoteCallTimeout
    /// Where calls return when the thread can restore itself (see
    /// SelfRestore); nil: the historical return address 0.
    var selfRestore: SelfRestore? = nil

    /// How a call made with a self-restoring frame ends.
    enum Return {
        /// Into the C library's rt_sigreturn trampoline, which overwrites
        /// rax: the result is the one of the callee's system call `number`
        /// (mmap, munmap: their wrappers make exactly that one call).
        case trampoline(resultOf: Int64)
        /// Into our stub in the scratch page, which keeps rax in r12.
        case stub
    }

    /// Calls `function(args...)` and returns rax. With a self-restoring frame
    /// the thread must sit at a syscall-entry stop (see SelfRestore), and it
    /// is back at one when this returns.
    func call(_ name: String, _ function: UInt64, _ args: [UInt64], returning: Return) throws -> UInt64 {
        guard let restore = selfRestore else { return try call(name, function, args) }
        precondition(args.count <= 6, "only register arguments are supported")
        let (returnAddress, doneRip): (UInt64, UInt64)
        var signalStopRip: UInt64? = nil
        switch returning {
        case .trampoline: (returnAddress, doneRip) = (restore.trampoline, restore.trampoline + SelfRestore.trampolineLength)
        case .stub:
            guard let stub = restore.stub else { preconditionFailure("no stub yet") }
            (returnAddress, doneRip) = (stub, stub + SelfRestore.stubSigreturnStop)
            if restore.signal != 0 { signalStopRip = stub + SelfRestore.stubSignalStop }
        }
        // Stopping at every system call of the callee costs a round trip
        // each: only when the stub's signal cannot tell us it returned.
        let traceSyscalls = signalStopRip == nil
        func resume() throws { if traceSyscalls { try thread.contSyscall() } else { try thread.cont() } }
        // The return address is the only word of the frame that changes from
        // one call to the next: one 8-byte write, the rest stays valid.
        try memory.write(withUnsafeBytes(of: returnAddress.littleEndian) { Array($0) }, at: restore.frame)
        var regs = saved
        regs.orig_rax = UInt64.max // skip the syscall this entry stop announced
        regs.rsp = restore.frame
        regs.rip = function
        regs.rax = 0
        loadArguments(args, into: &regs)
        try thread.setRegisters(regs)
        try resume()

        var syscallResult: UInt64? = nil
        let deadline = Clock.now() + callTimeout
        while true {
            guard let stop = thread.wait(deadline: deadline) else { try abandonTimedOutCall(name) }
            switch stop {
            case .gone(let why):
                throw InjectError.targetExited(pid: thread.pid, detail: why)
            case .syscall(entry: true):
                let now = try thread.registers()
                if now.orig_rax == 15 /* rt_sigreturn */ && now.rip == doneRip && now.rsp == restore.frame + 8 {
                    switch returning {
                    case .stub: return now.r12
                    case .trampoline(let number):
                        guard let result = syscallResult else {
                            // Returned without making the call we take the result from.
                            throw InjectError.remoteCallCrashed(function: name, signal: 0, address: now.rip)
                        }
                        return result
                    }
                }
                try resume()
            case .syscall(entry: false):
                let now = try thread.registers()
                if case .trampoline(let number) = returning, Int64(bitPattern: now.orig_rax) == number {
                    syscallResult = now.rax
                }
                noteInterruptedSyscall()
                try resume()
            case .eventStop, .otherEvent:
                noteInterruptedSyscall()
                try resume()
            case .signal(let signal, var info):
                if let signalStopRip, signal == restore.signal, sl_siginfo_code(&info) == -6 /* SI_TKILL */ {
                    let now = try thread.registers()
                    if now.rip == signalStopRip && now.rsp == restore.frame + 8 { return now.r12 }
                }
                if !isFault(signal, &info) {
                    noteInterruptedSyscall()
                    thread.deferSignal(info)
                    try resume()
                    continue
                }
                let now = try thread.registers()
                throw InjectError.remoteCallCrashed(function: name, signal: signal, address: now.rip)
            }
        }
    }

    /// From the PTRACE_INTERRUPT stop, lets the thread restart its own
    /// system call up to that call's entry stop: every later call starts
    /// from such a stop, the signal mask the call may have swapped
    /// (ppoll, pselect6) is the thread's own again there, and a tracer that
    /// vanishes at this point leaves a thread simply running its call.
    func enterInterruptedCall() throws {
        try thread.contSyscall()
        let deadline = Clock.now() + callTimeout
        while true {
            guard let stop = thread.wait(deadline: deadline) else {
                try thread.interrupt()
                while let again = thread.wait() {
                    if case .gone(let why) = again { throw InjectError.targetExited(pid: thread.pid, detail: why) }
                    if case .syscall = again { try thread.cont(); continue }
                    if case .signal(_, let info) = again { thread.deferSignal(info); try thread.cont(); continue }
                    break
                }
                throw InjectError.remoteCallTimedOut(function: "the interrupted system call", seconds: callTimeout)
            }
            switch stop {
            case .gone(let why):
                throw InjectError.targetExited(pid: thread.pid, detail: why)
            case .syscall(entry: true):
                let now = try thread.registers()
                if now.rip == saved.rip { return }
                try thread.contSyscall()
            case .syscall(entry: false), .eventStop, .otherEvent:
                try thread.contSyscall()
            case .signal(_, let info):
                thread.deferSignal(info)
                try thread.contSyscall()
            }
        }
    }

    /// Calls `function(args...)` (at most six integer or pointer arguments)
    /// with return address 0 and returns rax.
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
        loadArguments(args, into: &regs)
        try thread.setRegisters(regs)
        try thread.cont()

        let deadline = Clock.now() + callTimeout
        while true {
            guard let stop = thread.wait(deadline: deadline) else { try abandonTimedOutCall(name) }
            if case .syscall = stop { try thread.cont(); continue }
            if case .gone = stop {} else if case .signal(let signal, var info) = stop, isFault(signal, &info) {} else {
                noteInterruptedSyscall()
            }
            switch stop {
            case .gone(let why):
                throw InjectError.targetExited(pid: thread.pid, detail: why)
            case .syscall:
                try thread.cont()
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

    /// Our call ran past `callTimeout`: stops the thread wherever it is and
    /// gives up; the injector then restores the saved registers. Whatever
    /// the callee held stays held, which the error says.
    private func abandonTimedOutCall(_ name: String) throws -> Never {
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
            case .syscall:
                // PTRACE_CONT now, so the pending interrupt stops it
                // outside any system call.
                noteInterruptedSyscall()
                try thread.cont()
            case .eventStop, .otherEvent:
                noteInterruptedSyscall()
                break waitLoop
            }
        }
        throw InjectError.remoteCallTimedOut(function: name, seconds: callTimeout)
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

/// The System V integer argument registers, in order; unused ones zeroed.
private func loadArguments(_ args: [UInt64], into regs: inout user_regs_struct) {
    precondition(args.count <= 6, "only register arguments are supported")
    let values = args + [UInt64](repeating: 0, count: 6 - args.count)
    regs.rdi = values[0]; regs.rsi = values[1]; regs.rdx = values[2]
    regs.rcx = values[3]; regs.r8 = values[4]; regs.r9 = values[5]
}
