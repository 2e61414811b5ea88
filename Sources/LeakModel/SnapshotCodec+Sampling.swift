/// The optional "sampling" section (`SnapshotCodec.Tag.sampling`), written
/// only for a sampled snapshot (`Snapshot.sampling`).
///
/// Payload: the mean bytes between samples (never 0), then the number of
/// sampled blocks alive (varints). A file without it is exact, as every file
/// from before sampled mode is; an older reader skips it and shows the
/// estimates as plain figures.
extension SnapshotCodec {
    static func encodeSampling(_ sampling: Sampling) -> [UInt8] {
        var w = BinaryWriter()
        w.writeVarint(sampling.meanBytes)
        w.writeVarint(sampling.sampledLiveBlocks)
        return w.bytes
    }

    static func decodeSampling(_ r: inout BinaryReader) throws -> Sampling {
        let offset = r.offset
        let meanBytes = try r.readVarint()
        guard meanBytes > 0 else { throw BinaryReader.Failure.badValue(offset: offset, what: "sampling rate") }
        return Sampling(meanBytes: meanBytes, sampledLiveBlocks: try r.readVarint())
    }
}
