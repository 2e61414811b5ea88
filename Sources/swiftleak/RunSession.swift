import Glibc
import LeakCollector

/// The main loop of `swiftleak run`: spawn, trace, snapshot on SIGUSR1, final
/// snapshot when the target ends, exit with its status.
struct RunSession {
    let command: [String]
    let output: String?
    let frames: UInt32

    /// Returns the exit status to leave with: the target's.
    func run() throws -> Int32 {
        let agent = try AgentLocator.locate()
        let runtime = try RuntimeDirectory.ensure()
        let listener = try EventListener(path: "\(runtime)/run-\(getpid()).events")
        defer { listener.removeFile() }

        let pid = try TargetLauncher.spawn(command: command, agentPath: agent, socketPath: listener.path, frames: frames)
        let store: SnapshotStore
        do {
            store = try SnapshotStore(directory: output ?? "swiftleak-\(pid)")
        } catch {
            kill(pid, SIGKILL)
            _ = Self.reap(pid, blocking: true)
            throw error
        }
        let session = TracingSession(pid: pid, mode: .run, frames: frames, command: command, store: store, listener: listener)
        Console.note("tracing \(command[0]) (pid \(pid)); `kill -USR1 \(getpid())` writes a snapshot to \(store.directory)/")

        while true {
            if let status = Self.reap(pid, blocking: false) {
                return finish(session, status: status)
            }
            guard let delivery = SignalWaiter.wait(timeout: 0.2) else { continue }
            switch delivery.signal {
            case SIGUSR1:
                writeSnapshot(session, final: false)
            case SIGINT, SIGTERM, SIGHUP:
                writeSnapshot(session, final: true)
                // A terminal's Ctrl-C already reached the target (same process
                // group); pass on only what was sent to us alone.
                if delivery.sentByProcess { kill(pid, delivery.signal) }
                let status = Self.reap(pid, blocking: true) ?? 1
                session.cancel()
                return status
            default:
                continue  // SIGCHLD: the reap at the top of the loop handles it
            }
        }
    }

    private func finish(_ session: TracingSession, status: Int32) -> Int32 {
        // The agent's last events are still in the socket when the process is reaped.
        if !session.waitForAgent(timeout: 0) {
            session.cancel()
            Console.warning("\(command[0]) never loaded the agent (statically linked, setuid, or it cleared LD_PRELOAD); nothing was traced")
            return status
        }
        session.waitUntilAgentGone(timeout: 5)
        writeSnapshot(session, final: true)
        return status
    }

    private func writeSnapshot(_ session: TracingSession, final: Bool) {
        do {
            let path = try session.takeSnapshot(final: final)
            Console.note("\(final ? "final snapshot" : "snapshot") written: \(path)")
            if let problem = session.problem { Console.warning(problem) }
            let lost = session.counters.lostEvents
            if lost > 0 { Console.warning("\(lost) events were lost; sizes and counts are approximate") }
        } catch {
            Console.warning("could not write the snapshot: \(error)")
        }
    }

    /// The exit status of `pid` once it ended (128 + signal when killed), nil while it runs.
    static func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid { break }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return 1
        }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}
