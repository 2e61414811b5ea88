import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak leaks PID|SNAPSHOT`: which traced blocks nothing can reach.
struct Leaks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan a traced process for unreachable memory (leaked blocks and retain cycles).",
        discussion: """
        With a pid, the swiftleak session attached to it pauses the process
        briefly (no code runs in it), copies its roots (thread stacks and
        registers, writable data) and heap, lets it go on, marks every block
        reachable from the roots and writes a snapshot that carries the
        result. With a snapshot file written that way, prints the same again.

        The scan is conservative: any word that looks like a pointer into a
        block holds it, and memory allocated before the attach counts as a
        root, so it may miss a leak but never calls reachable memory a leak.

        Examples:
          swiftleak attach 4242 &  then  swiftleak leaks 4242
          swiftleak leaks 4242 --group-by traceback --format json
          swiftleak leaks snaps/20261123T130501.042Z-0003.swleak
        """
    )

    @Argument(help: ArgumentHelp("A traced process's pid, or a snapshot written by a scan.", valueName: "pid|snapshot"))
    var target: String

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let loaded = try ScanTarget.load(target)
        let stats = UnreachableMemory.statistics(loaded, groupBy: analysis.groupBy, options: analysis.options)
        let cycles = UnreachableMemory.cycles(loaded, options: analysis.options)
        let limit = analysis.limit == 0 ? nil : analysis.limit
        switch analysis.format {
        case .json:
            Console.output(JSONReport.leaks(snapshot: loaded, stats: stats, cycles: cycles, groupBy: analysis.groupBy, limit: limit) + "\n")
        case .text:
            Console.output(TextReport.leaks(snapshot: loaded, stats: stats, cycles: cycles, groupBy: analysis.groupBy,
                                            limit: limit, useColor: analysis.useColor))
        }
    }
}

/// A scan's snapshot: a file as given, or a fresh scan by the session of a pid.
enum ScanTarget {
    /// The snapshot of `target`, which must carry a scan.
    static func load(_ target: String) throws -> Snapshot {
        let snapshot = try SnapshotLoader.load(try snapshotPath(target))
        guard snapshot.reachability != nil else {
            throw Failure("\(target) carries no reachability scan (a plain snapshot); scan the traced process with `swiftleak leaks PID`")
        }
        return snapshot
    }

    static func snapshotPath(_ target: String) throws -> String {
        guard let pid = Int32(target), pid > 0 else { return target }
        guard case .ok? = try? ControlClient.send(.status, toTarget: pid, timeout: 5) else {
            throw Failure("no swiftleak session is attached to pid \(pid): run `swiftleak attach \(pid)` first (blocks allocated before the attach are unknown, so a scan without a session cannot prove anything)")
        }
        return try ControlClient.request(.scan, toTarget: pid)
    }
}
