import ArgumentParser
import Glibc
import LeakModel

/// Output format of the analysis commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension GroupBy: ExpressibleByArgument {
    // With six values ArgumentParser would list them one per line in a
    // usage error; the option's help line, printed with it, names them all.
    public static var allValueStrings: [String] { [] }
    public static var defaultCompletionKind: CompletionKind { .list(allCases.map(\.rawValue)) }
}

/// Options shared by `top` and `diff`: grouping, filtering, output.
struct AnalysisArguments: ParsableArguments {
    @Option(name: .customLong("group-by"), help: ArgumentHelp("Group live memory by lineno, function, filename, module, traceback or type (snapshots of `swiftleak types`).", valueName: "key"))
    var groupBy: GroupBy = .lineno

    @Option(help: ArgumentHelp("Show at most N groups (0: all).", valueName: "n"))
    var limit: Int = 10

    @Option(help: ArgumentHelp("text or json.", valueName: "format"))
    var format: OutputFormat = .text

    @Option(help: ArgumentHelp("Keep only traces whose frame 0 matches: [file:|function:|module:]GLOB (repeatable; file is the default field).", valueName: "pattern"),
            transform: { try AnalysisArguments.filter($0, inclusive: true) })
    var include: [TraceFilter] = []

    @Option(help: ArgumentHelp("Drop traces whose frame 0 matches: [file:|function:|module:]GLOB (repeatable).", valueName: "pattern"),
            transform: { try AnalysisArguments.filter($0, inclusive: false) })
    var exclude: [TraceFilter] = []

    @Flag(help: "Count each group for every frame of the traceback, not only frame 0 (tracemalloc's cumulative=True).")
    var cumulative = false

    @Option(name: .customLong("older-than"), help: ArgumentHelp("Count only blocks that have been live at least DURATION (e.g. 10m): old memory that keeps growing is the leak, young memory is churn. Ages are kept in buckets (1s 5s 10s 30s 1m 5m 10m 30m 1h 6h 1d); other values round up to the next bucket.", valueName: "duration"),
            transform: DurationArgument.parse)
    var olderThan: Double?

    @Flag(help: "Keep allocator frames (malloc, operator new, swift_allocObject, the agent) at the top of tracebacks.")
    var raw = false

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or more") }
        if cumulative && groupBy == .traceback {
            throw ValidationError("--cumulative applies to lineno, function, filename and module grouping, not traceback")
        }
        if groupBy == .type && (cumulative || olderThan != nil) {
            throw ValidationError("--group-by type counts every live block by type; it does not combine with --cumulative or --older-than")
        }
    }

    /// Grouping by type needs the types a `swiftleak types` snapshot carries.
    func requireTypes(_ snapshot: Snapshot, path: String) throws {
        if groupBy == .type && !snapshot.hasBlockTypes {
            throw Failure("\(path) has no block types; write a snapshot with them by `swiftleak types PID` while attached")
        }
    }

    var options: AnalysisOptions {
        AnalysisOptions(raw: raw, filters: include + exclude, cumulative: cumulative, olderThanSeconds: olderThan)
    }

    var useColor: Bool {
        format == .text && Self.terminalWantsColor
    }

    /// Colour only on a terminal, and not when NO_COLOR is set or TERM is dumb.
    static var terminalWantsColor: Bool {
        guard isatty(1) == 1, getenv("NO_COLOR") == nil, let term = getenv("TERM") else { return false }
        return String(cString: term) != "dumb"
    }

    @Sendable static func filter(_ pattern: String, inclusive: Bool) throws -> TraceFilter {
        let fields: [(String, TraceFilter.Field)] = [("file:", .file), ("function:", .function), ("module:", .module)]
        for (prefix, field) in fields where pattern.hasPrefix(prefix) {
            let glob = String(pattern.dropFirst(prefix.count))
            guard !glob.isEmpty else { throw ValidationError("empty pattern in \(pattern); write e.g. \(prefix)*name*") }
            return TraceFilter(inclusive: inclusive, field: field, pattern: glob)
        }
        guard !pattern.isEmpty else { throw ValidationError("empty filter pattern") }
        return TraceFilter(inclusive: inclusive, field: .file, pattern: pattern)
    }
}
