/// The optional sections that mark some frames: "inlined frames"
/// (`SnapshotCodec.Tag.inlinedFrames`) and "async frames"
/// (`SnapshotCodec.Tag.asyncFrames`).
///
/// Payload: the number of marked frames, then their indices into the
/// frames section, ascending, each written as the gap from the previous
/// index plus one (varints). Nil when no frame is marked, so snapshots
/// without such frames are byte for byte what they were.
extension SnapshotCodec {
    static func encodeInlinedFrames(_ frames: [Frame]) -> [UInt8]? {
        encodeMarkedFrames(frames) { $0.isInlined }
    }

    /// Marks the listed frames (decoded before it) as inlined.
    static func decodeInlinedFrames(_ r: inout BinaryReader, into frames: inout [Frame]) throws {
        try decodeMarkedFrames(&r, into: &frames, what: "inlined frame") { $0.isInlined = true }
    }

    static func encodeAsyncFrames(_ frames: [Frame]) -> [UInt8]? {
        encodeMarkedFrames(frames) { $0.isAsync }
    }

    /// Marks the listed frames (decoded before it) as Swift async callers.
    static func decodeAsyncFrames(_ r: inout BinaryReader, into frames: inout [Frame]) throws {
        try decodeMarkedFrames(&r, into: &frames, what: "async frame") { $0.isAsync = true }
    }

    private static func encodeMarkedFrames(_ frames: [Frame], isMarked: (Frame) -> Bool) -> [UInt8]? {
        let indices = frames.indices.filter { isMarked(frames[$0]) }
        guard !indices.isEmpty else { return nil }
        var w = BinaryWriter()
        w.writeVarint(UInt64(indices.count))
        var next = 0
        for index in indices {
            w.writeVarint(UInt64(index - next))
            next = index + 1
        }
        return w.bytes
    }

    private static func decodeMarkedFrames(_ r: inout BinaryReader, into frames: inout [Frame], what: String,
                                           mark: (inout Frame) -> Void) throws {
        let count = try r.readCount("\(what) count")
        var next = 0
        for _ in 0..<count {
            let index = next + (try r.readIndex("\(what) index", below: frames.count - next))
            mark(&frames[index])
            next = index + 1
        }
    }
}
