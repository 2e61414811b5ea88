import LeakModel
import CFuzzerDriver
import Glibc

/// The process: libFuzzer's driver, calling the entry point below per input.
@main
enum SnapshotFuzzer {
    static func main() {
        exit(swiftleak_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, snapshotFuzzerTestOneInput))
    }
}

/// libFuzzer's entry point: decodes the input as a snapshot file twice, as it
/// is (the header checks) and resealed (the section decoders, which a random
/// mutation would otherwise never reach past the checksum). Decoding must end
/// in a snapshot or a `SnapshotFormatError`; anything else is a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func snapshotFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    checkDecoding(bytes)
    if let resealed = resealed(bytes) { checkDecoding(resealed) }
    return 0
}

/// A decoded snapshot must survive its own encoding unchanged, and an error
/// must be the one-line kind the CLI prints.
func checkDecoding(_ bytes: [UInt8]) {
    let snapshot: Snapshot
    do {
        snapshot = try SnapshotCodec.decode(bytes)
    } catch let error as SnapshotFormatError {
        // fatalError, not precondition: an optimized build drops a precondition's message.
        guard !error.description.contains("\n") else { fatalError("multi-line error: \(error)") }
        return
    } catch {
        fatalError("decode threw \(type(of: error)), not SnapshotFormatError: \(error)")
    }
    let again: Snapshot
    do {
        again = try SnapshotCodec.decode(SnapshotCodec.encode(snapshot))
    } catch {
        fatalError("a decoded snapshot does not decode after encoding: \(error)")
    }
    guard again == snapshot else { fatalError("a decoded snapshot changed through encode and decode") }
}

/// The input with its header made consistent with its body: version 1, body
/// length to the end of the input, the body's CRC. Nil when there is no header
/// to repair (short, wrong magic, or a header length past the end).
func resealed(_ bytes: [UInt8]) -> [UInt8]? {
    let header = SnapshotCodec.headerSize
    guard bytes.count >= header, bytes.starts(with: SnapshotCodec.magic) else { return nil }
    var reader = BinaryReader(bytes, from: 12)
    guard let headerLength = try? reader.readUInt32(), headerLength >= header, headerLength <= bytes.count else {
        return nil
    }
    let body = bytes[Int(headerLength)...]
    var w = BinaryWriter()
    w.writeBytes(SnapshotCodec.magic)
    w.writeUInt32(SnapshotCodec.currentVersion)
    w.writeUInt32(headerLength)
    w.writeUInt64(UInt64(body.count))
    w.writeUInt32(CRC32.checksum(body))
    w.writeBytes(Array(bytes[header..<Int(headerLength)]))  // the extra header bytes a reader skips
    w.writeBytes(Array(body))
    return w.bytes
}
