import Foundation
import Glibc
import LeakAggregator
import LeakEvents
import LeakModel
import LeakPython
import LeakReach
import LeakSymbols

/// One tracing session of one target process: the agent's stream, the
/// aggregator it feeds, eager symbolization, and the snapshots written from
/// them. Shared by `run` and `attach`; the front ends only differ in how the
/// agent gets into the target.
///
/// A process that execs keeps its session: the new image's agent connects
/// again with the same pid, and the session goes on with a fresh aggregator
/// and frame cache (the old image's blocks and addresses died with it).
public final class TracingSession: @unchecked Sendable {
    public let pid: Int32
    public let store: SnapshotStore
    private let mode: SnapshotMetadata.Mode
    private let frames: UInt32
    private let frameCache: FrameCache
    private let startTime = Date()
    private let lock = NSLock()
    private var sequence: UInt32 = 0
    /// The first snapshot waited for CPython's allocators to be wrapped (see `takeSnapshot`).
    private var waitedForPython = false
    /// Guards `current` and `command`, which change at an exec.
    private let imageLock = NSLock()
    private var current: AgentConnection
    private var command: [String]
    private var listener: AgentListener?
    /// Why the agent's connection was refused, if it was (another build's protocol).
    public var refusal: String? { imageLock.withLock { refusalValue } }
    /// This session's process connected with an agent that was refused; a
    /// wait for its agent ends now instead of at its timeout.
    public func noteRefusal(_ why: String) {
        let waiting = imageLock.withLock {
            refusalValue = why
            return current
        }
        waiting.refuseHello()
    }
    private var refusalValue: String?
    /// Called (on the accepting thread) after an exec, with the new image's command line.
    public var onExec: (([String]) -> Void)?

    /// A session fed by its own listener: every stream from `pid` (its
    /// images, one after the other) is taken, any other refused.
    /// - Parameter listener: the socket the agent will connect to.
    public convenience init(pid: Int32, mode: SnapshotMetadata.Mode, frames: UInt32, command: [String], store: SnapshotStore, listener: EventListener) {
        self.init(pid: pid, mode: mode, frames: frames, command: command, store: store)
        self.listener = AgentListener(listener: listener, refused: { [weak self] agentPID, why in
            if agentPID == pid { self?.noteRefusal(why) }
        }) { [weak self] stream in
            guard let self, stream.peerPID == pid else { return false }
            adopt(stream)
            return true
        }
    }

    /// A session fed by `adopt`, for a front end that routes one listener's
    /// streams to several sessions (`run --follow-forks`).
    public init(pid: Int32, mode: SnapshotMetadata.Mode, frames: UInt32, command: [String], store: SnapshotStore) {
        self.pid = pid
        self.mode = mode
        self.frames = frames
        self.command = command
        self.store = store
        frameCache = FrameCache(pid: pid)
        current = AgentConnection(aggregator: Aggregator())
        wire(current)
    }

    private func wire(_ connection: AgentConnection) {
        let cache = frameCache
        connection.onNewStacks = { cache.enqueue($0) }
        connection.onHello = { _ in cache.prepare() }
        // The exiting process waits for us: scan it if asked (first: the
        // agent waits only so long), and finish symbolizing while its
        // memory map can still be read.
        connection.onExiting = { [weak self] in
            self?.scanBeforeExit()
            cache.waitUntilIdle(timeout: 2.5)
        }
    }

    private var connection: AgentConnection { imageLock.withLock { current } }

    /// Takes a stream of this session's process. The first is its first
    /// image; a later one comes from the image it exec'd, whose stream
    /// replaces the old one (which ended at the exec) with a fresh aggregator.
    public func adopt(_ stream: AgentStream) {
        let previous = connection
        guard previous.isStarted else {
            previous.start(stream)
            return
        }
        // The old image's socket closed at the exec; its reader is at most
        // a buffer behind.
        if !previous.waitUntilClosed(timeout: 2) {
            previous.shutDown()
            previous.waitUntilClosed(timeout: 1)
        }
        let next = AgentConnection(aggregator: Aggregator())
        wire(next)
        frameCache.reset()
        imageLock.withLock {
            current = next
            if !stream.commandLine.isEmpty { command = stream.commandLine }
        }
        next.start(stream)
        onExec?(imageLock.withLock { command })
    }

    /// Waits for the agent's hello.
    public func waitForAgent(timeout: Double) -> Bool {
        connection.waitForHello(timeout: timeout) != nil
    }

    /// True once the agent's stream ended (target exited, exec'd, or agent stopped).
    public var agentGone: Bool { connection.closed }

    /// How the current image's stream ended (nil while open). Silent
    /// endings are an exec into a program that did not load the agent
    /// (statically linked, setuid, LD_PRELOAD cleared), a closed socket, or
    /// a death by signal.
    public var streamEnding: StreamEnding? { connection.ending }

    /// Why a CPython target's stacks hold no Python frames, if that is so.
    public var pythonNote: String? { PythonFrameResolver.unsupportedNote(pid: pid) }

    /// What became of CPython's object allocators: waits (up to `timeout`)
    /// while the agent is still waiting for the interpreter or the GIL.
    public func pythonAllocators(timeout: Double) -> PythonAllocators? {
        connection.waitForPythonAllocators(timeout: timeout)
    }

    /// One line about Python objects in a CPython target: traced, or why not; nil for other processes.
    public func pythonAllocatorsNote(timeout: Double) -> String? {
        guard let allocators = pythonAllocators(timeout: timeout), allocators.state != .notPython else { return nil }
        if allocators.state == .wrapped {
            return "pid \(pid) runs CPython 3.\(allocators.minor): its object allocators are wrapped, every Python object allocated from now on is traced"
        }
        let why = allocators.refusal ?? "the GIL did not come within \(Int(timeout)) s"
        return "pid \(pid) runs CPython 3.\(allocators.minor), but its object allocators were left alone (\(why)): only blocks from malloc are traced"
    }

    /// Runs gc.collect() in a CPython target, with the GIL, so that
    /// garbage in reference cycles is gone before the next snapshot.
    /// Returns the number of objects it collected.
    public func collectGarbage(timeout: Double = 60) throws -> Int64 {
        let connection = self.connection
        switch connection.collectGarbage(timeout: timeout) {
        case let .collected(count)?:
            return count
        case let .refused(state)?:
            switch state {
            case .notPython?: throw CollectorError("pid \(pid) does not run CPython 3.11 or later: there is no garbage collector to run")
            case .collectorDisabled?: throw CollectorError("pid \(pid) turned its garbage collector off (gc.disable()); nothing was collected")
            default:
                let why = PythonAllocators(state: state, minor: 0).refusal ?? "it could not"
                throw CollectorError("gc.collect() did not run in pid \(pid): \(why)")
            }
        case nil:
            throw CollectorError(connection.closed ? "the agent in pid \(pid) is gone" : "gc.collect() in pid \(pid) did not finish within \(Int(timeout)) s")
        }
    }

    /// The command line of the image traced now.
    public var commandLine: [String] { imageLock.withLock { command } }

    /// Why the stream ended badly, if it did (a broken frame, an agent that gave up).
    public var problem: String? {
        let connection = self.connection
        if let failure = connection.streamFailure { return failure }
        if let status = connection.status, !status.isRequestedStop { return status.explanation }
        return nil
    }

    /// The totals now; in sampled mode bytes and blocks are estimates, as
    /// in the snapshots (the gates compare them with their limits).
    public var counters: AggregatorCounters {
        connection.withAggregator { $0.weigh == nil ? $0.counters : SnapshotAssembler.estimate($0.counters) }
    }

    /// A reachability scan, given the way to read the live blocks once the
    /// target is paused (it syncs with the agent first); stacks in the scan
    /// are the blocks' `KnownBlock.stack`.
    public typealias Scan = (_ knownBlocks: () -> [KnownBlock]) throws -> ReachabilityScan

    /// Held while a scan keeps the target stopped.
    private let scanLock = NSLock()

    /// Runs `body` while no scan holds the target stopped. The tracer thread
    /// belongs to the target's parent when swiftleak launched it, and the
    /// kernel reports ptrace stops to a parent's waitpid too: a wait for the
    /// program's exit must not run during a scan.
    public func outsideScans<T>(_ body: () throws -> T) rethrows -> T {
        scanLock.lock()
        defer { scanLock.unlock() }
        return try body()
    }

    private let exitLock = NSLock()
    private var exitScanValue: Scan?
    private var exitScanOutcome: Result<String, Error>?

    /// `run --leaks-at-exit`: the scan to make when the agent says its
    /// process is exiting (it waits for our go-ahead).
    public var scanAtExit: Scan? {
        get { exitLock.withLock { exitScanValue } }
        set { exitLock.withLock { exitScanValue = newValue } }
    }

    /// The snapshot the exit scan wrote, or why it failed; nil when none was made.
    public var exitScan: Result<String, Error>? { exitLock.withLock { exitScanOutcome } }

    private func scanBeforeExit() {
        guard let scan = scanAtExit else { return }
        // No sync: the agent flushed everything before saying it exits, and
        // this runs on the thread that would read the sync's answer.
        let outcome = Result { try takeSnapshot(final: false, scan: scan, syncing: false) }
        exitLock.withLock { exitScanOutcome = outcome }
    }

    /// Writes a snapshot of everything the target did up to now; returns its path.
    public func takeSnapshot(final: Bool) throws -> String {
        try takeSnapshot(final: final, readingTypes: false).path
    }

    /// Writes a snapshot of everything the target did up to now; returns its
    /// path. With `scan`, the snapshot carries its result.
    public func takeSnapshot(final: Bool, scan: Scan?, syncing: Bool = true) throws -> String {
        try takeSnapshot(final: final, readingTypes: false, scan: scan, syncing: syncing).path
    }

    /// Writes a snapshot whose live blocks are also counted by type (section
    /// 13); returns its path and a line on how many blocks were named.
    public func takeTypesSnapshot() throws -> (path: String, summary: String) {
        let (path, census) = try takeSnapshot(final: false, readingTypes: true)
        guard let census else { return (path, "") }
        var summary = String(format: "%d of %d live blocks named by type in %.0f ms",
                             census.blocksNamed, census.blocksTotal, census.seconds * 1000)
        let unread = census.blocksTotal - census.blocksRead
        if unread > 0 { summary += " (\(unread) could not be read: freed meanwhile)" }
        return (path, summary)
    }

    private func takeSnapshot(final: Bool, readingTypes: Bool, scan: Scan? = nil,
                              syncing: Bool = true) throws -> (path: String, census: BlockTypeCensus?) {
        lock.lock()
        defer { lock.unlock() }
        let (connection, command) = imageLock.withLock { (current, self.command) }
        var reachability: ReachabilityScan?
        if let scan {
            scanLock.lock()
            defer { scanLock.unlock() }
            reachability = try scan {
                if syncing && !connection.closed { _ = connection.sync(timeout: 5) }
                return connection.withAggregator(BlockTypeCensus.liveBlocks)
            }
        } else if syncing && !connection.closed {
            // A launched interpreter's objects are traced once the agent could
            // wrap its allocators; the first snapshot waits for that, bounded,
            // so it does not miss the objects of the program's first moments.
            if !waitedForPython {
                waitedForPython = true
                _ = connection.waitForPythonAllocators(timeout: 5)
            }
            _ = connection.sync(timeout: 5)
        }
        frameCache.waitUntilIdle(timeout: 30)
        let (stacks, ages, counters, blocks) = connection.withAggregator {
            ($0.stacks, SnapshotAssembler.ages(of: $0, now: connection.clockNow), $0.counters,
             readingTypes ? BlockTypeCensus.liveBlocks(of: $0) : nil)
        }
        let census = blocks.map { BlockTypeCensus(pid: pid, blocks: $0) }
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
        let targetPID = pid
        var snapshot = SnapshotAssembler.assemble(stacks: stacks, ages: ages, types: census?.typesByStack,
                                                  counters: counters, metadata: metadata,
                                                  sampleBytes: UInt64(hello?.sampleBytes ?? 0),
                                                  buildID: { BuildID.read(module: $0, pid: targetPID) }) {
            frameCache.frames(for: $0)
        }
        if let reachability {
            // Blocks the scan saw are live, so their stacks are kept.
            let indices = SnapshotAssembler.snapshotStackIndices(stacks)
            snapshot.reachability = reachability.renumberingStacks { indices[$0] ?? 0 }
        }
        let bytes = SnapshotCodec.encode(snapshot)
        let path = try store.write(bytes, name: SnapshotStore.fileName(timeNanoseconds: now, sequence: sequence, isFinal: final))
        return (path, census)
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
        listener?.stop()
    }

    /// Ends the session's threads once its final snapshot is written.
    public func close() {
        listener?.stop()
        frameCache.close()
    }

    /// Waits until the agent's stream has ended.
    public func waitUntilAgentGone(timeout: Double) -> Bool {
        connection.waitUntilClosed(timeout: timeout)
    }

    private static func nanoseconds(_ date: Date) -> UInt64 {
        UInt64(max(0, date.timeIntervalSince1970 * 1e9))
    }
}
