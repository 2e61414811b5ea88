/// Why a snapshot file could not be read. Each description is one line that
/// tells the user what is wrong and what to do about it.
public enum SnapshotFormatError: Error, Equatable, CustomStringConvertible {
    /// The file has no bytes at all.
    case empty
    /// The file does not start with "SWLKSNAP".
    case badMagic
    /// Written by a newer swiftleak with a format this one cannot read.
    case newerVersion(found: UInt32, supported: UInt32)
    /// Fewer bytes than the header promises.
    case truncated(expected: UInt64, found: UInt64)
    /// The body's CRC-32 does not match the header.
    case checksumMismatch(expected: UInt32, found: UInt32)
    /// Structurally invalid content (bad index, count, length...) that the
    /// checksum did not catch, so the writer itself was broken or the file was forged.
    case corrupt(String)

    public var description: String {
        switch self {
        case .empty:
            return "empty file; pass a snapshot written by swiftleak"
        case .badMagic:
            return "not a swiftleak snapshot (bad magic); pass a file written by swiftleak"
        case let .newerVersion(found, supported):
            return "snapshot version \(found) is newer than this swiftleak understands (\(supported)); upgrade swiftleak"
        case let .truncated(expected, found):
            return "snapshot is truncated (expected \(expected) bytes, found \(found)); the file was cut short"
        case .checksumMismatch:
            return "snapshot is corrupt (checksum mismatch); the file was damaged after it was written"
        case let .corrupt(detail):
            return "snapshot is corrupt (\(detail)); the file was damaged or not written by swiftleak"
        }
    }
}
