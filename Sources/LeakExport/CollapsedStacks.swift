import LeakModel

/// Brendan Gregg's collapsed stacks, as heaptrack_print -F writes them: one
/// `outer;...;inner VALUE` line per stack. With an old snapshot, each line
/// carries both values (`stack OLD NEW`), the form flamegraph.pl draws as a
/// differential flame graph.
public enum CollapsedStacks {
    public static func encode(_ snapshot: Snapshot, old: Snapshot? = nil, kind: SampleKind = .inuseSpace, raw: Bool = false) -> String {
        let new = StackValues(snapshot, kind: kind, raw: raw)
        var out = ""
        guard let old else {
            for (frames, value) in zip(new.stacks, new.values) where value != 0 {
                out += line(frames) + " \(value)\n"
            }
            return out
        }
        let before = StackValues(old, kind: kind, raw: raw)
        for (frames, value) in zip(new.stacks, new.values) {
            let previous = before.value(of: frames)
            if value != 0 || previous != 0 { out += line(frames) + " \(previous) \(value)\n" }
        }
        for (frames, value) in zip(before.stacks, before.values) where value != 0 && new.value(of: frames) == 0 {
            out += line(frames) + " \(value) 0\n"
        }
        return out
    }

    /// `;` separates frames and the last space the value: neither may appear in a name.
    static func line(_ frames: [Frame]) -> String {
        frames.map { String(StackValues.name($0).map { $0 == ";" ? ":" : $0 }) }.joined(separator: ";")
    }
}
