import ArgumentParser
import LeakModel
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
        With --leaks-at-exit, the program is scanned when it exits (like
        LeakSanitizer) and the unreachable memory is printed; a program that
        exits 0 with unreachable memory makes swiftleak exit 23.

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

    @Flag(name: .customLong("leaks-at-exit"), help: ArgumentHelp("Scan for unreachable memory when the program exits; exit 23 when there is some."))
    var leaksAtExit = false

    @Option(help: ArgumentHelp("With --leaks-at-exit: group the report by lineno, function, filename, module or traceback.", valueName: "key"))
    var leaksGroupBy: GroupBy = .lineno

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
            periodic: try session.periodic, gate: gates.gate, warmup: gates.warmup, followForks: followForks,
            leaksAtExit: leaksAtExit, report: Console.show
        )
        let outcome = try runner.run()
        var status = outcome.status
        if let verdict = outcome.gates {
            GateReport.show(verdict)
            if status == 0 && !verdict.passed { status = GateArguments.exitStatus }
        }
        if let leaks = outcome.leaks {
            let found = try LeaksAtExit.show(leaks, groupBy: leaksGroupBy)
            if status == 0 && found { status = LeaksAtExit.exitStatus }
        }
        throw ExitCode(status)
    }
}
