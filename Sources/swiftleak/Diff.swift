import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak diff OLD NEW`: tracemalloc's Snapshot.compare_to.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what grew between two snapshots, biggest change first.",
        discussion: """
        For each group: size and count in NEW, and their change since OLD
        (size_diff, count_diff), sorted by the absolute size change.

        Example:
          swiftleak diff snaps/<first> snaps/<second> --group-by traceback
        """
    )

    @Argument(help: ArgumentHelp("The earlier snapshot.", valueName: "old"))
    var old: String

    @Argument(help: ArgumentHelp("The later snapshot.", valueName: "new"))
    var new: String

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let before = try SnapshotLoader.load(old)
        let after = try SnapshotLoader.load(new)
        try analysis.requireTypes(before, path: old)
        try analysis.requireTypes(after, path: new)
        if before.metadata.pid != after.metadata.pid {
            Console.warning("the snapshots come from different processes (pid \(before.metadata.pid) and \(after.metadata.pid))")
        }
        if analysis.olderThan != nil && !after.hasAges {
            Console.warning("this snapshot has no block ages (written by an older swiftleak); --older-than counts nothing")
        }
        let diffs = Comparison.compute(new: after, old: before, groupBy: analysis.groupBy, options: analysis.options)
        let limit = analysis.limit == 0 ? nil : analysis.limit
        var out = StandardOutput()
        switch analysis.format {
        case .json:
            JSONReport.writeDiff(old: before, new: after, diffs: diffs, groupBy: analysis.groupBy, limit: limit, to: &out)
            out.write("\n")
        case .text:
            TextReport.writeDiff(old: before, new: after, diffs: diffs, groupBy: analysis.groupBy, limit: limit,
                                 useColor: analysis.useColor, to: &out)
        }
        out.flush()
    }
}
