import LeakModel
import LeakReport

/// speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json):
/// one "sampled" profile whose samples are stacks (outermost frame first)
/// weighted by the chosen value. speedscope rejects negative weights, so
/// with an old snapshot there are two profiles, "grew" and "shrank", each
/// with the positive change of its stacks.
public enum SpeedscopeProfile {
    public static func encode(_ snapshot: Snapshot, old: Snapshot? = nil, kind: SampleKind = .inuseSpace,
                              raw: Bool = false, name: String) -> String {
        var frames = SharedFrames()
        let new = StackValues(snapshot, kind: kind, raw: raw)
        var profiles: [JSONValue] = []
        if let old {
            let before = StackValues(old, kind: kind, raw: raw)
            var grew: [([Frame], Int64)] = [], shrank: [([Frame], Int64)] = []
            for (stack, value) in zip(new.stacks, new.values) {
                let change = value &- before.value(of: stack)
                if change > 0 { grew.append((stack, change)) } else if change < 0 { shrank.append((stack, -change)) }
            }
            for (stack, value) in zip(before.stacks, before.values) where value > 0 && new.value(of: stack) == 0 {
                shrank.append((stack, value))
            }
            profiles.append(profile("grew (\(kind.rawValue))", grew, kind: kind, frames: &frames))
            profiles.append(profile("shrank (\(kind.rawValue))", shrank, kind: kind, frames: &frames))
        } else {
            let weighted = zip(new.stacks, new.values).filter { $0.1 > 0 }.map { ($0.0, $0.1) }
            profiles.append(profile(kind.rawValue, weighted, kind: kind, frames: &frames))
        }
        let file: JSONValue = .object([
            ("$schema", .string("https://www.speedscope.app/file-format-schema.json")),
            ("shared", .object([("frames", .array(frames.json))])),
            ("profiles", .array(profiles)),
            ("name", .string(name)),
            ("activeProfileIndex", .int(0)),
            ("exporter", .string("swiftleak")),
        ])
        return file.render() + "\n"
    }

    static func profile(_ name: String, _ stacks: [([Frame], Int64)], kind: SampleKind, frames: inout SharedFrames) -> JSONValue {
        let samples = stacks.map { stack in JSONValue.array(stack.0.map { .int(Int64(frames.index($0))) }) }
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

    /// speedscope's shared frame table: name, file and line, each once.
    struct SharedFrames {
        struct Key: Hashable {
            var name: String
            var file: String?
            var line: UInt32
        }
        private var indices: [Key: Int] = [:]
        private(set) var json: [JSONValue] = []

        mutating func index(_ frame: Frame) -> Int {
            let key = Key(name: StackValues.name(frame), file: frame.file, line: frame.line)
            if let i = indices[key] { return i }
            var fields: [(String, JSONValue)] = [("name", .string(key.name))]
            if let file = key.file { fields.append(("file", .string(file))) }
            if key.line != 0 { fields.append(("line", .int(Int64(key.line)))) }
            indices[key] = json.count
            json.append(.object(fields))
            return json.count - 1
        }
    }
}
