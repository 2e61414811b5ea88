import Foundation
import Glibc
import LeakCollector
import LeakInject

/// The main loop of `swiftleak attach`: inject, trace, answer snapshot and
/// detach requests (signals or the control socket), end cleanly when the
/// target exits.
final class AttachSession: @unchecked Sendable {
    let pid: Int32
    let output: String?
    let frames: UInt32
    let timeout: Double
    private let lock = NSCondition()
    private var finishedWith: Int32?
    /// Set when a detach begins: the agent's stream then ends because we
    /// asked it to, and the main loop must not mistake that for the target
    /// going away (a second final snapshot and exit status 1).
    private var detachStarted = false
    private var detachPath: String?

    private var periodic: PeriodicSnapshots

    init(pid: Int32, output: String?, frames: UInt32, timeout: Double, periodic: PeriodicSnapshots) {
        self.periodic = periodic
        self.pid = pid
        self.output = output
        self.frames = frames
        self.timeout = timeout
    }

    func run() throws -> Int32 {
        let facts: ProcessInfoSummary
        do {
            facts = try Injector.preflight(pid: pid)
        } catch let error as InjectError {
            throw CollectorError(error.description)
        }
        let agent = try AgentLocator.locate()
        let runtime = try RuntimeDirectory.ensure()
        let control = RuntimeDirectory.controlSocket(forTarget: pid, in: runtime)
        if let answer = try? ControlClient.send("status", toTarget: pid, timeout: 2), answer.hasPrefix("ok") {
            throw CollectorError("pid \(pid) is already traced by another swiftleak session; use `swiftleak snapshot \(pid)` or `swiftleak detach \(pid)`")
        }

        let placement = try EventSocketPlacement(pid: pid, runtime: runtime)
        let listener = try EventListener(path: placement.hostPath)
        defer { listener.removeFile() }
        let store = try SnapshotStore(directory: output ?? "swiftleak-\(pid)")
        let session = TracingSession(pid: pid, mode: .attach, frames: frames, command: ProcessFacts.commandLine(of: pid), store: store, listener: listener)

        let report: AttachReport
        do {
            report = try Injector.attach(AttachRequest(pid: pid, agentPath: agent, socketPathInTarget: placement.targetPath, frames: frames, timeout: timeout))
        } catch let error as InjectError {
            session.cancel()
            throw CollectorError(error.description)
        }
        guard session.waitForAgent(timeout: 5) else {
            session.cancel()
            throw CollectorError("the agent was loaded into pid \(pid) but did not connect to \(placement.targetPath); its hooks stay off")
        }
        Console.note(String(format: "attached to %d (%@) in %.0f ms; the longest pause of a thread was %.1f ms",
                            pid, facts.name, report.elapsedSeconds * 1000, report.pauseSeconds * 1000))
        Console.note("`swiftleak snapshot \(pid)` or `kill -USR1 \(getpid())` writes a snapshot to \(store.directory)/; Ctrl-C or `swiftleak detach \(pid)` detaches")

        let server = try ControlServer(path: control) { [self] request in
            answer(request, session: session)
        }
        defer { server.remove() }

        while true {
            if let status = lock.withLock({ finishedWith }) { return status }
            if periodic.isDue(), !lock.withLock({ detachStarted }), let path = snapshot(session) {
                Console.note("periodic snapshot written: \(path)")
                for expired in periodic.wrote(path) { unlink(expired) }
            }
            if let delivery = SignalWaiter.wait(timeout: max(0.01, min(0.2, periodic.secondsUntilDue() ?? 0.2))) {
                switch delivery.signal {
                case SIGUSR1:
                    if let path = snapshot(session) { Console.note("snapshot written: \(path)") }
                case SIGINT, SIGTERM, SIGHUP:
                    detach(session)
                default:
                    break
                }
                continue
            }
            if session.agentGone && !lock.withLock({ detachStarted }) {
                return targetEnded(session)
            }
        }
    }

    private func answer(_ request: String, session: TracingSession) -> String {
        switch request {
        case "status":
            return "ok attached to \(pid)"
        case "snapshot", "snapshot reset-peak":
            guard let path = snapshot(session) else { return "error the snapshot could not be written (see the attach session's messages)" }
            Console.note("snapshot written: \(path)")
            if request.hasSuffix("reset-peak") { session.resetPeak() }
            return "ok \(path)"
        case "detach":
            guard let path = detach(session) else { return "error detached, but the final snapshot could not be written" }
            return "ok \(path)"
        default:
            return "error unknown request \(request)"
        }
    }

    private func snapshot(_ session: TracingSession, final: Bool = false) -> String? {
        do {
            return try session.takeSnapshot(final: final)
        } catch {
            Console.warning("could not write the snapshot: \(error)")
            return nil
        }
    }

    /// Final snapshot, hooks off, agent idle; the target runs on.
    @discardableResult
    private func detach(_ session: TracingSession) -> String? {
        lock.lock()
        if detachStarted {
            // A second request (a signal and `swiftleak detach` together): answer with the first one's result.
            while finishedWith == nil { lock.wait() }
            defer { lock.unlock() }
            return detachPath
        }
        detachStarted = true
        lock.unlock()
        let path = snapshot(session, final: true)
        let stopped = session.stopAgent(timeout: 5)
        if let path { Console.note("final snapshot written: \(path)") }
        Console.note(stopped ? "detached from \(pid); its hooks are off and it runs on" : "detached from \(pid) (the agent did not confirm; it turns its hooks off when the socket closes)")
        lock.withLock {
            detachPath = path
            finishedWith = finishedWith ?? 0
            lock.broadcast()
        }
        return path
    }

    /// The stream ended without a detach: the target exited, or the agent gave up.
    private func targetEnded(_ session: TracingSession) -> Int32 {
        let path = snapshot(session, final: true)
        if let path { Console.note("final snapshot written: \(path)") }
        // The agent's socket closes while the kernel tears the process down,
        // a moment before /proc shows it as a zombie or gone: give it that moment.
        let deadline = Date(timeIntervalSinceNow: 1)
        while ProcessFacts.isRunning(pid) && Date() < deadline { usleep(5_000) }
        if !ProcessFacts.isRunning(pid) {
            Console.note("pid \(pid) exited; the session is over")
            return 0
        }
        Console.warning(session.problem ?? "the agent in pid \(pid) closed its stream; the process runs on untraced")
        return 1
    }
}

/// Where the agent's socket goes: in our private runtime directory, or, when
/// the target lives in another mount namespace (a container), in a private
/// directory inside the target's root, so the agent can reach it by path.
struct EventSocketPlacement {
    let hostPath: String
    let targetPath: String

    init(pid: Int32, runtime: String) throws {
        let name = "attach-\(pid)-\(getpid()).events"
        let filesystem = TargetFilesystem(pid: pid)
        if filesystem.sharesOurRoot {
            hostPath = runtime + "/" + name
            targetPath = hostPath
            return
        }
        let directory = "/tmp/swiftleak-\(getuid())"
        let hostDirectory = filesystem.hostPath(forTargetPath: directory)
        _ = try RuntimeDirectory.ensure(hostDirectory)
        targetPath = directory + "/" + name
        hostPath = filesystem.hostPath(forTargetPath: targetPath)
    }
}
