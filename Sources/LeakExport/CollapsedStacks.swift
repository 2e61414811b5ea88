import LeakModel

/// Brendan Gregg's collapsed stacks, as heaptrack_print -F writes them: one
/// `outer;...;inner VALUE` line per stack. With an old snapshot, each line
/// carries both values (`stack OLD NEW`), the form flamegraph.pl draws as a
/// differential flame graph.
public enum CollapsedStacks {
    public static func encode(_ snapshot: Snapshot, old: Snapshot? = nil, kind: SampleKind = .inuseSpace, raw: Bool = false) -> [UInt8] {
        var table = FrameTable(byLine: false)
        let new = StackValues(snapshot, kind: kind, raw: raw, table: &table)
        let before = old.map { StackValues($0, kind: kind, raw: raw, table: &table) }
        // `;` separates frames and the last space the value: no `;` in a name.
        let names = table.names.map { Array(String($0.map { $0 == ";" ? ":" : $0 }).utf8) }
        var out: [UInt8] = []
        func line(_ path: [Int], _ values: Int64...) {
            for (i, id) in path.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ";")) }
                out += names[id]
            }
            for value in values {
                out.append(UInt8(ascii: " "))
                out += Array(String(value).utf8)
            }
            out.append(UInt8(ascii: "\n"))
        }
        guard let before else {
            for (path, value) in zip(new.stacks, new.values) where value != 0 { line(path, value) }
            return out
        }
        for (path, value) in zip(new.stacks, new.values) {
            let previous = before.value(of: path)
            if value != 0 || previous != 0 { line(path, previous, value) }
        }
        for (path, value) in zip(before.stacks, before.values) where value != 0 && new.value(of: path) == 0 {
            line(path, value, 0)
        }
        return out
    }
}
