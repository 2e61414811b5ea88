import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak trend SNAP...|DIR`: which sites grow steadily across a series.
struct Trend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank sites whose live memory grows across a series of snapshots, telling a leak from a warming cache.",
        discussion: """
        Each site's live bytes are fitted over the series: steady growth with a
        good fit (R^2) is a leak; growth that stopped is a plateau (a cache
        warming up); up and down without a trend is churn.

        Examples:
          swiftleak trend snaps/                          every snapshot in the directory, by time
          swiftleak trend a.swleak b.swleak c.swleak --group-by function
        """
    )

    @Argument(help: ArgumentHelp("Snapshot files, or one directory of them (at least 3 snapshots).", valueName: "snapshot"))
    var paths: [String]

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let files = try SnapshotLoader.expand(paths)
        guard files.count >= 3 else {
            throw Failure("a trend needs at least 3 snapshots, got \(files.count); take more (e.g. run/attach --every 30s)")
        }
        let snapshots = try files.map(SnapshotLoader.load)
        for (file, snapshot) in zip(files, snapshots) { try analysis.requireTypes(snapshot, path: file) }
        let groupBy = analysis.groupBy
        let trends = TrendAnalysis.analyze(snapshots, groupBy: groupBy, options: analysis.options)
        let limit = analysis.limit == 0 ? nil : analysis.limit
        switch analysis.format {
        case .json: Console.output(JSONReport.trend(trends, groupBy: groupBy, limit: limit, snapshots: snapshots) + "\n")
        case .text: Console.output(TextReport.trend(trends, groupBy: groupBy, limit: limit, useColor: analysis.useColor, snapshots: snapshots))
        }
    }
}
