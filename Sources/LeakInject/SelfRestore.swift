import CLeakSys
import Glibc

/// Lets the borrowed thread put itself back if swiftleak dies (SIGKILL, a
/// crash) in the middle of the injection, when the kernel detaches and the
/// thread runs on with whatever we gave it.
///
/// Every remote call returns into an rt_sigreturn: mmap (the first) and
/// munmap (the last) into the C library's own signal trampoline
/// (`mov $15, %rax; syscall`, found next to sigaction), the others into a
/// stub in the scratch page that first keeps the result in r12 and sends
/// its own thread a signal the program ignores (see `quietSignal`). rt_sigreturn reads an rt_sigframe that we write below the
/// thread's stack pointer (under the red zone) before the first call: the
/// saved general registers and rflags, the signal mask, the saved vector
/// state, and rip/rax set so that the thread re-executes its interrupted
/// system call (rip - 2, rax = its number), as the kernel's own restart
/// would. Nothing in the frame changes between calls except the return
/// address, so the thread can restore itself at any moment.
///
/// While we are alive, that signal stops the thread in front of us (a
/// traced thread stops even for an ignored signal); without a tracer the
/// kernel discards it. We recognise the stop (rip just after the stub's
/// tgkill), suppress the signal, and restore everything through ptrace
/// exactly as before. The trampoline calls run under PTRACE_SYSCALL
/// instead (mmap and munmap make one system call each, so that costs a
/// few stops): their rt_sigreturn stops at its syscall-entry stop, which
/// we skip. So is the stub when the program catches or blocks every
/// candidate signal. `TracedThread.restore` knows how to leave a
/// syscall-entry stop.
///
/// One difference on the swiftleak-died path only: rt_sigreturn resets the
/// thread's restart_block, so a poll/nanosleep that would resume through
/// restart_syscall ends with EINTR instead (which both may return).
struct SelfRestore {
    /// mov $15, %rax; syscall (glibc's __restore_rt).
    static let trampolinePattern: [UInt8] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05]
    static let trampolineLength = UInt64(trampolinePattern.count)
    /// mov %rax, %r12; tgkill(pid, tid, signal); rt_sigreturn
    static func stubCode(pid: Int32, tid: Int32, signal: Int32) -> [UInt8] {
        func imm(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        return [0x49, 0x89, 0xc4] + [0xb8] + imm(234) + [0xbf] + imm(pid) + [0xbe] + imm(tid)
            + [0xba] + imm(signal) + [0x0f, 0x05] + [0xb8] + imm(15) + [0x0f, 0x05]
    }
    /// Offsets in the stub just after its tgkill and its rt_sigreturn.
    static let stubSignalStop: UInt64 = 25
    static let stubSigreturnStop: UInt64 = 32

    /// Tests empty it to exercise the PTRACE_SYSCALL fallback.
    nonisolated(unsafe) static var quietSignalCandidates = [SIGURG, SIGWINCH, SIGCHLD]

    /// A signal that, sent to this thread, stops it while traced and does
    /// nothing otherwise: ignored by default, neither caught by the program
    /// nor blocked by the thread. 0 when there is none.
    static func quietSignal(caught: UInt64, blocked: UInt64) -> Int32 {
        for signal in quietSignalCandidates {
            let bit = UInt64(1) << UInt64(signal - 1)
            if caught & bit == 0 && blocked & bit == 0 { return signal }
        }
        return 0
    }

    /// The libc trampoline's address in the target.
    let trampoline: UInt64
    /// The rt_sigframe: its first word is the return address of every call
    /// (rsp at the callee's entry), the ucontext follows.
    let frame: UInt64
    /// The stub, once written into the scratch page.
    var stub: UInt64?
    /// The stub's signal (`quietSignal`), 0 for none: then it is caught at
    /// its rt_sigreturn under PTRACE_SYSCALL.
    var signal: Int32 = 0

    /// Writes the frame below `saved.regs.rsp` and returns where it is.
    static func prepare(memory: RemoteMemory, saved: TracedThread.SavedState, trampoline: UInt64,
                        signalMask: UInt64) throws -> SelfRestore {
        var fp: [UInt8]
        if let xstate = saved.xstate {
            // The ptrace XSTATE layout is the signal frame's (sw_reserved
            // included); the kernel wants FP_XSTATE_MAGIC2 right after it.
            fp = xstate
            withUnsafeBytes(of: UInt32(0x4650_5845).littleEndian) { fp += $0 }
        } else if let fpregs = saved.fpregs {
            fp = withUnsafeBytes(of: fpregs) { Array($0) }
        } else {
            fp = []
        }
        // Frame: [return address][ucontext 304][siginfo 128][pad][fpstate, 64-aligned]
        let headerSize: UInt64 = 8 + 304 + 128
        let total = headerSize + 64 + UInt64(fp.count)
        let top = saved.regs.rsp &- 128 &- 64 // under the red zone, with slack
        let sp = (top &- total) & ~UInt64(63) // the callee's rsp before the return address
        let frame = sp &- 8
        let fpAddress = (frame + headerSize + 63) & ~UInt64(63)

        let r = selfRestoringRegisters(saved.regs)
        var bytes = [UInt8](repeating: 0, count: Int(fpAddress - frame) + fp.count)
        func put(_ value: UInt64, _ offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 8, with: $0) }
        }
        put(trampoline, 0)
        put(6, 8) // uc_flags: UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
        // uc_stack: an invalid ss_flags makes sigaltstack refuse it (the
        // kernel ignores that error), so the thread's own altstack stays.
        put(3, 32)
        let mc = 48
        let gprs: [UInt64] = [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx,
                              r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.eflags]
        for (i, value) in gprs.enumerated() { put(value, mc + 8 * i) }
        put((r.cs & 0xffff) | (r.ss & 0xffff) << 48, mc + 144) // cs, gs, fs, ss
        put(fp.isEmpty ? 0 : fpAddress, mc + 184)
        put(signalMask, 8 + 296)
        bytes.replaceSubrange(Int(fpAddress - frame)..<bytes.count, with: fp)
        try memory.write(bytes, at: frame)
        return SelfRestore(trampoline: trampoline, frame: frame, stub: nil)
    }

    /// What rt_sigreturn puts back: the saved registers, sent to re-execute
    /// the interrupted system call. restart_syscall cannot be used (the
    /// sigreturn itself resets the restart_block): that call returns EINTR.
    static func selfRestoringRegisters(_ saved: user_regs_struct) -> user_regs_struct {
        var r = saved
        let result = Int64(bitPattern: saved.rax)
        guard Int64(bitPattern: saved.orig_rax) >= 0 && Injector.restartCodes.contains(result) else { return r }
        if result == -516 {
            r.rax = UInt64(bitPattern: -Int64(EINTR))
        } else {
            r.rax = saved.orig_rax
            r.rip = saved.rip &- 2
        }
        return r
    }

    /// The trampoline in the target's libc, searched near `sigaction` (glibc
    /// emits __restore_rt in the same object), in the target's memory.
    static func findTrampoline(pid: Int32, near address: UInt64) -> UInt64? {
        let start = address &- 4096
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = buffer.withUnsafeMutableBytes { sl_process_read(pid, start, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let count = Int(n), pattern = trampolinePattern
        guard count >= pattern.count else { return nil }
        for i in 0...(count - pattern.count) where buffer[i] == pattern[0] {
            if Array(buffer[i..<i + pattern.count]) == pattern { return start + UInt64(i) }
        }
        return nil
    }
}
