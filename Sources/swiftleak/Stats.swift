import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak stats SNAPSHOT`: totals and counters (tracemalloc's get_traced_memory and more).
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a snapshot's totals and counters: current and peak, allocations, frees, lost events.",
        discussion: "Example:\n  swiftleak stats snaps/20261123T130501.042Z-0002.swleak --format json"
    )

    @Argument(help: ArgumentHelp("A snapshot file.", valueName: "snapshot"))
    var snapshot: String

    @Option(help: ArgumentHelp("text or json.", valueName: "format"))
    var format: OutputFormat = .text

    func run() throws {
        let loaded = try SnapshotLoader.load(snapshot)
        switch format {
        case .json: Console.output(JSONReport.stats(snapshot: loaded) + "\n")
        case .text: Console.output(TextReport.stats(snapshot: loaded, useColor: AnalysisArguments.terminalWantsColor))
        }
    }
}
