// The injector that KillDuringInjectionTests SIGKILLs at chosen moments of an
// attach. It is a process of its own because what is tested is the kernel's
// detach when the tracer dies, with nothing of ours left to clean up.
//
//     KillableInjector PID AGENT SOCKET [--syscall-tracing]
//
// Prints "go" right before the attach, then "done <elapsed s> <pause s>" (exit
// 0) or "failed: <error>" (exit 1). --syscall-tracing takes away the quiet
// signals, so the stub's rt_sigreturn is caught under PTRACE_SYSCALL instead.
// Built in debug by `swift build --build-tests`: it needs LeakInject's
// internals (@testable).
import Glibc
@testable import LeakInject

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 3 || (arguments.count == 4 && arguments.last == "--syscall-tracing"),
      let pid = Int32(arguments[arguments.startIndex]) else {
    fputs("usage: KillableInjector PID AGENT SOCKET [--syscall-tracing]\n", stderr)
    exit(2)
}
let agent = arguments[arguments.startIndex + 1], socket = arguments[arguments.startIndex + 2]
if arguments.count == 4 { SelfRestore.quietSignalCandidates = [] }

print("go")
fflush(stdout)
do {
    let report = try Injector.attach(AttachRequest(pid: pid, agentPath: agent, socketPathInTarget: socket,
                                                   frames: 16, timeout: 5))
    print("done \(report.elapsedSeconds) \(report.pauseSeconds)")
    exit(0)
} catch {
    print("failed: \(error)")
    exit(1)
}
