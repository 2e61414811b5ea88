import LeakModel
import LeakReport

/// The distinct frames of one export, shared by its snapshots so the same
/// stack matches in both. Collapsed stacks tell frames apart by name only;
/// speedscope also by file and line.
struct FrameTable {
    struct Key: Hashable {
        var name: String
        var file: String?
        var line: UInt32
    }

    let byLine: Bool
    private(set) var frames: [Frame] = []
    private(set) var names: [String] = []
    private var ids: [Key: Int] = [:]

    init(byLine: Bool) {
        self.byLine = byLine
    }

    /// The name a frame goes by in flame graphs.
    static func name(_ frame: Frame) -> String {
        frame.function ?? FrameText.addressText(frame)
    }

    mutating func id(_ frame: Frame) -> Int {
        let name = Self.name(frame)
        let key = byLine ? Key(name: name, file: frame.file, line: frame.line) : Key(name: name, file: nil, line: 0)
        if let id = ids[key] { return id }
        ids[key] = frames.count
        frames.append(frame)
        names.append(name)
        return frames.count - 1
    }
}

/// Stacks as `FrameTable` ids, outermost first, with one value each,
/// summed over sites that read the same: what collapsed stacks and
/// speedscope draw.
struct StackValues {
    private(set) var stacks: [[Int]] = []
    private(set) var values: [Int64] = []
    private var index: [[Int]: Int] = [:]

    init(_ snapshot: Snapshot, kind: SampleKind, raw: Bool, table: inout FrameTable) {
        let exported = ExportedStacks(snapshot, raw: raw)
        var ids = [Int](repeating: -1, count: exported.frames.count)
        for (stack, site) in zip(exported.stacks, exported.sites) {
            let path = stack.reversed().map { frame -> Int in
                if ids[frame] < 0 { ids[frame] = table.id(exported.frames[frame]) }
                return ids[frame]
            }
            add(path, Int64(clamping: kind.value(of: site)))
        }
    }

    private mutating func add(_ path: [Int], _ value: Int64) {
        if let i = index[path] {
            values[i] &+= value
        } else {
            index[path] = stacks.count
            stacks.append(path)
            values.append(value)
        }
    }

    /// The value of the stack `path`, 0 if none.
    func value(of path: [Int]) -> Int64 {
        index[path].map { values[$0] } ?? 0
    }
}
