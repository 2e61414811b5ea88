import LeakModel

extension TextReport {
    /// `swiftleak trend`: one row per group, leaks first: kind, slopes, R²,
    /// then the location; under it the live sizes across the series and, for
    /// tracebacks, the other frames. `snapshots` (the series) only mark estimates.
    public static func trend(_ trends: [SiteTrend], groupBy: GroupBy = .traceback, limit: Int? = nil, useColor: Bool = false,
                             snapshots: [Snapshot] = []) -> String {
        let style = Style(enabled: useColor)
        guard !trends.isEmpty else { return "no live memory in any snapshot\n" }
        let shown = trends.prefix(max(limit ?? trends.count, 0))
        var lines: [String] = []
        let count = trends[0].points.count
        lines.append(style.bold("\(count) \(plural(count, "snapshot")), \(trends.count) \(plural(trends.count, "group"))"))
        lines += EstimatedFigures.lines(snapshots)
        var table = Table(titles: ["kind", "bytes/snap", "blocks/snap", "R²"], location: FrameText.title(groupBy))
        for t in shown {
            // Leaks in red like growth in diffs; the rest plain.
            let kind = Cell(t.kind.rawValue, delta: t.kind == .steadyGrowth ? 1 : nil, left: true)
            table.add([
                kind,
                Cell(signedSize(t.slopeBytesPerSnapshot)),
                Cell(signedDecimal(t.slopeBlocksPerSnapshot)),
                Cell(fixed(t.rSquared, digits: 2)),
            ], traceback: t.traceback, groupBy: groupBy,
            extra: ["sizes: " + t.sizes.map(SizeFormat.human).joined(separator: " → ")])
        }
        lines += table.render(style: style)
        let rest = trends.count - shown.count
        if rest > 0 { lines.append("\(rest) other \(plural(rest, "group"))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "+1.5 KiB", "-512 B" for a fractional slope.
    static func signedSize(_ bytes: Double) -> String {
        let magnitude = bytes.magnitude.isFinite ? UInt64(min(bytes.magnitude.rounded(), 1.8e19)) : 0
        return (bytes < 0 && magnitude > 0 ? "-" : "+") + SizeFormat.human(magnitude)
    }

    /// "+2.5", "-1.0", "+0.0"
    static func signedDecimal(_ value: Double) -> String {
        (value < 0 && fixed(value.magnitude, digits: 1) != "0.0" ? "-" : "+") + fixed(value.magnitude, digits: 1)
    }

    /// A non-negative value with `digits` decimals, without Foundation.
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "?" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = UInt64(min((value.magnitude * scale).rounded(), 1.8e19))
        let whole = scaled / UInt64(scale)
        let frac = String(scaled % UInt64(scale))
        guard digits > 0 else { return String(whole) }
        return "\(value < 0 ? "-" : "")\(whole).\(String(repeating: "0", count: digits - frac.count))\(frac)"
    }
}
