import ArgumentParser
import Glibc
import LeakCollector

/// `swiftleak run -- CMD ARGS...`: launch a program with the agent preloaded.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a program with the agent preloaded and trace its allocations.",
        discussion: """
        Send SIGUSR1 to swiftleak to write a snapshot (its path is printed).
        When the program exits, a final snapshot is written and swiftleak exits
        with the program's exit status. SIGINT/SIGTERM write a final snapshot and
        are passed on to the program.

        Example:
          swiftleak run --output snaps -- ./my-service --port 8080
        """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Directory for snapshots (default: ./swiftleak-<pid>).", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Call-stack depth recorded per allocation (1-256).", valueName: "n"))
    var frames: UInt32 = 64

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The program to run and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard (1...256).contains(frames) else {
            throw ValidationError("--frames must be between 1 and 256")
        }
        if command.first == "--" && command.count == 1 || command.isEmpty {
            throw ValidationError("missing the program to run: swiftleak run [options] -- CMD ARGS...")
        }
    }

    func run() throws {
        let program = command.first == "--" ? Array(command.dropFirst()) : command
        SessionSetup.prepare()
        do {
            let status = try RunSession(command: program, output: output, frames: frames).run()
            throw ExitCode(status)
        } catch let error as CollectorError {
            throw Failure(error.description)
        }
    }
}
