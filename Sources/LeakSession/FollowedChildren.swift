import Foundation
import Glibc
import LeakCollector
import LeakProc

/// `run --follow-forks`: one tracing session per descendant of the launched
/// program that connects (a fork child's agent starts a session of its own;
/// an exec'd child's agent connects like any other), each with its snapshots
/// in `<output>/<pid>/` and its final snapshot when it exits. Sessions are
/// added on the accepting thread and ended on the session loop's thread.
final class FollowedChildren: @unchecked Sendable {
    private let root: Int32
    private let output: String
    private let frames: UInt32
    private let enabled: Bool
    private let report: SessionReporter
    private let lock = NSLock()
    private var active: [Int32: TracingSession] = [:]
    private var refusedCount = 0

    init(root: Int32, output: String, frames: UInt32, enabled: Bool, report: @escaping SessionReporter) {
        self.root = root
        self.output = output
        self.frames = frames
        self.enabled = enabled
        self.report = report
    }

    /// Descendants that loaded the agent but were not traced (no --follow-forks).
    var refused: Int { lock.withLock { refusedCount } }

    /// Takes the stream of a descendant (a new child, or a followed child's
    /// next image after an exec); false for anyone else.
    func adopt(_ stream: AgentStream) -> Bool {
        let pid = stream.peerPID
        if let session = lock.withLock({ active[pid] }) {
            session.adopt(stream)
            return true
        }
        guard let parent = Self.ancestry(of: pid, reaching: root) else { return false }
        guard enabled else {
            lock.withLock { refusedCount += 1 }
            return false
        }
        let store: SnapshotStore
        do {
            store = try SnapshotStore(directory: "\(output)/\(pid)")
        } catch {
            report(.warning("child pid \(pid) is not traced: \(error)"))
            return false
        }
        let session = TracingSession(pid: pid, mode: .run, frames: frames, command: stream.commandLine, store: store)
        let report = report
        session.onExec = { command in
            report(.note("pid \(pid) exec'd \(TracingEndNotes.text(command)); tracing goes on in the new image"))
        }
        lock.withLock { active[pid] = session }
        report(.note("following pid \(pid) (\(TracingEndNotes.text(session.commandLine))), a child of pid \(parent); its snapshots go to \(store.directory)/"))
        session.adopt(stream)
        return true
    }

    /// Every followed child's session now, for signals and snapshots by hand.
    var sessions: [TracingSession] { lock.withLock { Array(active.values) } }

    /// Ends the sessions of children that exited (stream over, process gone).
    func finishExited() {
        let exited = lock.withLock { active.values.filter { $0.agentGone } }
            .filter { !ProcessFacts.isRunning($0.pid) }
        for session in exited { finish(session, stillRunning: false) }
    }

    /// The launched program ended: every child session ends now. A child
    /// that still runs gets a final snapshot of what it did so far.
    func finishAll() {
        let deadline = Date(timeIntervalSinceNow: 2)
        for session in lock.withLock({ Array(active.values) }).sorted(by: { $0.pid < $1.pid }) {
            // A child that exited a moment ago: its last events are still being read.
            if !ProcessFacts.isRunning(session.pid) {
                _ = session.waitUntilAgentGone(timeout: max(0, deadline.timeIntervalSinceNow))
            }
            finish(session, stillRunning: ProcessFacts.isRunning(session.pid))
        }
    }

    private func finish(_ session: TracingSession, stillRunning: Bool) {
        lock.withLock { active[session.pid] = nil }
        let label = stillRunning
            ? "pid \(session.pid) runs on after the launched program ended; its final snapshot"
            : "pid \(session.pid) exited; its final snapshot"
        SnapshotWriter(session: session, report: report).write(final: true, label: label)
        if let warning = TracingEndNotes.warning(for: session, killedBySignal: nil) { report(.warning(warning)) }
        if stillRunning { session.stopAgent(timeout: 2) }
        session.close()
    }

    /// The parent of `pid` when `root` is among its ancestors, else nil.
    static func ancestry(of pid: Int32, reaching root: Int32) -> Int32? {
        var current = pid
        var parent: Int32?
        for _ in 0..<64 {
            guard let next = Self.parent(of: current), next > 0 else { return nil }
            if parent == nil { parent = next }
            if next == root { return parent }
            if next == 1 { return nil }
            current = next
        }
        return nil
    }

    private static func parent(of pid: Int32) -> Int32? {
        guard case let .success(status) = ProcDirectory(pid: pid).status() else { return nil }
        return status.fields["PPid"].flatMap { Int32($0) }
    }
}
