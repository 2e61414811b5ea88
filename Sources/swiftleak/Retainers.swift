import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak retainers PID|SNAPSHOT`: why reachable memory is still alive.
struct RetainersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retainers",
        abstract: "Show the shortest chains of pointers from roots that keep a site's blocks alive.",
        discussion: """
        Scans like `swiftleak leaks` (or reads a snapshot a scan wrote), then
        prints, for each group of reachable blocks (grouped like `top`), the
        shortest chains from a root: a module's global data, a thread's stack
        or registers, or memory the tracer does not know (blocks allocated
        before the attach); a run of blocks of one site (a list) is one step.
        Pick the growing site with --include, as `top` filters.

        Examples:
          swiftleak retainers 4242 --include 'function:cache_put'
          swiftleak retainers snap.swleak --group-by function --format json
        """
    )

    @Argument(help: ArgumentHelp("A traced process's pid, or a snapshot written by a scan.", valueName: "pid|snapshot"))
    var target: String

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let loaded = try ScanTarget.load(target)
        let groups = Retainers.groups(loaded, groupBy: analysis.groupBy, options: analysis.options)
        let limit = analysis.limit == 0 ? nil : analysis.limit
        switch analysis.format {
        case .json:
            Console.output(JSONReport.retainers(snapshot: loaded, groups: groups, groupBy: analysis.groupBy, limit: limit) + "\n")
        case .text:
            Console.output(TextReport.retainers(snapshot: loaded, groups: groups, groupBy: analysis.groupBy, limit: limit,
                                                useColor: analysis.useColor))
        }
    }
}
