/// The distinct frames of one or more snapshots, each stored once: analyses
/// and their results refer to frames by index here instead of carrying
/// copies of `Frame` (four strings each) per stack.
///
/// Equal frames get one index, so two stacks are equal exactly when their
/// index lists are, whichever snapshot they came from.
public final class InternedFrames: Sendable {
    public let frames: [Frame]

    init(frames: [Frame]) {
        self.frames = frames
    }

    /// Interns `frames` alone; the indices follow their order.
    public static func of(_ frames: [Frame]) -> (table: InternedFrames, indices: [Int32]) {
        var interner = FrameInterner()
        let indices = frames.map { interner.intern($0) }
        return (interner.finish(), indices)
    }
}

/// Builds an `InternedFrames` from several snapshots' frame lists.
struct FrameInterner {
    private(set) var frames: [Frame] = []
    private var index: [Frame: Int32] = [:]

    mutating func intern(_ frame: Frame) -> Int32 {
        if let existing = index[frame] { return existing }
        let id = Int32(frames.count)
        frames.append(frame)
        index[frame] = id
        return id
    }

    /// Each of `snapshot`'s frames' index, by the snapshot's own frame index.
    mutating func intern(framesOf snapshot: Snapshot) -> [Int32] {
        snapshot.frames.map { intern($0) }
    }

    func finish() -> InternedFrames { InternedFrames(frames: frames) }
}
