import Foundation
import Glibc
import LeakEvents
import LeakProc

/// An agent's connection once it said who it is: the socket, the pid the
/// kernel vouches for, and the decoder that read exactly the hello (the
/// events after it are still in the socket, for whoever takes the stream).
public struct AgentStream {
    let fd: Int32
    /// The connecting process, in our pid namespace (SO_PEERCRED).
    public let peerPID: Int32
    public let hello: AgentHello
    /// Read as soon as it connected: a wrapper's image may exec again at once.
    public let commandLine: [String]
    var decoder: EventDecoder
}

/// The socket every agent of a session connects to, accepted for the whole
/// session: a `run` target connects again after each exec, and with
/// `--follow-forks` each child connects on its own. Each connection's hello
/// is read here and the stream handed to `route`, which takes it (true) or
/// leaves it to be closed (its agent then stays a pass-through).
public final class AgentListener: @unchecked Sendable {
    /// Hellos come right after connect; a peer slower than this is not an agent.
    static let helloTimeout = 2.0

    private let fd: Int32
    private let route: (AgentStream) -> Bool
    private let refused: ((_ pid: Int32, _ why: String) -> Void)?
    /// Held while one connection is accepted, identified and routed, so
    /// `drain` returns only once every connection made so far is routed.
    private let acceptLock = NSLock()
    private let stateLock = NSLock()
    private var stopped = false

    /// Takes ownership of `listener` (a listening socket) and starts accepting.
    /// `refused` hears of an agent whose hello this swiftleak cannot take
    /// (another build's protocol): that process stays untraced, and says why.
    public init(listener: EventListener, refused: ((_ pid: Int32, _ why: String) -> Void)? = nil,
                route: @escaping (AgentStream) -> Bool) {
        fd = listener.takeDescriptor()
        self.route = route
        self.refused = refused
        // Non-blocking, so that `drain` and the accept thread never wait in
        // accept for a connection the other one took. A pre-fork server's
        // workers connect all at once: a longer queue keeps them from waiting.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = Glibc.listen(fd, 128)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "swiftleak-accept"
        thread.start()
    }

    /// Routes every connection already made (the target may have exited
    /// with its last connection still queued), then returns.
    public func drain() {
        acceptLock.withLock {
            while acceptOne() {}
        }
    }

    /// Stops accepting and closes the socket; an agent still connecting
    /// finds it closed and stays a pass-through.
    public func stop() {
        stateLock.withLock { stopped = true }
    }

    private func acceptLoop() {
        while true {
            if stateLock.withLock({ stopped }) { break }
            guard UnixSocket.waitReadable(fd, timeout: 0.25) else { continue }
            // Readable yet nothing accepted: `drain` took it, or accept fails
            // (out of descriptors); do not spin on the latter.
            if !acceptLock.withLock({ acceptOne() }) { usleep(10_000) }
        }
        close(fd)
    }

    /// Accepts, identifies and routes one connection; false when none was waiting.
    private func acceptOne() -> Bool {
        // The accepted socket does not inherit O_NONBLOCK (Linux).
        let peer = retryingInterrupted { accept(fd, nil, nil) }
        guard peer >= 0 else { return errno == ECONNABORTED }
        _ = fcntl(peer, F_SETFD, FD_CLOEXEC)
        let stream: AgentStream
        switch Self.identify(peer) {
        case let .agent(identified):
            stream = identified
        case let .refused(pid, why):
            close(peer)
            refused?(pid, why)
            return true
        case .unknown:
            close(peer)
            return true
        }
        if !route(stream) { close(peer) }
        return true
    }

    private enum Identification {
        case agent(AgentStream)
        /// An agent, by its hello, that this swiftleak cannot read.
        case refused(pid: Int32, why: String)
        /// Not an agent, or gone before its hello.
        case unknown
    }

    /// Reads exactly the hello (nothing after it) and asks the kernel who connected.
    private static func identify(_ peer: Int32) -> Identification {
        guard let peerPID = UnixSocket.peerProcess(peer) else { return .unknown }
        let commandLine = ProcessFacts.commandLine(of: peerPID)
        let deadline = Date(timeIntervalSinceNow: helloTimeout)
        // The smallest hello first, then byte by byte while the decoder still
        // wants more (a newer agent's longer hello): never a byte past it.
        var decoder = EventDecoder()
        var chunk = ProtocolConstants.helloSize
        while decoder.hello == nil {
            guard decoder.bufferedByteCount < 4096,
                  let bytes = readExactly(peer, count: chunk, deadline: deadline) else { return .unknown }
            do {
                try decoder.feed(bytes) { _ in }
            } catch let error as EventStreamError {
                if case .unsupportedVersion = error { return .refused(pid: peerPID, why: error.description) }
                return .unknown
            } catch {
                return .unknown
            }
            chunk = 1
        }
        guard let hello = decoder.hello else { return .unknown }
        return .agent(AgentStream(fd: peer, peerPID: peerPID, hello: hello, commandLine: commandLine, decoder: decoder))
    }

    private static func readExactly(_ fd: Int32, count: Int, deadline: Date) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, UnixSocket.waitReadable(fd, timeout: remaining) else { return nil }
            let got = bytes.withUnsafeMutableBytes { UnixSocket.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[have...])) }
            guard got > 0 else { return nil }
            have += got
        }
        return bytes
    }
}
