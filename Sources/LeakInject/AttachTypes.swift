/// What to inject where. `agentPath` is a path on this host; the injector
/// works out the path the target must use (see `AttachReport.agentPathInTarget`).
/// The socket at `socketPathInTarget` must already be listening: the agent
/// connects to it from inside `swiftleak_agent_attach`, before the call returns.
public struct AttachRequest {
    public var pid: Int32
    /// Host path of libswiftleak-agent.so.
    public var agentPath: String
    /// The collector's listening socket, named as the target sees it (see
    /// `TargetFilesystem.hostPath(forTargetPath:)` for binding it).
    public var socketPathInTarget: String
    /// Stack depth the agent captures, 1...SL_MAX_FRAMES.
    public var frames: UInt32
    /// Mean bytes between sampled allocations, at most 2^32-1 (the hello's
    /// field); 0: every allocation (exact).
    public var sampleBytes: UInt64
    /// How long to wait for a thread to park in a restartable system call.
    public var timeout: Double
    /// Attach to a process under a seccomp filter that cannot be read back
    /// (swiftleak without CAP_SYS_ADMIN) without checking our calls against
    /// it (`--ignore-seccomp`). A filter that can be read is always checked.
    public var ignoreSeccomp: Bool

    public init(pid: Int32, agentPath: String, socketPathInTarget: String, frames: UInt32 = 32, sampleBytes: UInt64 = 0,
                timeout: Double = 5, ignoreSeccomp: Bool = false) {
        self.ignoreSeccomp = ignoreSeccomp
        self.pid = pid
        self.agentPath = agentPath
        self.socketPathInTarget = socketPathInTarget
        self.frames = frames
        self.sampleBytes = sampleBytes
        self.timeout = timeout
    }
}

/// What an attach did, and what it cost the target.
public struct AttachReport {
    public var pid: Int32
    /// The one thread that was stopped and ran the remote calls.
    public var threadID: Int32
    /// The system call it was parked in ("read", "poll"...), restarted after.
    public var syscallName: String
    /// From the start of `Injector.attach` to the detach.
    public var elapsedSeconds: Double
    /// How long that thread was held (interrupt to detach). No other thread
    /// of the target was stopped, so this is the longest pause any saw.
    public var pauseSeconds: Double
    /// The agent's path as the target loaded it (a copy under
    /// /tmp/swiftleak-agent-<uid>/ when the target could not see ours).
    public var agentPathInTarget: String
    /// comm of the target.
    public var processName: String
}

/// Who the target is, as far as the checks before an attach found out.
public struct ProcessInfoSummary: Equatable {
    public var pid: Int32
    /// comm (at most 15 characters).
    public var name: String
    /// /proc/PID/exe, as the target's mount namespace names it.
    public var exePath: String
    /// Real uid and gid of the target.
    public var uid: UInt32
    public var gid: UInt32
}
