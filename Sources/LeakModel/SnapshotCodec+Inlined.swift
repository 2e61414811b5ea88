/// The optional "inlined frames" section (`SnapshotCodec.Tag.inlinedFrames`).
///
/// Payload: the number of inlined frames, then their indices into the
/// frames section, ascending, each written as the gap from the previous
/// index plus one (varints). Nil when no frame is inlined, so snapshots of
/// unoptimized code are byte for byte what they were.
extension SnapshotCodec {
    static func encodeInlinedFrames(_ frames: [Frame]) -> [UInt8]? {
        let indices = frames.indices.filter { frames[$0].isInlined }
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

    /// Marks the listed frames (decoded before it) as inlined.
    static func decodeInlinedFrames(_ r: inout BinaryReader, into frames: inout [Frame]) throws {
        let count = try r.readCount("inlined frame count")
        var next = 0
        for _ in 0..<count {
            let index = next + (try r.readIndex("inlined frame index", below: frames.count - next))
            frames[index].isInlined = true
            next = index + 1
        }
    }
}
