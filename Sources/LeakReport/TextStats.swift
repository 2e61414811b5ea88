import LeakModel

extension TextReport {
    /// `swiftleak stats SNAPSHOT`: who, when and the aggregator's counters,
    /// one aligned "name  value" line each. Lost events are highlighted
    /// (and explained) when non-zero, because they make every number approximate.
    public static func stats(snapshot: Snapshot, useColor: Bool = false) -> String {
        let style = Style(enabled: useColor)
        let m = snapshot.metadata
        let blocks = { (n: UInt64) in "\(n) \(plural(n, "block"))" }
        let rows: [(String, String)] = [
            ("snapshot", "\(m.sequence)\(m.isFinal ? " (final)" : "")"),
            ("pid", String(m.pid)),
            ("command", m.command.isEmpty ? "unknown" : FrameText.command(m.command)),
            ("time", TimeFormat.readable(m.timeNanoseconds)),
            ("traced for", tracedFor(m)),
            ("mode", m.mode.rawValue),
            ("frames depth", String(m.framesDepth)),
            ("current", "\(SizeFormat.human(m.currentBytes)) in \(blocks(m.currentBlocks))"),
            ("peak", "\(SizeFormat.human(m.peakBytes)) in \(blocks(m.peakBlocks))"),
            ("allocations", String(m.allocations)),
            ("frees", String(m.frees)),
            ("unknown frees", String(m.unknownFrees)),
            ("lost events", String(m.lostEvents)),
            ("sites", String(snapshot.liveSites.count)),
            ("ages", snapshot.hasAges ? "recorded" : "not recorded"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        var lines = rows.map { name, value -> String in
            let label = name + ":" + String(repeating: " ", count: width - name.count)
            return name == "lost events" && m.lostEvents > 0 ? style.yellow("\(label)  \(value)") : "\(label)  \(value)"
        }
        lines += warnings(m, style: style)
        lines += EstimatedFigures.lines([snapshot])
        return lines.joined(separator: "\n") + "\n"
    }

    /// "2h, since 2024-05-01 10:00:00 UTC": how long tracing had run at the
    /// snapshot; just the start when the wall clock stepped back in between.
    static func tracedFor(_ m: SnapshotMetadata) -> String {
        let since = "since " + TimeFormat.readable(m.startNanoseconds)
        guard m.timeNanoseconds >= m.startNanoseconds else { return since }
        return DurationText.human(seconds: Double(m.timeNanoseconds - m.startNanoseconds) / 1e9) + ", " + since
    }
}
