import ArgumentParser

/// The `swiftleak` command: tracemalloc's workflow for native processes.
@main
struct SwiftLeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftleak",
        abstract: "Find native memory leaks in a running Linux process: snapshots of live memory by call stack, compared over time.",
        discussion: """
        Typical session:
          swiftleak attach 4242 --output snaps             trace a running process
          swiftleak run --output snaps -- ./my-service     or launch one with the agent preloaded
          kill -USR1 <swiftleak pid>                       write a snapshot now (or: swiftleak snapshot 4242)
          swiftleak top snaps/<file> --group-by lineno     biggest live allocation sites
          swiftleak diff snaps/<a> snaps/<b>               what grew between two snapshots
        """,
        version: "0.1.0",
        subcommands: [Run.self, Attach.self, SnapshotCommand.self, Detach.self, Top.self, Diff.self, Stats.self, Trend.self]
    )
}
