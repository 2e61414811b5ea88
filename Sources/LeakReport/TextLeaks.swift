import LeakModel

extension TextReport {
    /// `swiftleak leaks`: what the scan proved unreachable, leaked cycles
    /// first, then unreachable memory grouped like `top`.
    public static func leaks(snapshot: Snapshot, stats: [UnreachableStatistic], cycles: [CycleGroup], groupBy: GroupBy,
                             limit: Int? = nil, useColor: Bool = false) -> String {
        let style = Style(enabled: useColor)
        var lines = [style.bold(header(snapshot.metadata))]
        lines += warnings(snapshot.metadata, style: style)
        guard let scan = snapshot.reachability else {
            lines.append("this snapshot carries no reachability scan; take one with `swiftleak leaks PID`")
            return lines.joined(separator: "\n") + "\n"
        }
        lines.append("scanned \(grouped(scan.knownBlocks)) known \(plural(scan.knownBlocks, "block")) in \(SizeFormat.human(scan.copiedBytes)) copied from \(scan.threads) \(plural(scan.threads, "thread")); the target was paused \(milliseconds(scan.pauseSeconds)), the scan took \(milliseconds(scan.totalSeconds))")
        let blocks = UInt64(scan.unreachable.count)
        let bytes = scan.unreachable.reduce(UInt64(0)) { $0 + $1.size }
        guard blocks > 0 else {
            lines.append("no unreachable blocks: every known block is reachable from a root")
            lines.append("reachable and still growing: see `swiftleak diff`, and `swiftleak retainers` for what holds it")
            return lines.joined(separator: "\n") + "\n"
        }
        let direct = UInt64(scan.unreachable.filter(\.isDirect).count)
        let cycleCount = Set(scan.unreachable.compactMap(\.cycle)).count
        var summary = "\(grouped(blocks)) \(plural(blocks, "block")) (\(SizeFormat.human(bytes))) unreachable: \(grouped(direct)) direct, \(grouped(blocks - direct)) indirect"
        if cycleCount > 0 { summary += ", in \(grouped(UInt64(cycleCount))) \(plural(cycleCount, "cycle"))" }
        lines.append(style.bold(summary))
        for cycle in cycles.prefix(max(limit ?? cycles.count, 0)) {
            var line = "ROOT CYCLE x\(grouped(cycle.instances))  " + cycle.memberNames.joined(separator: " <-> ")
            if cycle.ownedBlocksEach > 0 {
                line += "   (+ \(cycle.ownedBlocksEach) \(plural(cycle.ownedBlocksEach, "block")) each)"
            }
            line += "   \(SizeFormat.human(cycle.bytes)) in \(grouped(cycle.blocks)) \(plural(cycle.blocks, "block"))"
            lines.append(line)
            for frame in Set(cycle.memberFrames).sorted(by: { FrameText.describe($0) < FrameText.describe($1) }) {
                lines.append("    allocated at " + FrameText.describe(frame))
            }
        }
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        var table = Table(titles: ["size", "count", "direct", "indirect"], location: FrameText.title(groupBy))
        for stat in shown {
            table.add([Cell(SizeFormat.human(stat.size)), Cell(String(stat.count)), Cell(String(stat.directCount)),
                       Cell(String(stat.indirectCount))], traceback: stat.traceback, groupBy: groupBy)
        }
        lines += table.render(style: style)
        if let others = otherGroups(stats.dropFirst(shown.count).map { ($0.size, $0.count) }) { lines.append(others) }
        lines.append("reachable and still growing: see `swiftleak diff`, and `swiftleak retainers` for what holds it")
        return lines.joined(separator: "\n") + "\n"
    }

    /// "3 other groups: 1.2 KiB in 7 blocks" for the groups past --limit; nil when none.
    /// (`top` writes the same line; one helper for both once the streaming `top` has landed.)
    static func otherGroups(_ rest: [(size: UInt64, count: UInt64)]) -> String? {
        guard !rest.isEmpty else { return nil }
        let size = rest.reduce(UInt64(0)) { $0 &+ $1.size }
        let count = rest.reduce(UInt64(0)) { $0 &+ $1.count }
        return "\(rest.count) other \(plural(rest.count, "group")): \(SizeFormat.human(size)) in \(count) \(plural(count, "block"))"
    }

    /// "12.3 ms"
    static func milliseconds(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10) ms"
    }

    /// 12,345
    static func grouped(_ n: UInt64) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}
