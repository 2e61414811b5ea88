import Glibc
import LeakCollector
import LeakModel
import LeakProc

/// `swiftleak run`: spawn the program with the agent preloaded, trace it
/// (through its execs: a wrapper that execs the real program hands the
/// session over to it), snapshot on SIGUSR1 and every `--every`, a final
/// snapshot when it ends, and the gates' verdict. With `followForks`, each
/// descendant is traced in a session of its own (`FollowedChildren`).
public struct RunSession {
    let command: [String]
    let output: String?
    let frames: UInt32
    /// Mean bytes between sampled allocations; 0: every allocation (exact).
    let sampleBytes: UInt64
    let periodic: PeriodicSnapshots
    let gate: MemoryGate?
    let warmup: Warmup?
    let followForks: Bool
    /// Scan for unreachable memory when the program exits (`--leaks-at-exit`).
    let leaksAtExit: Bool
    let report: SessionReporter

    public init(command: [String], output: String?, frames: UInt32, sampleBytes: UInt64 = 0, periodic: PeriodicSnapshots,
                gate: MemoryGate?, warmup: Warmup?, followForks: Bool = false, leaksAtExit: Bool = false,
                report: @escaping SessionReporter) {
        self.command = command
        self.output = output
        self.frames = frames
        self.sampleBytes = sampleBytes
        self.periodic = periodic
        self.gate = gate
        self.warmup = warmup
        self.followForks = followForks
        self.leaksAtExit = leaksAtExit
        self.report = report
    }

    public func run() throws -> RunOutcome {
        let agent = try AgentLocator.locate()
        let runtime = try RuntimeDirectory.ensure()
        let listener = try EventListener(path: "\(runtime)/run-\(getpid()).events")
        defer { listener.removeFile() }

        let pid = try TargetLauncher.spawn(command: command, agentPath: agent, socketPath: listener.path, frames: frames,
                                           sampleBytes: sampleBytes, followForks: followForks)
        let store: SnapshotStore
        do {
            store = try SnapshotStore(directory: output ?? "swiftleak-\(pid)")
        } catch {
            kill(pid, SIGKILL)
            _ = LaunchedTarget.reap(pid, blocking: true)
            throw error
        }
        let session = TracingSession(pid: pid, mode: .run, frames: frames, command: command, store: store)
        if leaksAtExit { session.scanAtExit = SnapshotWriter.scan(pid: pid) }
        let report = report
        session.onExec = { command in
            report(.note("pid \(pid) exec'd \(TracingEndNotes.text(command)); tracing goes on in the new image"))
        }
        let children = FollowedChildren(root: pid, output: store.directory, frames: frames, enabled: followForks, report: report)
        let agents = AgentListener(listener: listener, refused: { agentPID, why in
            report(.warning("pid \(agentPID) is not traced: \(why)"))
            if agentPID == pid { session.noteRefusal(why) }
        }) { stream in
            if stream.peerPID == pid {
                session.adopt(stream)
                return true
            }
            return children.adopt(stream)
        }
        defer { agents.stop() }
        let snapshots = SnapshotWriter(session: session, report: report)
        // `swiftleak snapshot PID` (and types, leaks, retainers) reach a run
        // as they reach an attach; a detach is an attach's alone.
        let requests = SessionRequests(pid: pid, session: session, snapshots: snapshots)
        let server: ControlServer?
        do {
            server = try ControlServer(path: RuntimeDirectory.controlSocket(forTarget: pid, in: runtime)) { [program = command[0]] request in
                switch request {
                case .status:
                    return .ok("running \(pid) under `swiftleak run`")
                case .detach:
                    return .error("pid \(pid) (\(program)) was started by `swiftleak run`, which traces it until it exits; end the run with Ctrl-C or `kill -TERM \(getpid())`")
                default:
                    return requests.answer(request) ?? .error("unexpected request \(request.line)")
                }
            }
        } catch {
            server = nil
            report(.warning("\(error); only `kill -USR1 \(getpid())` takes snapshots of this run"))
        }
        defer { server?.remove() }
        report(.note("tracing \(command[0]) (pid \(pid)); `swiftleak snapshot \(pid)` or `kill -USR1 \(getpid())` writes a snapshot to \(store.directory)/"))
        if let warning = store.warning { report(.warning(warning)) }

        var target = LaunchedTarget(pid: pid, program: command[0], session: session, snapshots: snapshots,
                                    gates: GateWatch(gate: gate, warmup: warmup), agents: agents, children: children)
        var loop = SessionLoop(periodic: periodic, snapshots: snapshots)
        let status = loop.run(&target)
        var leaks: Result<String, Error>?
        if leaksAtExit {
            leaks = session.exitScan ?? .failure(CollectorError("the program ended without the agent saying it was exiting (killed, or it exec'd a program without the agent); no scan was made"))
        }
        return RunOutcome(status: status, gates: target.verdict, leaks: leaks)
    }
}

/// How a run ended.
public struct RunOutcome {
    /// The program's exit status (128 + signal when killed), or 1 when its
    /// final snapshot could not be written.
    public var status: Int32
    /// The gates' verdict, when gates were set and the program ran to its end traced.
    public var gates: GateVerdict?
    /// With `--leaks-at-exit`: the snapshot of the scan at exit, or why there is none.
    public var leaks: Result<String, Error>?
}

/// The launched program while it is traced: its part of the shared loop.
struct LaunchedTarget: SessionFrontEnd {
    let pid: Int32
    let program: String
    let session: TracingSession
    let snapshots: SnapshotWriter
    var gates: GateWatch
    let agents: AgentListener
    let children: FollowedChildren
    private(set) var verdict: GateVerdict?

    mutating func finished() -> Int32? {
        // Not while --leaks-at-exit's scan holds the program stopped: our
        // wait would take the scan's ptrace stops away from it.
        guard let status = session.outsideScans({ Self.reap(pid, blocking: false) }) else { return nil }
        return programEnded(status: status)
    }

    var takesPeriodicSnapshots: Bool { true }

    mutating func beforeWait() {
        children.finishExited()
        if gates.warmupIsDue() {
            gates.baseline = snapshots.write(final: false, label: "warm-up snapshot")
        }
        let snapshots = self.snapshots
        gates.watchPeak(session) { snapshots.write(final: false, label: "snapshot at the peak limit") }
    }

    mutating func requestedSnapshot(_ path: String?) {
        if gates.wantsSignalBaseline { gates.baseline = path }
    }

    mutating func stop(_ delivery: SignalWaiter.Delivery) -> Int32? {
        snapshots.write(final: true, label: "final snapshot")
        // A terminal's Ctrl-C already reached the target (same process
        // group); pass on only what was sent to us alone.
        if delivery.sentByProcess { kill(pid, delivery.signal) }
        let status = Self.reap(pid, blocking: true) ?? 1
        session.cancel()
        children.finishAll()
        return status
    }

    private mutating func programEnded(status: Int32) -> Int32 {
        // The program may have exited with its last image's connection still queued.
        agents.drain()
        defer { children.finishAll() }
        // The agent's last events are still in the socket when the process is reaped.
        if !session.waitForAgent(timeout: 1) {
            session.cancel()
            if session.refusal != nil { return status }   // said when it connected
            snapshots.report(.warning("\(program) never loaded the agent (statically linked, setuid, or it cleared LD_PRELOAD); nothing was traced"))
            return status
        }
        _ = session.waitUntilAgentGone(timeout: 5)
        guard let final = snapshots.write(final: true, label: "final snapshot") else { return status == 0 ? 1 : status }
        // 128 + signal; an exit status above 128 only spares a warning.
        if let warning = TracingEndNotes.warning(for: session, killedBySignal: status > 128) { snapshots.report(.warning(warning)) }
        let refused = children.refused
        if refused > 0 {
            snapshots.report(.note("\(refused) child process\(refused == 1 ? "" : "es") of pid \(pid) loaded the agent and \(refused == 1 ? "was" : "were") not traced; `run --follow-forks` traces each in a session of its own"))
        }
        verdict = gates.verdict(finalPath: final)
        return status
    }

    /// The exit status of `pid` once it ended (128 + signal when killed), nil while it runs.
    static func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
        var status: Int32 = 0
        let result = retryingInterrupted { waitpid(pid, &status, blocking ? 0 : WNOHANG) }
        if result == 0 { return nil }
        guard result == pid else { return 1 }
        return WaitStatus(status).shellExitCode ?? 1
    }
}
