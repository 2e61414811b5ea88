import ArgumentParser
import LeakCollector
import LeakModel
import LeakReport

/// `swiftleak types PID|SNAPSHOT [NEW]`: live blocks by the type their
/// memory names (objgraph's show_most_common_types), or how each type grew
/// between two such snapshots (objgraph's show_growth).
struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count live blocks by type (Swift classes, C++ polymorphic classes, Python objects).",
        discussion: """
        With a pid, the attach session of that process reads the first bytes
        of every live block it knows, names the type where memory says it
        (class metadata, vtable, ob_type; "unknown" otherwise), writes a
        snapshot carrying the types and prints them. With a snapshot, prints
        its types; with two, how many blocks of each type were added.
        `top` and `diff --group-by type` read the same snapshots.

        Examples:
          swiftleak types 4242
          swiftleak types snaps/<first> snaps/<second>
        """
    )

    @Argument(help: ArgumentHelp("A pid that swiftleak is attached to, or a snapshot written by `swiftleak types`.", valueName: "pid-or-snapshot"))
    var source: String

    @Argument(help: ArgumentHelp("A later types snapshot: show the growth per type since the first.", valueName: "new"))
    var new: String?

    @Option(help: ArgumentHelp("Show at most N types (0: all).", valueName: "n"))
    var limit: Int = 20

    @Option(help: ArgumentHelp("text or json.", valueName: "format"))
    var format: OutputFormat = .text

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or more") }
        if new != nil && Int32(source) != nil {
            throw ValidationError("compare two snapshot files: `swiftleak types OLD NEW`; a pid takes no second argument")
        }
    }

    func run() throws {
        var path = source
        if let pid = Int32(source) {
            path = try ControlClient.request(.types, toTarget: pid)
            Console.note("types snapshot written: \(path)")
        }
        let first = try loadTyped(path)
        if let new {
            try showGrowth(old: first, oldPath: path, new: try loadTyped(new), newPath: new)
        } else {
            show(first, path: path)
        }
    }

    private func loadTyped(_ path: String) throws -> Snapshot {
        let snapshot = try SnapshotLoader.load(path)
        guard snapshot.hasBlockTypes else {
            throw Failure("\(path) has no block types; write a snapshot with them by `swiftleak types PID` while attached")
        }
        return snapshot
    }

    private func limited<T>(_ rows: [T]) -> ArraySlice<T> {
        limit == 0 ? rows[...] : rows.prefix(limit)
    }

    /// Most common first, as objgraph orders them: by blocks, then bytes.
    private func show(_ snapshot: Snapshot, path: String) {
        let rows = limited(Statistics.compute(snapshot, groupBy: .type).sorted {
            ($0.count, $0.size) > ($1.count, $1.size)
        })
        switch format {
        case .json:
            let types: [JSONValue] = rows.map {
                .object([("type", .string(Self.name($0.traceback))), ("count", .uint($0.count)), ("size", .uint($0.size))])
            }
            Console.output(JSONValue.object([("snapshot", .string(path)), ("pid", .int(Int64(snapshot.metadata.pid))),
                                             ("types", .array(types))]).render() + "\n")
        case .text:
            var lines = [Self.line("count", "bytes", "type")]
            lines += rows.map { Self.line(String($0.count), SizeFormat.human($0.size), Self.name($0.traceback)) }
            Console.output(lines.joined(separator: "\n") + "\n")
        }
    }

    /// Types whose block count changed, biggest growth first.
    private func showGrowth(old: Snapshot, oldPath: String, new: Snapshot, newPath: String) throws {
        let rows = limited(Comparison.compute(new: new, old: old, groupBy: .type)
            .filter { $0.countDiff != 0 || $0.sizeDiff != 0 }
            .sorted { ($0.countDiff, $0.sizeDiff) > ($1.countDiff, $1.sizeDiff) })
        switch format {
        case .json:
            let types: [JSONValue] = rows.map {
                .object([("type", .string(Self.name($0.traceback))), ("count", .uint($0.count)), ("count_diff", .int($0.countDiff)),
                         ("size", .uint($0.size)), ("size_diff", .int($0.sizeDiff))])
            }
            Console.output(JSONValue.object([("old", .string(oldPath)), ("new", .string(newPath)), ("types", .array(types))]).render() + "\n")
        case .text:
            var lines = [Self.line("count", "count diff", "bytes", "bytes diff", "type")]
            lines += rows.map {
                Self.line(String($0.count), Self.signed($0.countDiff), SizeFormat.human($0.size),
                          SizeFormat.human(signed: $0.sizeDiff), Self.name($0.traceback))
            }
            Console.output(lines.joined(separator: "\n") + "\n")
        }
    }

    private static func name(_ traceback: [Frame]) -> String {
        traceback.first?.function ?? unknownTypeName
    }

    private static func signed(_ n: Int64) -> String { n > 0 ? "+\(n)" : String(n) }

    /// Right-aligned number columns, the type last.
    private static func line(_ cells: String...) -> String {
        cells.dropLast().map { String(repeating: " ", count: max(0, 11 - $0.count)) + $0 }.joined(separator: " ")
            + "  " + cells.last!
    }
}
