import LeakModel

/// Human-readable reports: a header about the snapshot, then one aligned
/// row per group, biggest first.
public enum TextReport {
    /// `snapshot`'s statistics; only the first `limit` rows (all when nil)
    /// are listed, the rest are summed in a footer.
    public static func top(snapshot: Snapshot, stats: [Statistic], groupBy: GroupBy, limit: Int? = nil, useColor: Bool = false) -> String {
        var out = ""
        writeTop(snapshot: snapshot, stats: stats, groupBy: groupBy, limit: limit, useColor: useColor, to: &out)
        return out
    }

    /// `top`, written to `out` line by line.
    public static func writeTop<Output: TextOutputStream>(snapshot: Snapshot, stats: [Statistic], groupBy: GroupBy, limit: Int? = nil,
                                                          useColor: Bool = false, to out: inout Output) {
        let style = Style(enabled: useColor)
        out.write(style.bold(header(snapshot.metadata)) + "\n")
        for line in warnings(snapshot.metadata, style: style) { out.write(line + "\n") }
        for line in EstimatedFigures.lines([snapshot]) { out.write(line + "\n") }
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        if stats.isEmpty {
            out.write("no live memory\n")
            return
        }
        // The column only when the collector recorded ages: no column of dashes otherwise.
        let showAges = shown.contains { $0.oldestAgeSeconds != nil }
        var table = Table(titles: ["size", "count"] + (showAges ? ["oldest"] : []), location: FrameText.title(groupBy))
        for stat in shown {
            table.add([Cell(SizeFormat.human(stat.size)), Cell(String(stat.count))] + (showAges ? [ageCell(stat.oldestAgeSeconds)] : []),
                      frames: stat.frames, groupBy: groupBy)
        }
        table.write(style: style, to: &out)
        let rest = stats.dropFirst(shown.count)
        if !rest.isEmpty {
            let size = rest.reduce(UInt64(0)) { $0 &+ $1.size }
            let count = rest.reduce(UInt64(0)) { $0 &+ $1.count }
            out.write("\(rest.count) other \(plural(rest.count, "group")): \(SizeFormat.human(size)) in \(count) \(plural(count, "block"))\n")
        }
    }

    /// Changes from `old` to `new`, biggest change first.
    public static func diff(old: Snapshot, new: Snapshot, diffs: [StatisticDiff], groupBy: GroupBy, limit: Int? = nil, useColor: Bool = false) -> String {
        var out = ""
        writeDiff(old: old, new: new, diffs: diffs, groupBy: groupBy, limit: limit, useColor: useColor, to: &out)
        return out
    }

    /// `diff`, written to `out` line by line.
    public static func writeDiff<Output: TextOutputStream>(old: Snapshot, new: Snapshot, diffs: [StatisticDiff], groupBy: GroupBy,
                                                           limit: Int? = nil, useColor: Bool = false, to out: inout Output) {
        let style = Style(enabled: useColor)
        var lines = [style.bold("new: " + header(new.metadata)), "old: " + header(old.metadata)]
        lines += warnings(new.metadata, style: style)
        lines += warnings(old.metadata, style: style)
        lines += EstimatedFigures.lines([new, old])
        for line in lines { out.write(line + "\n") }
        if diffs.isEmpty {
            out.write("no live memory in either snapshot\n")
            return
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
            ] + (showAges ? [ageCell(d.oldestAgeSeconds)] : []), frames: d.frames, groupBy: groupBy)
        }
        table.write(style: style, to: &out)
        let rest = diffs.dropFirst(shown.count)
        if !rest.isEmpty {
            let size = rest.reduce(UInt64(0)) { $0 &+ $1.size }
            let sizeDiff = rest.reduce(Int64(0)) { $0 &+ $1.sizeDiff }
            let count = rest.reduce(UInt64(0)) { $0 &+ $1.count }
            let countDiff = rest.reduce(Int64(0)) { $0 &+ $1.countDiff }
            out.write("\(rest.count) other \(plural(rest.count, "group")): \(SizeFormat.human(size)) (\(SizeFormat.human(signed: sizeDiff))) in \(count) \(plural(count, "block")) (\(signed(countDiff)))\n")
        }
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
/// traceback frames go on their own lines under the location. Rows keep
/// their frames as indices; each distinct frame is described once, when
/// the table is written.
struct Table {
    let titles: [String]
    let location: String
    private var rows: [(cells: [Cell], frames: TracebackFrames, groupBy: GroupBy, extra: [String])] = []

    init(titles: [String], location: String) {
        self.titles = titles
        self.location = location
    }

    /// `extra` lines (e.g. a trend's series) go under the row, after the
    /// traceback's other frames so those stay together.
    mutating func add(_ cells: [Cell], traceback: [Frame], groupBy: GroupBy, extra: [String] = []) {
        add(cells, frames: TracebackFrames(traceback), groupBy: groupBy, extra: extra)
    }

    mutating func add(_ cells: [Cell], frames: TracebackFrames, groupBy: GroupBy, extra: [String] = []) {
        rows.append((cells, frames, groupBy, extra))
    }

    func render(style: Style) -> [String] {
        var lines: [String] = []
        forEachLine(style: style) { indent, text in lines.append(indent + text) }
        return lines
    }

    /// Each line followed by a newline.
    func write<Output: TextOutputStream>(style: Style, to out: inout Output) {
        forEachLine(style: style) { indent, text in
            out.write(indent)
            out.write(text)
            out.write("\n")
        }
    }

    /// Each line as an indent (possibly empty) and its text, so a million
    /// frame lines need no concatenated copies.
    private func forEachLine(style: Style, _ body: (_ indent: String, _ text: String) -> Void) {
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
        body("", (heads + [location]).joined(separator: "  "))
        var described = FrameTextCache(FrameText.describe)
        var groupNames: [GroupBy: FrameTextCache] = [:]
        for row in rows {
            let cells = zip(row.cells, widths).map { cell, width -> String in
                let text = cell.left ? cell.text + String(repeating: " ", count: width - cell.text.count) : pad(cell.text, width)
                return cell.delta.map { style.delta(text, $0) } ?? text
            }
            var first = "<no frames>"
            if !row.frames.isEmpty {
                // Taken out and put back, so its storage is never shared and copied.
                var names = groupNames.removeValue(forKey: row.groupBy) ?? FrameTextCache { [groupBy = row.groupBy] in FrameText.group($0, groupBy: groupBy) }
                first = names.text(row.frames, at: 0)
                groupNames[row.groupBy] = names
            }
            body("", (cells + [first]).joined(separator: "  "))
            if row.groupBy == .traceback {
                for position in row.frames.indices.dropFirst() { body(indent, style.dim(described.text(row.frames, at: position))) }
            }
            for line in row.extra { body(indent, style.dim(line)) }
        }
    }
}
