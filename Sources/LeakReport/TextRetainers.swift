import LeakModel

extension TextReport {
    /// `swiftleak retainers`: per group of held memory, the shortest chains
    /// of pointers from named roots, identical chains counted together.
    public static func retainers(snapshot: Snapshot, groups: [RetainedGroup], groupBy: GroupBy, limit: Int? = nil,
                                 useColor: Bool = false) -> String {
        let style = Style(enabled: useColor)
        var lines = [style.bold(header(snapshot.metadata))]
        guard snapshot.reachability != nil else {
            lines.append("this snapshot carries no reachability scan; take one with `swiftleak retainers PID`")
            return lines.joined(separator: "\n") + "\n"
        }
        if groups.isEmpty { lines.append("no reachable blocks match") }
        for group in groups.prefix(max(limit ?? groups.count, 0)) {
            let site = group.traceback.first.map { FrameText.group($0, groupBy: groupBy) } ?? "<no frames>"
            lines.append(style.bold("\(grouped(group.blocks)) \(plural(group.blocks, "block")) (\(SizeFormat.human(group.bytes))) at \(site) are held through:"))
            for frame in group.traceback.dropFirst() { lines.append("    " + style.dim(FrameText.describe(frame))) }
            for chain in group.chains.prefix(max(limit ?? group.chains.count, 0)) {
                let steps = [chain.root] + chain.via.map { FrameText.describe($0) } + ["block"]
                lines.append("  \(grouped(chain.blocks)) \(plural(chain.blocks, "block")) (\(SizeFormat.human(chain.bytes))): " + steps.joined(separator: " -> "))
            }
            let rest = group.chains.dropFirst(max(limit ?? group.chains.count, 0))
            if !rest.isEmpty { lines.append("  \(rest.count) other \(plural(rest.count, "chain"))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
