import Glibc

/// The few Unix-socket operations swiftleak needs, each checked, EINTR-safe,
/// and never raising SIGPIPE.
enum UnixSocket {
    static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw CollectorError("socket path too long (\(bytes.count) bytes, at most \(capacity - 1)): \(path); set XDG_RUNTIME_DIR to a shorter directory")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// A listening socket at `path` (an old socket file there is replaced), mode 0600.
    static func listen(at path: String, backlog: Int32 = 8) throws -> Int32 {
        var address = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CollectorError.system("cannot create a socket", errno: errno) }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw CollectorError.system("cannot listen at \(path)", errno: code)
        }
        chmod(path, 0o600)
        guard Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw CollectorError.system("cannot listen at \(path)", errno: code)
        }
        return fd
    }

    /// Connects to the socket at `path`; nil when nobody listens there.
    static func connect(to path: String) throws -> Int32? {
        var address = try address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CollectorError.system("cannot create a socket", errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            if code == ECONNREFUSED || code == ENOENT { return nil }
            throw CollectorError.system("cannot connect to \(path)", errno: code)
        }
        return fd
    }

    /// Waits up to `timeout` seconds (forever if nil) for `fd` to become readable.
    static func waitReadable(_ fd: Int32, timeout: Double?) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = timeout.map { Int32(max(0, min($0 * 1000, Double(Int32.max)))) } ?? -1
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { return true }  // let the caller's read report the error
        }
    }

    /// Accepts one connection, or nil after `timeout` seconds.
    static func accept(_ listener: Int32, timeout: Double?) -> Int32? {
        guard waitReadable(listener, timeout: timeout) else { return nil }
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                return fd
            }
            if errno != EINTR { return nil }
        }
    }

    /// Writes every byte; false when the peer is gone.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// Reads what is available, up to `buffer.count` bytes: 0 at end of stream, -1 on error.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { return -1 }
        }
    }
}
