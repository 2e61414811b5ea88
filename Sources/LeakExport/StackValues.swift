import LeakModel
import LeakReport

/// Stacks named frame by frame (outermost first) with one value each, summed
/// over sites that read the same: what collapsed stacks and speedscope draw.
struct StackValues {
    /// Frames of each stack, outermost first, in order of first appearance.
    var stacks: [[Frame]] = []
    var values: [Int64] = []
    private var index: [[String]: Int] = [:]

    /// The name a frame goes by in flame graphs.
    static func name(_ frame: Frame) -> String {
        frame.function ?? FrameText.addressText(frame)
    }

    init(_ snapshot: Snapshot, kind: SampleKind, raw: Bool) {
        for stack in ExportedStack.all(in: snapshot, raw: raw) {
            add(stack.frames.reversed(), Int64(clamping: kind.value(of: stack.site)))
        }
    }

    mutating func add(_ frames: [Frame], _ value: Int64) {
        let key = frames.map(Self.name)
        if let i = index[key] {
            values[i] &+= value
        } else {
            index[key] = stacks.count
            stacks.append(frames)
            values.append(value)
        }
    }

    /// The value of the stack that reads `frames`, 0 if none.
    func value(of frames: [Frame]) -> Int64 {
        index[frames.map(Self.name)].map { values[$0] } ?? 0
    }
}
