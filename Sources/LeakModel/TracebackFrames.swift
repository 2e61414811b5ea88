/// A statistic's frames as indices into the `InternedFrames` they were
/// grouped with: results share one copy of each frame however many stacks
/// hold it, and writers can render each distinct frame once.
public struct TracebackFrames: RandomAccessCollection, Hashable, Sendable {
    public let table: InternedFrames
    /// Indices into `table.frames`, innermost first.
    public let frameIndices: [Int32]

    public init(table: InternedFrames, indices: [Int32]) {
        self.table = table
        self.frameIndices = indices
    }

    /// Frames given by value get a table of their own.
    public init(_ frames: [Frame]) {
        let (table, indices) = InternedFrames.of(frames)
        self.init(table: table, indices: indices)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { frameIndices.count }
    public subscript(position: Int) -> Frame { table.frames[Int(frameIndices[position])] }

    /// The index into `table.frames` of the frame at `position`.
    public func frameIndex(at position: Int) -> Int { Int(frameIndices[position]) }

    public static func == (a: TracebackFrames, b: TracebackFrames) -> Bool {
        // One table holds each frame once: equal indices are equal frames.
        if a.table === b.table { return a.frameIndices == b.frameIndices }
        return a.elementsEqual(b)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for frame in self { hasher.combine(frame) }
    }
}
