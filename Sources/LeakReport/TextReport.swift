import LeakModel

/// Human-readable reports: a header about the snapshot, then one aligned
/// row per group, biggest first.
public enum TextReport {
    /// `snapshot`'s statistics; only the first `limit` rows (all when nil)
    /// are listed, the rest are summed in a footer.
    public static func top(snapshot: Snapshot, stats: [Statistic], groupBy: GroupBy, limit: Int? = nil, useColor: Bool = false) -> String {
        let style = Style(enabled: useColor)
        var lines = [style.bold(header(snapshot.metadata))]
        lines += warnings(snapshot.metadata, style: style)
        lines += EstimatedFigures.lines([snapshot])
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        if stats.isEmpty {
            lines.append("no live memory")
            return lines.joined(separator: "\n") + "\n"
        }
        // The column only when the collector recorded ages: no column of dashes otherwise.
        let showAges = shown.contains { $0.oldestAgeSeconds != nil }
        var table = Table(titles: ["size", "count"] + (showAges ? ["oldest"] : []), location: FrameText.title(groupBy))
        for stat in shown {
            table.add([Cell(SizeFormat.human(stat.size)), Cell(String(stat.count))] + (showAges ? [ageCell(stat.oldestAgeSeconds)] : []),
                      traceback: stat.traceback, groupBy: groupBy)
        }
        lines += table.render(style: style)
        let rest = stats.dropFirst(shown.count)
        if !rest.isEmpty {
            let size = rest.reduce(UInt64(0)) { $0 &+ $1.size }
            let count = rest.reduce(UInt64(0)) { $0 &+ $1.count }
            lines.append("\(rest.count) other \(plural(rest.count, "group")): \(SizeFormat.human(size)) in \(count) \(plural(count, "block"))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Changes from `old` to `new`, biggest change first.
    public static func diff(old: Snapshot, new: Snapshot, diffs: [StatisticDiff], groupBy: GroupBy, limit: Int? = nil, useColor: Bool = false) -> String {
        let style = Style(enabled: useColor)
        var lines = [style.bold("new: " + header(new.metadata)), "old: " + header(old.metadata)]
        lines += warnings(new.metadata, style: style)
        lines += warnings(old.metadata, style: style)
        lines += EstimatedFigures.lines([new, old])
        if diffs.isEmpty {
            lines.append("no live memory in either snapshot")
            return lines.joined(separator: "\n") + "\n"
        }
        let shown = diffs.prefix(max(limit ?? diffs.count, 0))
        let showAges = shown.contains { $0.oldestAgeSeconds != nil }
        var table = Table(titles: ["size", "size diff", "count", "count diff"] + (showAges ? ["oldest"] : []), location: FrameText.title(groupBy))
        for d in shown {
            table.add([
                Cell(SizeFormat.human(d.size)),
                Cell(SizeFormat.human(signed: d.sizeDiff), delta: d.sizeDiff),
                Cell(String(d.count)),
                Cell(signed(d.countDiff), delta: d.countDiff),
            ] + (showAges ? [ageCell(d.oldestAgeSeconds)] : []), traceback: d.traceback, groupBy: groupBy)
        }
        lines += table.render(style: style)
        let rest = diffs.dropFirst(shown.count)
        if !rest.isEmpty {
            let size = rest.reduce(UInt64(0)) { $0 &+ $1.size }
            let sizeDiff = rest.reduce(Int64(0)) { $0 &+ $1.sizeDiff }
            let count = rest.reduce(UInt64(0)) { $0 &+ $1.count }
            let countDiff = rest.reduce(Int64(0)) { $0 &+ $1.countDiff }
            lines.append("\(rest.count) other \(plural(rest.count, "group")): \(SizeFormat.human(size)) (\(SizeFormat.human(signed: sizeDiff))) in \(count) \(plural(count, "block")) (\(signed(countDiff)))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "snapshot 2 of pid 1234 (./server --port 80) at 2024-05-01 12:00:00 UTC: current 1.5 MiB in 12 blocks, peak 2.0 MiB in 20 blocks"
    static func header(_ m: SnapshotMetadata) -> String {
        let what = "snapshot \(m.sequence)\(m.isFinal ? " (final)" : "")"
        let who = m.mode == .attach ? "attached pid \(m.pid)" : "pid \(m.pid)"
        let command = m.command.isEmpty ? "" : " (\(FrameText.command(m.command)))"
        return "\(what) of \(who)\(command) at \(TimeFormat.readable(m.timeNanoseconds)): "
            + "current \(SizeFormat.human(m.currentBytes)) in \(m.currentBlocks) \(plural(m.currentBlocks, "block")), "
            + "peak \(SizeFormat.human(m.peakBytes)) in \(m.peakBlocks) \(plural(m.peakBlocks, "block"))"
    }

    static func warnings(_ m: SnapshotMetadata, style: Style) -> [String] {
        guard m.lostEvents > 0 else { return [] }
        return [style.yellow("warning: snapshot \(m.sequence) lost \(m.lostEvents) \(plural(m.lostEvents, "event")); sizes and counts are approximate")]
    }

    /// "3s", "12m", "2h"; "-" when this group's age is unknown.
    static func ageCell(_ seconds: Double?) -> Cell {
        Cell(seconds.map { DurationText.human(seconds: $0) } ?? "-")
    }

    static func signed(_ n: Int64) -> String { n < 0 ? String(n) : "+\(n)" }

    static func plural<N: BinaryInteger>(_ n: N, _ word: String) -> String { n == 1 ? word : word + "s" }
}

/// One cell, right-aligned (numbers) unless `left` (words such as a trend's
/// kind); `delta` picks its colour in diffs.
struct Cell {
    var text: String
    var delta: Int64?
    var left: Bool
    init(_ text: String, delta: Int64? = nil, left: Bool = false) {
        self.text = text
        self.delta = delta
        self.left = left
    }
}

/// Right-aligned number columns, then a left-aligned location column;
/// traceback frames go on their own lines under the location.
struct Table {
    let titles: [String]
    let location: String
    private var rows: [(cells: [Cell], location: String, more: [String])] = []

    init(titles: [String], location: String) {
        self.titles = titles
        self.location = location
    }

    /// `extra` lines (e.g. a trend's series) go under the row, after the
    /// traceback's other frames so those stay together.
    mutating func add(_ cells: [Cell], traceback: [Frame], groupBy: GroupBy, extra: [String] = []) {
        let first = traceback.first.map { FrameText.group($0, groupBy: groupBy) } ?? "<no frames>"
        let more = groupBy == .traceback ? traceback.dropFirst().map(FrameText.describe) : []
        rows.append((cells, first, more + extra))
    }

    func render(style: Style) -> [String] {
        // Widths come from the plain text, before colour codes are added.
        var widths = titles.map(\.count)
        for row in rows {
            for (i, cell) in row.cells.enumerated() { widths[i] = max(widths[i], cell.text.count) }
        }
        func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: width - s.count) + s }
        let indent = String(repeating: " ", count: widths.reduce(0, +) + 2 * widths.count + 2)

        // A column's title aligns like its cells.
        let left = titles.indices.map { i in rows.first.map { $0.cells.indices.contains(i) && $0.cells[i].left } ?? false }
        let heads = titles.indices.map { i in
            left[i] ? titles[i] + String(repeating: " ", count: widths[i] - titles[i].count) : pad(titles[i], widths[i])
        }
        var lines = [(heads + [location]).joined(separator: "  ")]
        for row in rows {
            let cells = zip(row.cells, widths).map { cell, width -> String in
                let text = cell.left ? cell.text + String(repeating: " ", count: width - cell.text.count) : pad(cell.text, width)
                return cell.delta.map { style.delta(text, $0) } ?? text
            }
            lines.append((cells + [row.location]).joined(separator: "  "))
            lines += row.more.map { indent + style.dim($0) }
        }
        return lines
    }
}
