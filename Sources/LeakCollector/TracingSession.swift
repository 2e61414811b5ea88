import Foundation
import Glibc
import LeakAggregator
import LeakEvents
import LeakModel

/// One tracing session of one target process: the agent's stream, the
/// aggregator it feeds, eager symbolization, and the snapshots written from
/// them. Shared by `run` and `attach`; the front ends only differ in how the
/// agent gets into the target.
public final class TracingSession: @unchecked Sendable {
    public let pid: Int32
    public let store: SnapshotStore
    private let mode: SnapshotMetadata.Mode
    private let frames: UInt32
    private let command: [String]
    private let connection: AgentConnection
    private let frameCache: FrameCache
    private let startTime = Date()
    private let lock = NSLock()
    private var sequence: UInt32 = 0

    /// - Parameter listener: the socket the agent will connect to.
    public init(pid: Int32, mode: SnapshotMetadata.Mode, frames: UInt32, command: [String], store: SnapshotStore, listener: EventListener) {
        self.pid = pid
        self.mode = mode
        self.frames = frames
        self.command = command
        self.store = store
        connection = AgentConnection(aggregator: Aggregator())
        frameCache = FrameCache(pid: pid)
        let cache = frameCache
        connection.onNewStacks = { cache.enqueue($0) }
        connection.onHello = { _ in cache.prepare() }
        // The exiting process waits for us: finish symbolizing while its
        // memory map can still be read.
        connection.onExiting = { cache.waitUntilIdle(timeout: 2.5) }
        connection.start(listener: listener.takeDescriptor(), expectedPID: pid)
    }

    /// Waits for the agent's hello.
    public func waitForAgent(timeout: Double) -> Bool {
        connection.waitForHello(timeout: timeout) != nil
    }

    /// True once the agent's stream ended (target exited, or agent stopped).
    public var agentGone: Bool { connection.closed }

    /// Why the stream ended badly, if it did (a broken frame, an agent that gave up).
    public var problem: String? {
        if let failure = connection.streamFailure { return failure }
        if let status = connection.status, !status.isRequestedStop { return status.explanation }
        return nil
    }

    public var counters: AggregatorCounters {
        connection.withAggregator { $0.counters }
    }

    /// Writes a snapshot of everything the target did up to now; returns its path.
    public func takeSnapshot(final: Bool) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if !connection.closed {
            _ = connection.sync(timeout: 5)
        }
        frameCache.waitUntilIdle(timeout: 30)
        let (stacks, ages, counters) = connection.withAggregator {
            ($0.stacks, SnapshotAssembler.ages(of: $0, now: connection.clockNow), $0.counters)
        }
        sequence += 1
        let now = Self.nanoseconds(Date())
        let hello = connection.hello
        let metadata = SnapshotMetadata(
            pid: pid,
            command: command,
            timeNanoseconds: now,
            startNanoseconds: hello?.startNanoseconds ?? Self.nanoseconds(startTime),
            mode: mode,
            framesDepth: hello?.framesMax ?? frames,
            sequence: sequence,
            isFinal: final,
            currentBytes: 0, currentBlocks: 0, peakBytes: 0, peakBlocks: 0,
            allocations: 0, frees: 0, unknownFrees: 0, lostEvents: 0
        )
        let snapshot = SnapshotAssembler.assemble(stacks: stacks, ages: ages, counters: counters, metadata: metadata) {
            frameCache.frames(for: $0)
        }
        let bytes = SnapshotCodec.encode(snapshot)
        return try store.write(bytes, name: SnapshotStore.fileName(timeNanoseconds: now, sequence: sequence, isFinal: final))
    }

    /// Starts a new peak window (tracemalloc's reset_peak).
    public func resetPeak() {
        if !connection.closed { _ = connection.sync(timeout: 5) }
        connection.withAggregator { $0.resetPeak() }
    }

    /// Asks the agent to unhook and go idle; waits for it.
    @discardableResult
    public func stopAgent(timeout: Double = 5) -> Bool {
        connection.stop(timeout: timeout)
    }

    /// Gives up on an agent that never connected.
    public func cancel() {
        connection.cancel()
    }

    /// Waits until the agent's stream has ended.
    public func waitUntilAgentGone(timeout: Double) -> Bool {
        connection.waitUntilClosed(timeout: timeout)
    }

    private static func nanoseconds(_ date: Date) -> UInt64 {
        UInt64(max(0, date.timeIntervalSince1970 * 1e9))
    }
}
