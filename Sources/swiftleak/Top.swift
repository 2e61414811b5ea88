import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak top SNAPSHOT`: tracemalloc's Snapshot.statistics.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the biggest live allocation sites of a snapshot.",
        discussion: """
        Frame 0 of each traceback is the first frame outside the allocator
        (malloc & co, operator new, Swift's allocation entry points, the agent);
        --raw shows them.

        Examples:
          swiftleak top snaps/20261123T130501.042Z-0002.swleak
          swiftleak top snap.swleak --group-by traceback --limit 3
          swiftleak top snap.swleak --exclude 'module:*libstdc++*' --format json
        """
    )

    @Argument(help: ArgumentHelp("A snapshot file.", valueName: "snapshot"))
    var snapshot: String

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let loaded = try SnapshotLoader.load(snapshot)
        try analysis.requireTypes(loaded, path: snapshot)
        if analysis.olderThan != nil && !loaded.hasAges {
            Console.warning("this snapshot has no block ages (written by an older swiftleak); --older-than counts nothing")
        }
        let stats = Statistics.compute(loaded, groupBy: analysis.groupBy, options: analysis.options)
        let limit = analysis.limit == 0 ? nil : analysis.limit
        var out = StandardOutput()
        switch analysis.format {
        case .json:
            JSONReport.writeTop(snapshot: loaded, stats: stats, groupBy: analysis.groupBy, limit: limit, to: &out)
            out.write("\n")
        case .text:
            TextReport.writeTop(snapshot: loaded, stats: stats, groupBy: analysis.groupBy, limit: limit, useColor: analysis.useColor, to: &out)
        }
        out.flush()
    }
}
