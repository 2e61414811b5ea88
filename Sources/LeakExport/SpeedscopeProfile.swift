import LeakModel
import LeakReport

/// speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json):
/// one "sampled" profile whose samples are stacks (outermost frame first)
/// weighted by the chosen value. speedscope rejects negative weights, so
/// with an old snapshot there are two profiles, "grew" and "shrank", each
/// with the positive change of its stacks. A name ends in "(estimated)"
/// when a snapshot is sampled.
public enum SpeedscopeProfile {
    public static func encode(_ snapshot: Snapshot, old: Snapshot? = nil, kind: SampleKind = .inuseSpace,
                              raw: Bool = false, name: String) -> String {
        var table = FrameTable(byLine: true)
        let new = StackValues(snapshot, kind: kind, raw: raw, table: &table)
        var profiles: [JSONValue] = []
        if let old {
            let before = StackValues(old, kind: kind, raw: raw, table: &table)
            var grew: [([Int], Int64)] = [], shrank: [([Int], Int64)] = []
            for (path, value) in zip(new.stacks, new.values) {
                let change = value &- before.value(of: path)
                if change > 0 { grew.append((path, change)) } else if change < 0 { shrank.append((path, -change)) }
            }
            for (path, value) in zip(before.stacks, before.values) where value > 0 && new.value(of: path) == 0 {
                shrank.append((path, value))
            }
            profiles.append(profile("grew (\(kind.rawValue))", grew, kind: kind))
            profiles.append(profile("shrank (\(kind.rawValue))", shrank, kind: kind))
        } else {
            let weighted = zip(new.stacks, new.values).filter { $0.1 > 0 }.map { ($0.0, $0.1) }
            profiles.append(profile(kind.rawValue, weighted, kind: kind))
        }
        let frames = table.frames.enumerated().map { id, frame -> JSONValue in
            var fields: [(String, JSONValue)] = [("name", .string(table.names[id]))]
            if let file = frame.file { fields.append(("file", .string(file))) }
            if frame.line != 0 { fields.append(("line", .int(Int64(frame.line)))) }
            return .object(fields)
        }
        let file: JSONValue = .object([
            ("$schema", .string("https://www.speedscope.app/file-format-schema.json")),
            ("shared", .object([("frames", .array(frames))])),
            ("profiles", .array(profiles)),
            ("name", .string(name + (snapshot.isEstimated || old?.isEstimated == true ? " (estimated)" : ""))),
            ("activeProfileIndex", .int(0)),
            ("exporter", .string("swiftleak")),
        ])
        return file.render() + "\n"
    }

    /// One sampled profile; frame indices are `FrameTable` ids (unused ones
    /// in the shared table are harmless).
    static func profile(_ name: String, _ stacks: [([Int], Int64)], kind: SampleKind) -> JSONValue {
        let samples = stacks.map { stack in JSONValue.array(stack.0.map { .int(Int64($0)) }) }
        let weights = stacks.map { JSONValue.int($0.1) }
        let total = stacks.reduce(Int64(0)) { $0 &+ $1.1 }
        return .object([
            ("type", .string("sampled")),
            ("name", .string(name)),
            ("unit", .string(kind.unit == "bytes" ? "bytes" : "none")),
            ("startValue", .int(0)),
            ("endValue", .int(total)),
            ("samples", .array(samples)),
            ("weights", .array(weights)),
        ])
    }
}
