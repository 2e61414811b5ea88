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

    @Flag(name: .customLong("collect"), help: "First run the target's gc.collect() (CPython), so garbage waiting in reference cycles is not taken for a leak.")
    var collect = false

    func run() throws {
        if collect {
            let count = try ControlClient.request(.collect, toTarget: pid)
            Console.note("gc.collect() in pid \(pid) collected \(count) object\(count == "1" ? "" : "s")")
        }
        let path = try ControlClient.request(.snapshot(resetPeak: resetPeak), toTarget: pid)
        Console.output(path + "\n")
    }
}
