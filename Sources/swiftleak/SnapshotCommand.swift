import ArgumentParser
import LeakCollector

/// `swiftleak snapshot PID`: ask the attach session of PID for a snapshot.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Write a snapshot of a process that swiftleak is attached to; prints its path.",
        discussion: "Same as `kill -USR1 <swiftleak pid>`, addressed by the target's pid."
    )

    @Argument(help: ArgumentHelp("The traced process.", valueName: "pid"))
    var pid: Int32

    @Flag(name: .customLong("reset-peak"), help: "After the snapshot, start a new peak window (tracemalloc's reset_peak).")
    var resetPeak = false

    func run() throws {
        let path = try ControlClient.request(.snapshot(resetPeak: resetPeak), toTarget: pid)
        Console.output(path + "\n")
    }
}
