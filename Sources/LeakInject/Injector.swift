import CLeakSys
import Glibc
import LeakProc

/// Loads the swiftleak agent into a running process with ptrace, borrowing
/// one thread that is parked in a restartable system call:
///
/// 1. checks that refuse early, reading only /proc (`preflight`);
/// 2. resolves mmap/dlopen/... in the target's own glibc, places the agent
///    where the target can see it;
/// 3. seizes ONE thread parked in read/poll/nanosleep..., interrupts it, and
///    runs mmap, dlopen, dlsym and swiftleak_agent_attach in it while every
///    other thread keeps running;
/// 4. restores its registers exactly and detaches: the kernel restarts the
///    interrupted system call as if nothing happened.
///
/// Should swiftleak die (even by SIGKILL) anywhere in 3, the borrowed thread
/// puts itself back and re-enters its system call (SelfRestore).
public enum Injector {
    /// Kernel-internal "restart me" results a syscall interrupted by a ptrace
    /// stop carries in rax: ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
    /// ERESTART_RESTARTBLOCK. Seeing one proves the thread is still inside
    /// the call and will resume it.
    static let restartCodes: Set<Int64> = [-512, -513, -514, -516]

    /// Longest one remote call (dlopen, the agent's attach...) may take
    /// before it is abandoned; tests shorten it.
    static var remoteCallTimeout: Double = 15

    /// The registers to put back. Normally exactly the saved ones. But if a
    /// syscall of our own code was interrupted with ERESTART_RESTARTBLOCK
    /// while the program's call (poll, nanosleep...) also resumes through
    /// restart_syscall, the one per-thread restart_block now describes our
    /// call: restarting would run it with stale arguments. Then the
    /// program's call ends with EINTR instead, which poll and nanosleep may
    /// always return (nanosleep already wrote the remaining time).
    static func finalState(_ held: HeldThread) -> TracedThread.SavedState {
        var state = held.saved
        if held.thread.restartBlockClobbered && Int64(bitPattern: state.regs.rax) == -516 {
            state.regs.rax = UInt64(bitPattern: -Int64(EINTR))
        }
        return state
    }

    /// Checks, without stopping anything, that `pid` can be injected, and
    /// says who it is. Throws an `InjectError` naming what to do otherwise.
    public static func preflight(pid: Int32) throws -> ProcessInfoSummary {
        guard pid > 0 else { throw InjectError.noSuchProcess(pid: pid) }
        if pid == getpid() { throw InjectError.ownProcess(pid: pid) }
        let status: ProcStatus
        switch ProcStatus.read(pid: pid) {
        case .success(let s): status = s
        case .failure(let error):
            if case .procUnreadable(_, let code) = error, code == ENOENT || code == ESRCH {
                throw InjectError.noSuchProcess(pid: pid)
            }
            throw error
        }
        // The main thread's state is not the process's: after its
        // pthread_exit it stays a zombie while other threads run on.
        guard let live = ProcDirectory(pid: pid).liveThread() else { throw InjectError.zombie(pid: pid) }
        let stat = ProcStat.read("/proc/\(pid)/stat")
        let exe = ProcFiles.readLink(live.entry("exe"))
        if let stat, stat.flags & ProcStat.kernelThreadFlag != 0 { throw InjectError.kernelThread(pid: pid) }
        if exe == nil && errno == ENOENT { throw InjectError.kernelThread(pid: pid) }
        if status.tgid == getpid() { throw InjectError.ownProcess(pid: pid) }
        if status.tgid != pid { throw InjectError.notAProcess(tid: pid, processID: status.tgid) }
        if status.tracerPID != 0 {
            throw InjectError.alreadyTraced(pid: pid, tracerPID: status.tracerPID,
                                            tracerName: PermissionExplainer.processName(status.tracerPID))
        }
        if status.state == "T" || status.state == "t" { throw InjectError.stoppedProcess(pid: pid) }
        if status.seccompMode == 1 { throw InjectError.seccompStrict(pid: pid) }
        if status.hasShadowStack { throw InjectError.shadowStack(pid: pid) }
        let maps = try ProcMaps.read(pid: pid).get()
        if maps.libcBaseMapping == nil {
            throw InjectError.staticallyLinked(pid: pid, exe: exe ?? "?")
        }
        let name = ProcFiles.readIfPresent("/proc/\(pid)/comm")?.trimmedLine ?? status.name
        return ProcessInfoSummary(pid: pid, name: name, exePath: exe ?? "?", uid: status.uid, gid: status.gid)
    }

    /// Injects the agent and calls `swiftleak_agent_attach(socketPathInTarget,
    /// frames, sampleBytes)` in the target. On success the agent is connected to the
    /// caller's socket; on any error the target is left as it was (the agent
    /// library may stay loaded if dlopen succeeded: it is never dlclosed).
    public static func attach(_ request: AttachRequest) throws -> AttachReport {
        let start = Clock.now()
        let summary = try preflight(pid: request.pid)
        let pid = request.pid
        // Everything that can fail without touching the target, first.
        let libc = try TargetLibc.resolve(pid: pid, maps: try ProcMaps.read(pid: pid).get())
        let filesystem = TargetFilesystem(pid: pid)
        let agentPath = try AgentPlacement(filesystem: filesystem, targetUID: summary.uid, targetGID: summary.gid)
            .place(hostAgentPath: request.agentPath)
        let frames = min(max(request.frames, 1), 256) // SL_MAX_FRAMES
        try SeccompCheck.precheck(pid: pid, ignoreUnreadable: request.ignoreSeccomp)

        // From here until detach a dying swiftleak would leave the target
        // running our registers: keep termination signals away.
        var signalGuard = sl_signal_guard()
        _ = sl_signal_guard_begin(&signalGuard)
        defer { _ = sl_signal_guard_end(&signalGuard) }

        let held = try HeldThread.acquire(pid: pid, deadline: Clock.now() + request.timeout, timeout: request.timeout)
        var outcome: Result<Void, Error>
        do {
            // Before the first call of ours reaches the thread's filters.
            try SeccompCheck.verify(pid: pid, tid: held.point.tid, ignoreUnreadable: request.ignoreSeccomp)
            try runAgent(in: held, libc: libc, agentPath: agentPath, socketPath: request.socketPathInTarget, frames: frames,
                         sampleBytes: request.sampleBytes)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // Put everything back, whatever happened; a restore failure only
        // matters when the calls themselves succeeded (otherwise the first
        // error is the one to report).
        do {
            try held.thread.restore(finalState(held))
        } catch {
            if case .success = outcome { outcome = .failure(error) }
        }
        held.thread.detach()
        let end = Clock.now()
        try outcome.get()
        return AttachReport(pid: pid, threadID: held.point.tid, syscallName: held.point.name,
                            elapsedSeconds: end - start, pauseSeconds: end - held.stoppedAt,
                            agentPathInTarget: agentPath, processName: summary.name)
    }

    /// The remote calls: scratch memory, dlopen, dlsym, the agent's entry.
    private static func runAgent(in held: HeldThread, libc: TargetLibc, agentPath: String,
                                 socketPath: String, frames: UInt32, sampleBytes: UInt64) throws {
        let memory = RemoteMemory(tid: held.thread.tid)
        var caller = RemoteCaller(thread: held.thread, memory: memory, saved: held.saved.regs)
        // A frame the thread can restore itself from should we die (see
        // SelfRestore); without the trampoline, the old return address 0.
        if let trampoline = libc.sigreturnTrampoline {
            try caller.enterInterruptedCall()
            if let mask = held.thread.signalMask("SigBlk") {
                caller.selfRestore = try SelfRestore.prepare(memory: memory, saved: held.saved,
                                                             trampoline: trampoline, signalMask: mask)
                if let caught = held.thread.signalMask("SigCgt") {
                    caller.selfRestore?.signal = SelfRestore.quietSignal(caught: caught, blocked: mask)
                }
            }
        }

        // Strings live in fresh anonymous memory: never the target's malloc,
        // whose locks another thread may hold.
        let texts = [agentPath, socketPath, "swiftleak_agent_attach"]
        var blob: [UInt8] = []
        var offsets: [UInt64] = []
        for text in texts {
            offsets.append(UInt64(blob.count))
            blob += Array(text.utf8) + [0]
        }
        // The stub (see SelfRestore) first, then the strings.
        // The stub's tgkill runs in the target: in a pid namespace (a
        // container) it must name the thread as the target numbers it.
        let process = ProcDirectory(pid: held.thread.pid)
        let ownPID = (try? process.status().get())?.pidInOwnNamespace ?? held.thread.pid
        let ownTID = (try? process.task(held.thread.tid).status().get())?.pidInOwnNamespace ?? held.thread.tid
        let stub = caller.selfRestore.map {
            SelfRestore.stubCode(pid: ownPID, tid: ownTID, signal: $0.signal)
        } ?? []
        let stubSize = stub.isEmpty ? 0 : (stub.count + 15) & ~15
        blob = stub + [UInt8](repeating: 0xcc, count: stubSize - stub.count) + blob
        offsets = offsets.map { $0 + UInt64(stubSize) }
        let size = UInt64((blob.count + 4095) & ~4095)
        // Never writable and executable at once: the page is mapped r-x and
        // written through ptrace (POKEDATA writes through the protection).
        let protection = caller.selfRestore == nil ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC
        let scratch = try caller.call("mmap", libc.mmap, [0, size, UInt64(protection),
                                                          UInt64(MAP_PRIVATE | MAP_ANONYMOUS), UInt64.max, 0],
                                      returning: .trampoline(resultOf: 9))
        if scratch == 0 || Int64(bitPattern: scratch) < 0 && Int64(bitPattern: scratch) >= -4095 {
            throw InjectError.remoteMmapFailed(pid: held.thread.pid)
        }
        do {
            try memory.write(blob, at: scratch)
            if stubSize > 0 { caller.selfRestore?.stub = scratch }
            let (agentAt, socketAt, symbolAt) = (scratch + offsets[0], scratch + offsets[1], scratch + offsets[2])

            // RTLD_NOW: resolve everything now, in this safe thread, instead of
            // lazily from the hooks later. RTLD_LOCAL: interpose nothing.
            let flags = UInt64(RTLD_NOW) | (libc.internalDlopen ? 0x8000_0000 /* __RTLD_DLOPEN */ : 0)
            let handle = try caller.call("dlopen", libc.dlopen, [agentAt, flags], returning: .stub)
            if handle == 0 {
                throw InjectError.dlopenFailed(path: agentPath, message: try lastDlError(caller, libc, memory))
            }
            let entry = try caller.call("dlsym", libc.dlsym, [handle, symbolAt], returning: .stub)
            if entry == 0 {
                throw InjectError.agentEntryMissing(path: agentPath, message: try lastDlError(caller, libc, memory))
            }
            let rc = Int32(truncatingIfNeeded: try caller.call("swiftleak_agent_attach", entry,
                                                                [socketAt, UInt64(frames), sampleBytes], returning: .stub))
            // Not into the stub: it is in the page being unmapped.
            _ = try caller.call("munmap", libc.munmap, [scratch, size], returning: .trampoline(resultOf: 11))
            if rc != 0 { throw InjectError.agentAttachFailed(pid: held.thread.pid, errno: rc) }
        } catch {
            // Give the scratch page back unless the thread is gone.
            if case InjectError.targetExited = error { throw error }
            _ = try? caller.call("munmap", libc.munmap, [scratch, size], returning: .trampoline(resultOf: 11))
            throw error
        }
    }

    /// dlerror() in the same thread (its message is per thread).
    private static func lastDlError(_ caller: RemoteCaller, _ libc: TargetLibc, _ memory: RemoteMemory) throws -> String {
        guard let dlerror = libc.dlerror else { return "no detail available from glibc before 2.34" }
        let message = try caller.call("dlerror", dlerror, [], returning: .stub)
        return message == 0 ? "no detail" : try memory.readCString(at: message)
    }
}
