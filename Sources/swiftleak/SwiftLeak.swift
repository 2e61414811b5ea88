import ArgumentParser

/// The `swiftleak` command: tracemalloc's workflow for native processes.
@main
struct SwiftLeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftleak",
        abstract: "Find native memory leaks in a running Linux process: snapshots of live memory by call stack, compared over time.",
        discussion: """
        A session, as tracemalloc's guides teach it:
          swiftleak attach 4242 --output snaps      trace a running process
          swiftleak snapshot 4242                   a snapshot now
          ... the suspect work runs ...
          swiftleak snapshot 4242
          swiftleak diff snaps/<a> snaps/<b>        what grew in between
          swiftleak detach 4242                     hooks off, it runs on
        Or launch the program under the agent:
          swiftleak run --output snaps -- ./my-service
          kill -USR1 <swiftleak pid>                a snapshot now
        Kept between runs: inflated copies of compressed debug files (libc's:
        14 MB), so that the next session does not inflate them again while the
        program runs, in $XDG_CACHE_HOME/swiftleak/debug or
        ~/.cache/swiftleak/debug, at most 1 GiB. SWIFTLEAK_CACHE_DIR=DIR moves
        them, SWIFTLEAK_CACHE_DIR=off keeps none.
        """,
        version: "0.1.0",
        subcommands: [Run.self, Attach.self, SnapshotCommand.self, Detach.self, Top.self, Diff.self, Stats.self, Trend.self,
                      Export.self, Push.self, Report.self,
                      Types.self, Leaks.self, RetainersCommand.self]
    )
}
