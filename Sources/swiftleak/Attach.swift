import ArgumentParser
import Glibc
import LeakCollector

/// `swiftleak attach PID`: trace a process that is already running.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach to a running process and trace its allocations, without a restart.",
        discussion: """
        swiftleak stops one thread that is waiting in a system call (read, poll,
        accept, nanosleep...), loads the agent into the process from it, and lets
        it go on; the other threads never stop. Then:
          kill -USR1 <swiftleak pid>   or  swiftleak snapshot PID    write a snapshot
          Ctrl-C                       or  swiftleak detach PID      final snapshot, hooks off
        The process keeps running after swiftleak detaches or dies.

        Example:
          swiftleak attach 4242 --output snaps
        """
    )

    @Argument(help: ArgumentHelp("The process to trace.", valueName: "pid"))
    var pid: Int32

    @Option(name: .shortAndLong, help: ArgumentHelp("Directory for snapshots (default: ./swiftleak-<pid>).", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Call-stack depth recorded per allocation (1-256).", valueName: "n"))
    var frames: UInt32 = 64

    @Option(help: ArgumentHelp("Seconds to wait for a thread to reach a safe point before giving up.", valueName: "seconds"))
    var timeout: Double = 5

    func validate() throws {
        guard (1...256).contains(frames) else { throw ValidationError("--frames must be between 1 and 256") }
        guard pid > 0 else { throw ValidationError("PID must be a positive process id") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        SessionSetup.prepare()
        do {
            let status = try AttachSession(pid: pid, output: output, frames: frames, timeout: timeout).run()
            if status != 0 { throw ExitCode(status) }
        } catch let error as CollectorError {
            throw Failure(error.description)
        }
    }
}
