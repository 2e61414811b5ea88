#if canImport(Glibc)
import Glibc
#endif

/// Writes every byte of `bytes` to `fd`, across short writes and signals.
///
/// `toSocket` sends with MSG_NOSIGNAL: a peer that went away is then an
/// EPIPE error here, never a SIGPIPE that kills us.
public func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, toSocket: Bool = false) throws(Errno) {
    var offset = 0
    while offset < bytes.count {
        let rest = bytes.count - offset
        let written = retryingInterrupted {
            toSocket ? send(fd, bytes.baseAddress! + offset, rest, Int32(MSG_NOSIGNAL))
                     : write(fd, bytes.baseAddress! + offset, rest)
        }
        if written < 0 { throw Errno.current }
        // A zero-byte write of a non-empty buffer would repeat forever.
        if written == 0 { throw Errno(EIO) }
        offset += written
    }
}

/// `writeAll(fd:_:toSocket:)` for bytes in an array or a slice of one.
public func writeAll(fd: Int32, _ bytes: ArraySlice<UInt8>, toSocket: Bool = false) throws(Errno) {
    // withUnsafeBytes only rethrows untyped errors: carry the Errno out by hand.
    let failure: Errno? = bytes.withUnsafeBytes { raw in
        do throws(Errno) { try writeAll(fd: fd, raw, toSocket: toSocket) } catch { return error }
        return nil
    }
    if let failure { throw failure }
}

public func writeAll(fd: Int32, _ bytes: [UInt8], toSocket: Bool = false) throws(Errno) {
    try writeAll(fd: fd, bytes[...], toSocket: toSocket)
}
