import Glibc
import LeakInject
import LeakProc
import LeakReach

/// A reachability scan of a live process: pause, copy, resume, analyse.
public struct ProcessScan: Sendable {
    public var blocks: [KnownBlock]
    public var result: ReachResult
    /// The copied memory's names, indexed like `ReachResult.Retainer.root`'s span.
    public var spanNames: [String]
    /// How long the target's threads were stopped.
    public var pauseSeconds: Double
    /// From the first stop to the end of the analysis.
    public var totalSeconds: Double
    public var copiedBytes: UInt64
    public var threads: Int

    /// Scans `pid`. `knownBlocks` runs while every thread but the agent's is
    /// stopped: it lets the agent deliver every event that happened before
    /// the pause (a SYNC) and returns the tracer's live blocks. A block whose
    /// event was still in flight is unknown to it, so its memory counts as a
    /// root: the scan can only under-report.
    public static func run(pid: Int32, knownBlocks: () throws -> [KnownBlock]) throws -> ProcessScan {
        let agent = AgentFootprint.agentThread(pid: pid)
        let paused = try PausedProcess(pid: pid) { $0 != agent }
        defer { paused.resume() }
        let blocks = try knownBlocks()
        // The agent's thread too, now it has flushed: its stack is ours to skip.
        try paused.pauseMore { _ in true }
        let image = try MemoryImage.copy(from: paused, agentThread: agent)
        paused.resume()
        let pause = Clock.monotonic() - paused.pausedAt
        let result = Reachability.analyse(blocks: blocks, spans: image.spans)
        return ProcessScan(blocks: blocks, result: result, spanNames: image.spans.map(\.name),
                           pauseSeconds: pause, totalSeconds: Clock.monotonic() - paused.pausedAt,
                           copiedBytes: image.copiedBytes, threads: paused.threads.count)
    }
}

/// Monotonic seconds, the clock `PausedProcess.pausedAt` is on.
enum Clock {
    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
