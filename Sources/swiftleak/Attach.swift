import ArgumentParser
import LeakSession

/// `swiftleak attach PID`: trace a process that is already running.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach to a running process and trace its allocations, without a restart.",
        discussion: """
        swiftleak stops one thread that is waiting in a system call (read, poll,
        accept, epoll_wait, nanosleep...), loads the agent into the process from
        it, and lets it go on; the other threads never stop. Then:
          kill -USR1 <swiftleak pid>   or  swiftleak snapshot PID    write a snapshot
          Ctrl-C                       or  swiftleak detach PID      final snapshot, hooks off
        The process keeps running after swiftleak detaches or dies.

        Example:
          swiftleak attach 4242 --output snaps
          swiftleak attach 4242 --every 1m --keep 30    a snapshot a minute, the last 30 kept
        """
    )

    @Argument(help: ArgumentHelp("The process to trace.", valueName: "pid"))
    var pid: Int32

    @OptionGroup var session: SessionArguments

    @Option(help: ArgumentHelp("Seconds to wait for a thread to reach a safe point before giving up.", valueName: "seconds"))
    var timeout: Double = 5

    @Flag(help: ArgumentHelp("Attach to a process under a seccomp filter even when swiftleak cannot read the filter back (no CAP_SYS_ADMIN); a filter that can be read is always checked, and a call it would refuse means no attach."))
    var ignoreSeccomp = false

    func validate() throws {
        guard pid > 0 else { throw ValidationError("PID must be a positive process id") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        SessionSetup.prepare()
        let attach = AttachSession(pid: pid, output: session.output, frames: session.frames, sampleBytes: session.sampleBytes ?? 0, timeout: timeout, ignoreSeccomp: ignoreSeccomp,
                                   periodic: try session.periodic, report: Console.show)
        let status = try attach.run()
        if status != 0 { throw ExitCode(status) }
    }
}
