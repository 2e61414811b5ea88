import Foundation
import Glibc
import LeakAggregator
import LeakEvents
import LeakModel
import LeakProc

/// The stream from one agent (one image of one process): taken from the
/// session's `AgentListener` with its hello read, read on its own thread
/// into the aggregator, and the channel for commands (sync, stop) back to
/// the agent.
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
    /// The last token of a command that is answered (sync, collect).
    private var nextToken: UInt64 = 0
    private var statusValue: AgentStatus?
    private var failure: String?
    private var isClosed = false
    /// The process's agent was turned away: no hello will come on this connection.
    private var helloRefused = false
    private var hasStream = false
    private var endingValue: StreamEnding?
    private var pythonValue: PythonAllocators?
    private var collections: [UInt64: GarbageCollection] = [:]

    init(aggregator: Aggregator) {
        self.aggregator = aggregator
    }

    /// Reads `stream` until it ends, on a thread of its own.
    func start(_ stream: AgentStream) {
        condition.withLock { hasStream = true }
        let thread = Thread { [self] in read(stream) }
        thread.name = "swiftleak-events"
        thread.start()
    }

    /// True once a stream was given to this connection.
    var isStarted: Bool { condition.withLock { hasStream } }

    /// How the stream ended; nil while it is open.
    var ending: StreamEnding? { condition.withLock { endingValue } }

    /// The aggregator's clock: deciseconds since this connection was made.
    var clockNow: UInt32 {
        UInt32(clamping: (DispatchTime.now().uptimeNanoseconds - started) / 100_000_000)
    }

    var hello: AgentHello? { condition.withLock { helloValue } }
    var status: AgentStatus? { condition.withLock { statusValue } }
    var streamFailure: String? { condition.withLock { failure } }
    var closed: Bool { condition.withLock { isClosed } }

    /// Ends every wait for a hello at once: the process's agent was refused,
    /// so waiting out the timeout would only delay the reason.
    func refuseHello() {
        condition.withLock {
            helloRefused = true
            condition.broadcast()
        }
    }

    /// Waits until an agent has said hello, or the stream ended, or its agent
    /// was refused, or `timeout` passed.
    func waitForHello(timeout: Double) -> AgentHello? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while helloValue == nil && !isClosed && !helloRefused {
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
        return request(timeout: timeout, CommandEncoder.sync(token:)) { lastSyncToken >= $0 } != nil
    }

    /// Sends the command made with a fresh token, then waits until
    /// `answered(token)` holds (checked under the lock); returns the token,
    /// or nil when the agent is gone, did not take the command, or did not
    /// answer in time.
    private func request(timeout: Double, _ command: (UInt64) -> [UInt8], answered: (UInt64) -> Bool) -> UInt64? {
        condition.lock()
        guard helloValue != nil, !isClosed, fd >= 0 else {
            condition.unlock()
            return nil
        }
        nextToken += 1
        let token = nextToken
        let socket = fd
        condition.unlock()
        guard UnixSocket.sendAll(socket, command(token)) else { return nil }
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !answered(token) && !isClosed {
            if !condition.wait(until: deadline) { break }
        }
        return answered(token) ? token : nil
    }

    /// Waits until the agent has said what became of CPython's allocators
    /// (not pending any more), the stream ended, or `timeout` passed.
    func waitForPythonAllocators(timeout: Double) -> PythonAllocators? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while (pythonValue == nil || pythonValue?.state == .pending) && !isClosed {
            if !condition.wait(until: deadline) { break }
        }
        return pythonValue
    }

    /// Asks the agent to run CPython's cyclic garbage collector and waits for
    /// its answer; every free it caused is then in the aggregator. nil when
    /// the agent is gone or did not answer in time.
    func collectGarbage(timeout: Double) -> GarbageCollection? {
        guard let token = request(timeout: timeout, CommandEncoder.collect(token:), answered: { collections[$0] != nil }) else { return nil }
        return condition.withLock { collections.removeValue(forKey: token) }
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
            isClosed = true
            condition.broadcast()
        }
    }

    /// Ends a stream that should have ended already (its process exec'd):
    /// the reader sees the end of it and finishes.
    func shutDown() {
        condition.withLock { if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    /// Runs `body` with the aggregator while no event is being applied.
    func withAggregator<T>(_ body: (Aggregator) throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body(aggregator)
    }

    // MARK: - Reader thread

    private func read(_ stream: AgentStream) {
        let peer = stream.fd
        var decoder = stream.decoder
        let capacity = 1 << 18
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var newStacks: [[UInt64]] = []
        var readFailure: String?
        var exiting = false
        var exited = false

        condition.withLock {
            helloValue = stream.hello
            onHello?(stream.hello)
            if stream.hello.sampleBytes > 0 {   // sampled mode: each block weighs what it stands for
                let mean = UInt64(stream.hello.sampleBytes)
                aggregator.weigh = { Sampling.weight(size: $0, meanBytes: mean) }
            }
            fd = peer
            condition.broadcast()
        }
        while true {
            let count = UnixSocket.read(peer, into: buffer)
            if count <= 0 { break }
            do {
                condition.lock()
                aggregator.now = clockNow
                try decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]),
                                 blocks: aggregator.apply(_:)) { event in
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
                    case let .python(allocators):
                        pythonValue = allocators
                        condition.broadcast()
                    case let .collected(token, result):
                        collections[token] = result
                        condition.broadcast()
                    default:
                        break
                    }
                    aggregator.apply(event)
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
                exited = true
                onExiting?()
                UnixSocket.sendAll(peer, CommandEncoder.release())
            }
        }
        // The socket closes on exec (close-on-exec) while the process runs
        // on; on exit every thread is marked exiting before the descriptors
        // close. (Not /proc/PID/exe: it reads gone as soon as the main
        // thread called pthread_exit, while the others serve on.)
        let stillRunning = !ProcDirectory(pid: stream.peerPID).hasExited
        condition.lock()
        failure = readFailure
        if exited || statusValue != nil || readFailure != nil {
            endingValue = .saidWhy
        } else {
            endingValue = stillRunning ? .silentWhileRunning : .silent
        }
        isClosed = true
        fd = -1
        close(peer)
        condition.broadcast()
        condition.unlock()
    }
}

/// How an agent's stream ended.
public enum StreamEnding: Sendable {
    /// The agent said why: the process is exiting, tracing stopped, or the stream broke.
    case saidWhy
    /// Without a word, its process still running: it exec'd (or closed the agent's socket).
    case silentWhileRunning
    /// Without a word, its process already gone or going: killed by a
    /// signal, or it exec'd and has exited since.
    case silent
}
