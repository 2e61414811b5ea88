// The injector that KillDuringInjectionTests SIGKILLs at chosen moments of an
// attach. It is a process of its own because what is tested is the kernel's
// detach when the tracer dies, with nothing of ours left to clean up.
//
//     KillableInjector PID AGENT SOCKET
//
// Prints "go" right before the attach, then "done <elapsed s> <pause s>" (exit
// 0) or "failed: <error>" (exit 1).
import Glibc
import LeakInject

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 3, let pid = Int32(arguments[0]) else {
    fputs("usage: KillableInjector PID AGENT SOCKET\n", stderr)
    exit(2)
}

print("go")
fflush(stdout)
do {
    let report = try Injector.attach(AttachRequest(pid: pid, agentPath: arguments[1], socketPathInTarget: arguments[2],
                                                   frames: 16, timeout: 5))
    print("done \(report.elapsedSeconds) \(report.pauseSeconds)")
    exit(0)
} catch {
    print("failed: \(error)")
    exit(1)
}
