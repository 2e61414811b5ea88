import ArgumentParser
import Glibc
import LeakCollector
import LeakModel
import LeakProc
import LeakReport

/// `swiftleak report SNAP [OLD] -o FILE`, `swiftleak report DIR -o FILE`:
/// one self-contained HTML page to explore live memory, growth or a series.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one self-contained HTML report (flame graph, table, counters; a plot over time for a series).",
        discussion: """
        One snapshot: its live memory. Two: what grew from the earlier to the
        later (by snapshot time, in either order). Three or more: a series,
        the growth from first to last plus each top site's live bytes over
        time with trend's classification. A directory stands for its
        snapshots. The page opens offline: script, style and data are inline
        and it fetches nothing. Open it as report.html#search=TEXT&raw=1 to
        start searching, or with allocator frames shown.

        Examples:
          swiftleak report snaps/<second> snaps/<first> -o report.html
          swiftleak report snaps/ -o report.html
        """
    )

    @Argument(help: ArgumentHelp("One snapshot, two (growth), more, or a directory of them (a series).", valueName: "snapshot"))
    var paths: [String]

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var output: String

    @Option(name: .customLong("group-by"), help: ArgumentHelp("Group the table and the series by lineno, function, filename, module or traceback.", valueName: "key"))
    var groupBy: GroupBy = .lineno

    @Option(help: ArgumentHelp("Table rows at most (the rest are summed in its footer).", valueName: "n"))
    var rows: Int = HTMLReport.Limits().tableRows

    @Option(name: .customLong("max-nodes"), help: ArgumentHelp("Flame graph nodes at most; smaller subtrees merge into 'other' nodes.", valueName: "n"))
    var maxNodes: Int = HTMLReport.Limits().flameNodes

    func validate() throws {
        guard rows >= 1 else { throw ValidationError("--rows must be 1 or more") }
        guard maxNodes >= 10 else { throw ValidationError("--max-nodes must be 10 or more") }
        if groupBy == .type { throw ValidationError("the report groups by code location; for types use `swiftleak types` or `top --group-by type`") }
    }

    func run() throws {
        let files = try SnapshotLoader.expand(paths)
        guard !files.isEmpty else { throw Failure("no *.swleak snapshot in \(paths.joined(separator: " ")); pass snapshot files or a directory holding them") }
        let snapshots = try files.map(SnapshotLoader.load)
        if Set(snapshots.map(\.metadata.pid)).count > 1 {
            Console.warning("the snapshots come from different processes (pids \(Set(snapshots.map(\.metadata.pid)).sorted().map(String.init).joined(separator: ", ")))")
        }
        let limits = HTMLReport.Limits(flameNodes: maxNodes, tableRows: rows)
        let html: String
        switch snapshots.count {
        case 1:
            html = HTMLReport.live(snapshots[0], groupBy: groupBy, limits: limits)
        case 2:
            let ordered = snapshots.sorted { ($0.metadata.timeNanoseconds, $0.metadata.sequence) < ($1.metadata.timeNanoseconds, $1.metadata.sequence) }
            html = HTMLReport.growth(old: ordered[0], new: ordered[1], groupBy: groupBy, limits: limits)
        default:
            html = HTMLReport.series(snapshots, groupBy: groupBy, limits: limits)
        }
        try write(Array(html.utf8), to: output)
        Console.note("report written: \(output) (\(html.utf8.count) bytes)")
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        let fd = retryingInterrupted { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw Failure("cannot write \(path): \(Errno.current); pass -o with a path in a writable directory") }
        defer { close(fd) }
        do {
            try writeAll(fd: fd, bytes)
        } catch {
            unlink(path)  // no half page left behind
            throw Failure("cannot write \(path): \(error)")
        }
    }
}
