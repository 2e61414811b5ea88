import ArgumentParser
import LeakSession

/// `swiftleak run -- CMD ARGS...`: launch a program with the agent preloaded.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a program with the agent preloaded and trace its allocations.",
        discussion: """
        Send SIGUSR1 to swiftleak to write a snapshot (its path is printed).
        When the program exits, a final snapshot is written and swiftleak exits
        with the program's exit status. SIGINT/SIGTERM write a final snapshot and
        are passed on to the program.

        A program that execs another (sh -c 'exec ...', shims, env, nice,
        timeout) is traced on in the new image. With --follow-forks, every
        child process gets a session of its own, its snapshots in <output>/<pid>/.

        CI gates: with --max-peak and/or --max-growth, a program that exits 0
        but broke a limit makes swiftleak exit 97 and print the sites over it.

        Examples:
          swiftleak run --output snaps -- ./my-service --port 8080
          swiftleak run --every 30s --keep 10 -- ./my-service
          swiftleak run --follow-forks -- gunicorn --workers 4 app:app
          swiftleak run --max-peak 50MiB --max-growth 1MiB --warmup 5s -- ./integration-tests
        """
    )

    @OptionGroup var session: SessionArguments
    @OptionGroup var gates: GateArguments

    @Flag(help: ArgumentHelp("Also trace every child process the program forks (pre-fork servers), each in a session of its own with its snapshots in <output>/<pid>/."))
    var followForks = false

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The program to run and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        // The passthrough argument captures everything, --help included:
        // `swiftleak run --help` is a request for help, not a program named --help.
        if let first = command.first, first == "--help" || first == "-h" {
            throw CleanExit.helpRequest(self)
        }
        if command.first == "--" && command.count == 1 || command.isEmpty {
            throw ValidationError("missing the program to run: swiftleak run [options] -- CMD ARGS...")
        }
    }

    func run() throws {
        let program = command.first == "--" ? Array(command.dropFirst()) : command
        SessionSetup.prepare()
        let runner = RunSession(
            command: program, output: session.output, frames: session.frames, sampleBytes: session.sampleBytes ?? 0,
            periodic: try session.periodic, gate: gates.gate, warmup: gates.warmup, followForks: followForks, report: Console.show
        )
        let outcome = try runner.run()
        guard let verdict = outcome.gates else { throw ExitCode(outcome.status) }
        GateReport.show(verdict)
        throw ExitCode(outcome.status == 0 && !verdict.passed ? GateArguments.exitStatus : outcome.status)
    }
}
