import Foundation
import Glibc
import LeakCollector
import LeakModel

/// The main loop of `swiftleak run`: spawn, trace, snapshot on SIGUSR1 and
/// every `--every`, final snapshot when the target ends, gates, and exit
/// with the target's status.
struct RunSession {
    let command: [String]
    let output: String?
    let frames: UInt32
    var periodic: PeriodicSnapshots
    let gate: MemoryGate?
    let warmup: GateArguments.Warmup?

    /// Returns the exit status to leave with: the target's, or 97 when it
    /// succeeded but broke a gate.
    mutating func run() throws -> Int32 {
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
        var gates = GateWatch(gate: gate, warmup: warmup)
        Console.note("tracing \(command[0]) (pid \(pid)); `kill -USR1 \(getpid())` writes a snapshot to \(store.directory)/")

        while true {
            if let status = Self.reap(pid, blocking: false) {
                return finish(session, status: status, gates: &gates)
            }
            if gates.warmupIsDue() {
                gates.baseline = writeSnapshot(session, final: false, label: "warm-up snapshot")
            }
            if periodic.isDue() {
                if let path = writeSnapshot(session, final: false, label: "periodic snapshot") {
                    for expired in periodic.wrote(path) { unlink(expired) }
                }
            }
            gates.watchPeak(session) { writeSnapshot(session, final: false, label: "snapshot at the peak limit") }
            let wait = min(0.2, periodic.secondsUntilDue() ?? 0.2)
            guard let delivery = SignalWaiter.wait(timeout: max(wait, 0.01)) else { continue }
            switch delivery.signal {
            case SIGUSR1:
                let path = writeSnapshot(session, final: false, label: "snapshot")
                if gates.wantsSignalBaseline { gates.baseline = path }
            case SIGINT, SIGTERM, SIGHUP:
                writeSnapshot(session, final: true, label: "final snapshot")
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

    private func finish(_ session: TracingSession, status: Int32, gates: inout GateWatch) -> Int32 {
        // The agent's last events are still in the socket when the process is reaped.
        if !session.waitForAgent(timeout: 1) {
            session.cancel()
            Console.warning("\(command[0]) never loaded the agent (statically linked, setuid, or it cleared LD_PRELOAD); nothing was traced")
            return status
        }
        _ = session.waitUntilAgentGone(timeout: 5)
        guard let final = writeSnapshot(session, final: true, label: "final snapshot") else { return status == 0 ? 1 : status }
        guard gates.gate != nil else { return status }
        let passed = gates.report(finalPath: final)
        return status == 0 && !passed ? GateArguments.exitStatus : status
    }

    @discardableResult
    private func writeSnapshot(_ session: TracingSession, final: Bool, label: String) -> String? {
        do {
            let path = try session.takeSnapshot(final: final)
            Console.note("\(label) written: \(path)")
            if let problem = session.problem { Console.warning(problem) }
            let lost = session.counters.lostEvents
            if lost > 0 { Console.warning("\(lost) events were lost; sizes and counts are approximate") }
            return path
        } catch {
            Console.warning("could not write the \(label): \(error)")
            return nil
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
