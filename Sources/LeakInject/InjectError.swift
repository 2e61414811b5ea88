import LeakProc

/// Why an attach was refused or failed. Every message is one line that says
/// what happened and what to do about it; the target is left running as it
/// was whenever one of these is thrown (the injector restores registers and
/// detaches before throwing).
public enum InjectError: Error, CustomStringConvertible, Equatable {
    case noSuchProcess(pid: Int32)
    case zombie(pid: Int32)
    case kernelThread(pid: Int32)
    case ownProcess(pid: Int32)
    case notAProcess(tid: Int32, processID: Int32)
    case stoppedProcess(pid: Int32)
    case staticallyLinked(pid: Int32, exe: String)
    case alreadyTraced(pid: Int32, tracerPID: Int32, tracerName: String)
    case shadowStack(pid: Int32)
    case seccompStrict(pid: Int32)
    case seccompForbids(pid: Int32, detail: String)
    case seccompUnreadable(pid: Int32, reason: String)
    case onlyLockWaits(pid: Int32, seconds: Double, threads: String)
    case permissionDenied(pid: Int32, detail: String)
    case noSafePoint(pid: Int32, seconds: Double, threads: String)
    case targetExited(pid: Int32, detail: String)
    case ptraceFailed(operation: String, tid: Int32, errno: Int32)
    case procUnreadable(path: String, errno: Int32)
    case libraryUnreadable(path: String, detail: String)
    case symbolNotFound(symbol: String, library: String)
    case agentNotFound(path: String)
    case agentCopyFailed(path: String, detail: String)
    case remoteCallCrashed(function: String, signal: Int32, address: UInt64)
    case remoteCallTimedOut(function: String, seconds: Double)
    case remoteMmapFailed(pid: Int32)
    case dlopenFailed(path: String, message: String)
    case agentEntryMissing(path: String, message: String)
    case agentAttachFailed(pid: Int32, errno: Int32)

    public var description: String {
        switch self {
        case .noSuchProcess(let pid):
            return "no process \(pid): check the pid (ps -e) and that it is still running"
        case .zombie(let pid):
            return "process \(pid) is a zombie (exited, not yet reaped by its parent): nothing left to profile"
        case .kernelThread(let pid):
            return "\(pid) is a kernel thread: only user-space processes can be profiled"
        case .ownProcess(let pid):
            return "\(pid) is swiftleak itself: pass the pid of the program to profile"
        case .notAProcess(let tid, let processID):
            return "\(tid) is a thread of process \(processID): attach to \(processID) instead"
        case .stoppedProcess(let pid):
            return "process \(pid) is stopped (job control or a debugger): resume it (kill -CONT \(pid)) and retry"
        case .staticallyLinked(let pid, let exe):
            return "process \(pid) (\(exe)) has no libc.so.6 mapped (statically linked or not glibc): the agent cannot be loaded into it; use `swiftleak run` with a dynamically linked build"
        case .alreadyTraced(let pid, let tracerPID, let tracerName):
            return "process \(pid) is already traced by \(tracerPID) (\(tracerName)): detach that debugger/tracer first"
        case .shadowStack(let pid):
            return "process \(pid) runs with CET shadow stacks (x86_Thread_features: shstk), which break remote calls: start it without shadow stacks or use `swiftleak run`"
        case .seccompStrict(let pid):
            return "process \(pid) is in seccomp strict mode: it may only read/write/exit, so nothing can be loaded into it"
        case .seccompForbids(let pid, let detail):
            return "pid \(pid) runs under a seccomp filter that \(detail); not attached, the process was left as it was"
        case .seccompUnreadable(let pid, let reason):
            return "pid \(pid) runs under a seccomp filter that swiftleak cannot read (\(reason)); not attached, since a call the filter kills would kill the process: run swiftleak as root, or pass --ignore-seccomp to attach without checking"
        case .onlyLockWaits(let pid, let seconds, let threads):
            return "no thread of \(pid) waited in I/O, poll, epoll or sleep within \(formatSeconds(seconds)) [\(threads)]: a thread blocked on a futex may hold a lock the loader or malloc needs, so none is borrowed; attach while the program waits for I/O (send it a request or a connection), raise the timeout, or start it with `swiftleak run`"
        case .permissionDenied(let pid, let detail):
            return "not allowed to ptrace \(pid): \(detail)"
        case .noSafePoint(let pid, let seconds, let threads):
            return "no thread of \(pid) sat in a restartable blocking call (read, poll, accept, nanosleep...) within \(formatSeconds(seconds)) [\(threads)]: retry when the program is idle or waiting for I/O, or raise the timeout"
        case .targetExited(let pid, let detail):
            return "process \(pid) went away during the attach (\(detail)): nothing was left behind"
        case .ptraceFailed(let operation, let tid, let errno):
            return "ptrace \(operation) on thread \(tid) failed: \(errnoDescription(errno)); retry, and report this if it persists"
        case .procUnreadable(let path, let errno):
            return "cannot read \(path): \(errnoDescription(errno)); run swiftleak as the target's user or as root"
        case .libraryUnreadable(let path, let detail):
            return "cannot use the target's C library \(path): \(detail)"
        case .symbolNotFound(let symbol, let library):
            return "\(symbol) is not exported by the target's \(library): its C library is too old or not glibc; use `swiftleak run`"
        case .agentNotFound(let path):
            return "agent library \(path) does not exist: build it with Scripts/build-agent or pass its path"
        case .agentCopyFailed(let path, let detail):
            return "cannot copy the agent into the target's filesystem at \(path): \(detail); make /tmp writable in the container or mount the agent into it"
        case .remoteCallCrashed(let function, let signal, let address):
            return "the remote call to \(function) faulted (signal \(signal) at 0x\(String(address, radix: 16))); registers were restored, but check the target and report this"
        case .remoteCallTimedOut(let function, let seconds):
            return "the remote call to \(function) did not return within \(formatSeconds(seconds)); it was abandoned and registers restored, but the target may hold a lock it took: check it"
        case .remoteMmapFailed(let pid):
            return "mmap inside \(pid) failed (address-space or memory limit?): check the target's limits and retry"
        case .dlopenFailed(let path, let message):
            return "the target could not load the agent \(path): \(message); check the file is readable by the target's user and built for this system"
        case .agentEntryMissing(let path, let message):
            return "\(path) has no swiftleak_agent_attach (\(message)): rebuild the agent with Scripts/build-agent"
        case .agentAttachFailed(let pid, let errno):
            return "the agent in \(pid) could not start: \(errnoDescription(errno)); make sure the swiftleak socket is listening and reachable from the target"
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    let millis = (seconds * 1000).rounded()
    return millis < 10_000 && millis.truncatingRemainder(dividingBy: 1000) != 0
        ? "\(Int(millis)) ms" : "\(Int(millis / 1000)) s"
}
