import Glibc
import LeakProc

/// The few Unix-socket operations swiftleak needs, each checked, restarted
/// when a signal interrupts it, and never raising SIGPIPE.
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

    /// True when a socket file is left at `path` with nobody listening: its
    /// owner is gone (a live owner listens before anyone can see the name
    /// stay unanswered for longer than a bind-to-listen instant).
    static func isAbandoned(_ path: String) -> Bool {
        guard let address = try? address(path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var copy = address
        let result = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result != 0 && errno == ECONNREFUSED
    }

    /// The process at the other end of a connected socket (SO_PEERCRED), as
    /// our pid namespace numbers it; nil when the kernel does not say.
    static func peerProcess(_ fd: Int32) -> pid_t? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }, which Glibc does not export to Swift.
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              length == MemoryLayout.size(ofValue: credentials), credentials.pid > 0 else { return nil }
        return credentials.pid
    }

    /// Waits up to `timeout` seconds (forever if nil) for `fd` to become readable.
    static func waitReadable(_ fd: Int32, timeout: Double?) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = timeout.map { Int32(max(0, min($0 * 1000, Double(Int32.max)))) } ?? -1
        // An error counts as readable: the caller's read then reports it.
        return retryingInterrupted { poll(&entry, 1, milliseconds) } != 0
    }

    /// Accepts one connection, or nil after `timeout` seconds.
    static func accept(_ listener: Int32, timeout: Double?) -> Int32? {
        guard waitReadable(listener, timeout: timeout) else { return nil }
        let fd = retryingInterrupted { Glibc.accept(listener, nil, nil) }
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Writes every byte; false when the peer is gone.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        (try? writeAll(fd: fd, bytes, toSocket: true)) != nil
    }

    /// Reads what is available, up to `buffer.count` bytes: 0 at end of stream, -1 on error.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        retryingInterrupted { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }
}
