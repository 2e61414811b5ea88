import CLeakSys
import Glibc
import LeakProc

/// A target thread stopped at a safe point: seized, interrupted inside a
/// restartable system call, with every register saved.
struct HeldThread {
    let thread: TracedThread
    let point: SafePoint
    let saved: TracedThread.SavedState
    /// When PTRACE_INTERRUPT was sent: the start of the only pause the
    /// target sees.
    let stoppedAt: Double

    /// Polls /proc until a thread is parked in a restartable call, then
    /// stops only that thread. A thread that left the call between the /proc
    /// read and the stop is let go again and the search goes on.
    static func acquire(pid: Int32, deadline: Double, timeout: Double) throws -> HeldThread {
        var lastScan = SafePointFinder.Scan()
        while true {
            let scan = SafePointFinder.scan(pid: pid)
            lastScan = scan
            if scan.activity.isEmpty && access("/proc/\(pid)", F_OK) != 0 {
                throw InjectError.targetExited(pid: pid, detail: "it exited before a thread could be borrowed")
            }
            for candidate in scan.candidates {
                if let held = try hold(pid: pid, candidate: candidate) { return held }
            }
            if Clock.now() >= deadline {
                throw lastScan.refusal(pid: pid, seconds: timeout)
            }
            // A few ms: cheap for us (a handful of small /proc reads per
            // thread) and the target does not notice /proc reads. Processes
            // with thousands of threads are scanned less often.
            Clock.sleep(seconds: min(0.05, max(0.003, Double(scan.activity.count) * 50e-6)))
        }
    }

    /// Seizes and stops `candidate`; nil when it turned out not to be (or no
    /// longer be) in that system call.
    private static func hold(pid: Int32, candidate: SafePoint) throws -> HeldThread? {
        // Shadow stacks are per thread; a fake return address would fault.
        if ProcStatus.read(pid: pid, tid: candidate.tid)?.hasShadowStack == true {
            throw InjectError.shadowStack(pid: pid)
        }
        let thread: TracedThread
        do {
            thread = try TracedThread.seize(pid: pid, tid: candidate.tid)
        } catch InjectError.targetExited {
            return nil // that thread ended meanwhile; others may do
        }
        let stoppedAt = Clock.now()
        do {
            try thread.interrupt()
        } catch {
            thread.detach()
            if case InjectError.targetExited = error { return nil }
            throw error
        }
        do {
            switch try thread.waitForInterruptStop() {
            case .gone, .timedOut:
                return nil
            case .groupStop:
                thread.detach()
                throw InjectError.stoppedProcess(pid: pid)
            case .stopped:
                break
            }
        } catch InjectError.targetExited {
            return nil // the deinit lets go of it if it still exists
        }
        do {
            let saved = try thread.saveState()
            if SyscallTable.stoppedInside(candidate, rax: saved.regs.rax, origRax: saved.regs.orig_rax) {
                if let live = SyscallTable.reentering(saved.regs) { try thread.setRegisters(live) }
                return HeldThread(thread: thread, point: candidate, saved: saved, stoppedAt: stoppedAt)
            }
        } catch {
            thread.detach()
            if case InjectError.targetExited = error { return nil }
            throw error
        }
        // It returned from the call just before the stop: nothing was changed,
        // let it go and look again.
        thread.detach()
        return nil
    }
}
