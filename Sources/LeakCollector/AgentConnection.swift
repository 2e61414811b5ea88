import Foundation
import LeakAggregator
import LeakEvents

/// The stream from one agent: accepted on the session's listening socket,
/// read on its own thread into the aggregator, and the channel for commands
/// (sync, stop) back to the agent.
final class AgentConnection: @unchecked Sendable {
    /// Called (on the reader thread, under the connection's lock) with stacks the agent just described.
    var onNewStacks: (([[UInt64]]) -> Void)?
    /// Called (on the reader thread, without the lock) when the process is
    /// exiting; the process waits until this returns and the agent is released.
    var onExiting: (() -> Void)?
    /// Called (on the reader thread, under the connection's lock) when the traced agent said hello.
    var onHello: ((AgentHello) -> Void)?

    private let aggregator: Aggregator
    private let started = DispatchTime.now().uptimeNanoseconds
    private let condition = NSCondition()
    private var fd: Int32 = -1
    private var helloValue: AgentHello?
    private var lastSyncToken: UInt64 = 0
    private var nextSyncToken: UInt64 = 0
    private var statusValue: AgentStatus?
    private var failure: String?
    private var isClosed = false
    private var rejectedPeers = 0
    private var cancelled = false

    init(aggregator: Aggregator) {
        self.aggregator = aggregator
    }

    /// Accepts connections on `listener` until one announces `expectedPID`
    /// (any pid when nil), then reads it until it ends. Others are closed,
    /// which leaves their agent untraced.
    func start(listener: Int32, expectedPID: Int32?) {
        let thread = Thread { [self] in
            acceptAndRead(listener: listener, expectedPID: expectedPID)
        }
        thread.name = "swiftleak-events"
        thread.start()
    }

    /// The aggregator's clock: deciseconds since this connection was made.
    var clockNow: UInt32 {
        UInt32(clamping: (DispatchTime.now().uptimeNanoseconds - started) / 100_000_000)
    }

    var hello: AgentHello? { condition.withLock { helloValue } }
    var status: AgentStatus? { condition.withLock { statusValue } }
    var streamFailure: String? { condition.withLock { failure } }
    var closed: Bool { condition.withLock { isClosed } }

    /// Waits until an agent has said hello, or the stream ended, or `timeout` passed.
    func waitForHello(timeout: Double) -> AgentHello? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while helloValue == nil && !isClosed {
            if !condition.wait(until: deadline) { break }
        }
        return helloValue
    }

    /// Waits until the stream has ended (the target exited or the agent stopped).
    @discardableResult
    func waitUntilClosed(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !isClosed {
            if !condition.wait(until: deadline) { break }
        }
        return isClosed
    }

    /// Asks the agent to flush and waits for its answer, so the aggregator
    /// holds every event that happened before this call. False when the
    /// agent is gone or did not answer in time (the aggregator then holds
    /// everything that arrived).
    func sync(timeout: Double) -> Bool {
        // A launched program's agent connects before its main() runs, but
        // on a loaded machine the reader thread may not have taken the hello
        // yet: a snapshot taken then would miss everything the program did.
        _ = waitForHello(timeout: min(timeout, 2))
        condition.lock()
        guard helloValue != nil, !isClosed, fd >= 0 else {
            condition.unlock()
            return false
        }
        nextSyncToken += 1
        let token = nextSyncToken
        let socket = fd
        condition.unlock()
        guard UnixSocket.sendAll(socket, CommandEncoder.sync(token: token)) else { return false }
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while lastSyncToken < token && !isClosed {
            if !condition.wait(until: deadline) { return false }
        }
        return lastSyncToken >= token
    }

    /// Asks the agent to unhook and stop; waits for its stream to end.
    @discardableResult
    func stop(timeout: Double) -> Bool {
        condition.lock()
        let socket = fd
        let open = !isClosed && socket >= 0
        condition.unlock()
        guard open else { return true }
        _ = UnixSocket.sendAll(socket, CommandEncoder.stop())
        let ended = waitUntilClosed(timeout: timeout)
        if !ended {
            // The agent treats a closed socket like a stop: unhook and go idle.
            condition.withLock { if self.fd >= 0 { shutdown(self.fd, Int32(SHUT_RDWR)) } }
            waitUntilClosed(timeout: 1)
        }
        return ended
    }

    /// Stops waiting for an agent that never came.
    func cancel() {
        condition.withLock {
            cancelled = true
            isClosed = true
            condition.broadcast()
        }
    }

    /// Runs `body` with the aggregator while no event is being applied.
    func withAggregator<T>(_ body: (Aggregator) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(aggregator)
    }

    // MARK: - Reader thread

    private func acceptAndRead(listener: Int32, expectedPID: Int32?) {
        defer { close(listener) }
        while !condition.withLock({ cancelled || isClosed }) {
            guard let peer = UnixSocket.accept(listener, timeout: 0.25) else { continue }
            if read(peer, expectedPID: expectedPID) { return }
        }
    }

    /// Returns true when this peer was the traced agent (its stream is over now).
    private func read(_ peer: Int32, expectedPID: Int32?) -> Bool {
        var decoder = EventDecoder()
        let capacity = 1 << 18
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var accepted = false
        var newStacks: [[UInt64]] = []
        var readFailure: String?
        var exiting = false

        while true {
            let count = UnixSocket.read(peer, into: buffer)
            if count <= 0 { break }
            do {
                condition.lock()
                aggregator.now = clockNow
                try decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { event in
                    switch event {
                    case let .stack(_, ips):
                        newStacks.append(ips)
                    case let .sync(token, _):
                        lastSyncToken = max(lastSyncToken, token)
                        condition.broadcast()
                    case let .status(status):
                        statusValue = status
                    case .exiting:
                        exiting = true
                    default:
                        break
                    }
                    aggregator.apply(event)
                }
                if !accepted, let hello = decoder.hello {
                    if let expectedPID, hello.pid != expectedPID {
                        condition.unlock()
                        rejectedPeers += 1
                        close(peer)
                        return false
                    }
                    accepted = true
                    helloValue = hello
                    onHello?(hello)
                    fd = peer
                    condition.broadcast()
                }
                // Still under the lock: whoever a sync record wakes must find
                // these stacks already queued for symbolization.
                if !newStacks.isEmpty {
                    onNewStacks?(newStacks)
                    newStacks.removeAll(keepingCapacity: true)
                }
                condition.unlock()
            } catch {
                readFailure = "\(error)"
                condition.unlock()
                break
            }
            if exiting {
                exiting = false
                onExiting?()
                UnixSocket.sendAll(peer, CommandEncoder.release())
            }
        }
        guard accepted else {
            close(peer)
            return false
        }
        condition.lock()
        failure = readFailure
        isClosed = true
        fd = -1
        close(peer)
        condition.broadcast()
        condition.unlock()
        return true
    }
}
