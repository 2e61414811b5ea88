import Foundation
import Glibc
import LeakCollector
import LeakInject

/// `swiftleak attach`: inject the agent into a running process, trace it,
/// answer snapshot and detach requests (signals or the control socket), and
/// end cleanly when the target exits.
public struct AttachSession {
    let pid: Int32
    let output: String?
    let frames: UInt32
    /// Mean bytes between sampled allocations; 0: every allocation (exact).
    let sampleBytes: UInt64
    let timeout: Double
    let ignoreSeccomp: Bool
    let periodic: PeriodicSnapshots
    let report: SessionReporter

    public init(pid: Int32, output: String?, frames: UInt32, sampleBytes: UInt64 = 0, timeout: Double, ignoreSeccomp: Bool = false,
                periodic: PeriodicSnapshots, report: @escaping SessionReporter) {
        self.pid = pid
        self.output = output
        self.frames = frames
        self.sampleBytes = sampleBytes
        self.timeout = timeout
        self.ignoreSeccomp = ignoreSeccomp
        self.periodic = periodic
        self.report = report
    }

    /// Returns the exit status to leave with: 0 after a detach or the target's exit.
    public func run() throws -> Int32 {
        let facts: ProcessInfoSummary
        do {
            facts = try Injector.preflight(pid: pid)
        } catch let error as InjectError {
            throw CollectorError(error.description)
        }
        let agent = try AgentLocator.locate()
        let runtime = try RuntimeDirectory.ensure()
        let control = RuntimeDirectory.controlSocket(forTarget: pid, in: runtime)
        if case .ok? = try? ControlClient.send(.status, toTarget: pid, timeout: 2) {
            throw CollectorError("pid \(pid) is already traced by another swiftleak session; use `swiftleak snapshot \(pid)` or `swiftleak detach \(pid)`")
        }

        let placement = try EventSocketPlacement(pid: pid)
        defer { placement.remove() }
        let listener = try placement.listen(pid: pid)
        let store = try SnapshotStore(directory: output ?? "swiftleak-\(pid)")
        let session = TracingSession(pid: pid, mode: .attach, frames: frames, command: ProcessFacts.commandLine(of: pid), store: store, listener: listener)

        let injected: AttachReport
        do {
            injected = try Injector.attach(AttachRequest(pid: pid, agentPath: agent, socketPathInTarget: placement.targetPath, frames: frames,
                                                          sampleBytes: sampleBytes, timeout: timeout, ignoreSeccomp: ignoreSeccomp))
        } catch let error as InjectError {
            session.cancel()
            throw CollectorError(error.description)
        }
        guard session.waitForAgent(timeout: 5) else {
            session.cancel()
            if let why = session.refusal {
                throw CollectorError("the agent in pid \(pid) was refused: \(why); its hooks stay off")
            }
            throw CollectorError("the agent was loaded into pid \(pid) but did not connect to \(placement.targetPath); its hooks stay off")
        }
        let snapshots = SnapshotWriter(session: session, report: report)
        var target = AttachedTarget(pid: pid, session: session, snapshots: snapshots)
        if let note = session.pythonNote { report(.note(note)) }
        // Before "attached to": what the user does next must find Python objects traced.
        if let note = session.pythonAllocatorsNote(timeout: 5) { report(.note(note)) }
        let server = try ControlServer(path: control) { [target] request in
            target.answer(request)
        }
        defer { server.remove() }
        // Only now: whoever reads "attached to" may send `swiftleak snapshot` at once.
        report(.note(String(format: "attached to %d (%@) in %.0f ms; the longest pause of a thread was %.1f ms",
                            pid, facts.name, injected.elapsedSeconds * 1000, injected.pauseSeconds * 1000)))
        report(.note("`swiftleak snapshot \(pid)` or `kill -USR1 \(getpid())` writes a snapshot to \(store.directory)/; Ctrl-C or `swiftleak detach \(pid)` detaches"))
        if let warning = store.warning { report(.warning(warning)) }
        var loop = SessionLoop(periodic: periodic, snapshots: snapshots)
        return loop.run(&target)
    }
}

/// An attached target while it is traced: its answers to control requests
/// (on the control thread) and its part of the shared loop (on the main
/// thread), which share the ending.
final class AttachedTarget: SessionFrontEnd, @unchecked Sendable {
    let pid: Int32
    private let session: TracingSession
    private let snapshots: SnapshotWriter
    private let lock = NSCondition()
    private var finishedWith: Int32?
    /// Set when the session starts to end, by a detach or by the agent's
    /// stream ending. After a detach the stream ends because we asked it to,
    /// and the loop must not mistake that for the target going away; a
    /// detach request during either ending waits for it and gets its final
    /// snapshot (never a second one).
    private var ending = false
    private var finalPath: String?

    init(pid: Int32, session: TracingSession, snapshots: SnapshotWriter) {
        self.pid = pid
        self.session = session
        self.snapshots = snapshots
    }

    func answer(_ request: ControlRequest) -> ControlAnswer {
        switch request {
        case .status:
            return .ok("attached to \(pid)")
        case .detach:
            guard let path = detach() else { return .error("detached, but the final snapshot could not be written") }
            return .ok(path)
        default:
            return SessionRequests(pid: pid, session: session, snapshots: snapshots).answer(request)
                ?? .error("unexpected request \(request.line)")
        }
    }

    // MARK: - SessionFrontEnd

    func finished() -> Int32? {
        lock.lock()
        if let status = finishedWith {
            lock.unlock()
            return status
        }
        let streamEnded = !ending && session.agentGone
        if streamEnded { ending = true }
        lock.unlock()
        guard streamEnded else { return nil }
        let (status, path) = targetEnded()
        end(status: status, finalPath: path)
        return status
    }

    var takesPeriodicSnapshots: Bool { !lock.withLock { ending } }

    func beforeWait() {}

    func requestedSnapshot(_ path: String?) {}

    func stop(_ delivery: SignalWaiter.Delivery) -> Int32? {
        detach()
        return finished()
    }

    // MARK: - Endings

    /// Final snapshot, hooks off, agent idle; the target runs on.
    @discardableResult
    private func detach() -> String? {
        lock.lock()
        if ending {
            // A second request (a signal and `swiftleak detach` together), or the
            // stream ended first: answer with that ending's final snapshot.
            while finishedWith == nil { lock.wait() }
            defer { lock.unlock() }
            return finalPath
        }
        ending = true
        lock.unlock()
        let path = snapshots.write(final: true, label: "final snapshot")
        let stopped = session.stopAgent(timeout: 5)
        snapshots.report(.note(stopped ? "detached from \(pid); its hooks are off and it runs on" : "detached from \(pid) (the agent did not confirm; it turns its hooks off when the socket closes)"))
        end(status: 0, finalPath: path)
        return path
    }

    private func end(status: Int32, finalPath path: String?) {
        lock.withLock {
            finalPath = path
            finishedWith = status
            lock.broadcast()
        }
    }

    /// The stream ended without a detach: the target exited, or the agent gave up.
    /// Returns the exit status and the final snapshot.
    private func targetEnded() -> (Int32, String?) {
        let path = snapshots.write(final: true, label: "final snapshot")
        // The agent's socket closes while the kernel tears the process down,
        // a moment before /proc shows it as a zombie or gone: give it that moment.
        let deadline = Date(timeIntervalSinceNow: 1)
        while ProcessFacts.isRunning(pid) && Date() < deadline { usleep(5_000) }
        if !ProcessFacts.isRunning(pid) {
            snapshots.report(.note("pid \(pid) exited; the session is over"))
            return (0, path)
        }
        // A problem was already told with the snapshot, unless there was none.
        if path == nil || session.problem == nil {
            snapshots.report(.warning(session.problem ?? "the agent in pid \(pid) closed its stream; the process runs on untraced"))
        }
        return (1, path)
    }
}
