import Glibc

/// The listening Unix socket an agent connects to. Removed when closed.
public final class EventListener {
    public let path: String
    let fd: Int32
    private var handedOver = false

    /// Listens at `path` (mode 0600, in a private directory).
    public init(path: String) throws {
        self.path = path
        fd = try UnixSocket.listen(at: path)
    }

    /// The session takes ownership of the descriptor.
    func takeDescriptor() -> Int32 {
        handedOver = true
        return fd
    }

    /// Removes the socket file; the descriptor is closed by its owner.
    public func removeFile() {
        unlink(path)
    }

    deinit {
        if !handedOver { close(fd) }
    }
}
