import Foundation
import Glibc

/// The control socket of an attach session, so that `swiftleak snapshot PID`
/// and `swiftleak detach PID` can reach the swiftleak process tracing PID.
/// It lives in the private runtime directory (mode 0700).
///
/// Protocol: one `ControlRequest` line, one `ControlAnswer` line.
public final class ControlServer: @unchecked Sendable {
    public let path: String
    private let listener: Int32
    private let handle: (ControlRequest) -> ControlAnswer
    private let condition = NSCondition()
    private var stopped = false
    /// A request is being answered: `remove` waits for it, so a session that
    /// ends does not exit before telling `swiftleak detach` where the final
    /// snapshot went.
    private var answering = false

    /// Fails when another live session already owns the socket for this target.
    public init(path: String, handle: @escaping (ControlRequest) -> ControlAnswer) throws {
        if let existing = try UnixSocket.connect(to: path) {
            close(existing)
            throw CollectorError("another swiftleak is already tracing this process (control socket \(path)); use `swiftleak snapshot` or `swiftleak detach`")
        }
        self.path = path
        self.handle = handle
        listener = try UnixSocket.listen(at: path)
        let thread = Thread { [self] in serve() }
        thread.name = "swiftleak-control"
        thread.start()
    }

    /// Stops answering, removes the socket file, and waits (up to
    /// `timeout`) for the answer being written, if any.
    public func remove(timeout: Double = 10) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        stopped = true
        while answering && condition.wait(until: deadline) {}
        condition.unlock()
        unlink(path)
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func serve() {
        while true {
            let client = UnixSocket.accept(listener, timeout: 1)
            let stop = condition.withLock {
                answering = client != nil && !stopped
                return stopped
            }
            if stop {
                if let client { close(client) }
                return
            }
            guard let client else { continue }
            defer {
                condition.withLock {
                    answering = false
                    condition.broadcast()
                }
            }
            let line = (ControlClient.readLine(client, timeout: 5) ?? "").trimmingCharacters(in: .whitespaces)
            let answer = ControlRequest(line: line).map(handle) ?? .error("unknown request \(line)")
            UnixSocket.sendAll(client, Array((answer.line + "\n").utf8))
            close(client)
        }
    }
}

/// The client side of `ControlServer`.
public enum ControlClient {
    /// Sends `request` to the session tracing `pid`; returns the text of an
    /// `ok` answer, throws the text of an `error` answer.
    public static func request(_ request: ControlRequest, toTarget pid: Int32, timeout: Double = 120) throws -> String {
        switch try send(request, toTarget: pid, timeout: timeout) {
        case let .ok(text): return text
        case let .error(text): throw CollectorError(text)
        }
    }

    /// Sends `request` to the session tracing `pid`; returns its answer.
    public static func send(_ request: ControlRequest, toTarget pid: Int32, timeout: Double = 120) throws -> ControlAnswer {
        let path = RuntimeDirectory.controlSocket(forTarget: pid)
        guard let fd = try UnixSocket.connect(to: path) else {
            throw CollectorError("no swiftleak session is attached to pid \(pid); start one with `swiftleak attach \(pid)`")
        }
        defer { close(fd) }
        guard UnixSocket.sendAll(fd, Array((request.line + "\n").utf8)) else {
            throw CollectorError("the swiftleak session of pid \(pid) went away")
        }
        guard let line = readLine(fd, timeout: timeout) else {
            throw CollectorError("the swiftleak session of pid \(pid) did not answer within \(Int(timeout)) s")
        }
        guard let answer = ControlAnswer(line: line) else {
            throw CollectorError("unexpected answer from the session of pid \(pid): \(line)")
        }
        return answer
    }

    static func readLine(_ fd: Int32, timeout: Double) -> String? {
        var bytes: [UInt8] = []
        let deadline = Date(timeIntervalSinceNow: timeout)
        var chunk = [UInt8](repeating: 0, count: 512)
        while !bytes.contains(10) {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, UnixSocket.waitReadable(fd, timeout: remaining) else { return nil }
            let count = chunk.withUnsafeMutableBytes { UnixSocket.read(fd, into: $0) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 1 << 16 { return nil }
        }
        guard let newline = bytes.firstIndex(of: 10) else {
            return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
        }
        return String(decoding: bytes[..<newline], as: UTF8.self)
    }
}
