import Glibc
import LeakInject
import LeakProc
import LeakReach

/// A reachability scan of a live process: pause, copy, resume, analyse.
public struct ProcessScan: @unchecked Sendable {
    public var blocks: [KnownBlock]
    public var result: ReachResult
    /// The copied memory's names, indexed like `ReachResult.Retainer.root`'s span.
    public var spanNames: [String]
    /// Spans of modules' writable data: module file and load base.
    var spanModules: [Int: (path: String, base: UInt64)]
    /// How long the target's threads were stopped.
    public var pauseSeconds: Double
    /// From the first stop to the end of the analysis.
    public var totalSeconds: Double
    public var copiedBytes: UInt64
    public var threads: Int
    /// Where the time went, in order: ("stop", s), ("sync", s), ...
    public var phases: [(name: String, seconds: Double)]

    /// Scans `pid`. `knownBlocks` runs while every thread but the agent's is
    /// stopped: it lets the agent deliver every event that happened before
    /// the pause (a SYNC) and returns the tracer's live blocks. A block whose
    /// event was still in flight is unknown to it, so its memory counts as a
    /// root: the scan can only under-report.
    public static func run(pid: Int32, knownBlocks: () throws -> [KnownBlock]) throws -> ProcessScan {
        let agent = AgentFootprint.agentThread(pid: pid)
        var phases: [(name: String, seconds: Double)] = []
        let start = Clock.monotonic()
        var mark = start
        var buffers = try MemoryImage.prepareBuffers(pid: pid)
        func phase(_ name: String) {
            let now = Clock.monotonic()
            phases.append((name, now - mark))
            mark = now
        }
        phase("prepare")
        let paused = try PausedProcess(pid: pid) { $0 != agent }
        defer { paused.resume() }
        phase("stop")
        let blocks = try knownBlocks()
        phase("sync")
        // The agent's thread too, now it has flushed: its stack is ours to skip.
        try paused.pauseMore { _ in true }
        let image = try MemoryImage.copy(from: paused, agentThread: agent, blocks: blocks, buffers: &buffers)
        paused.resume()
        phase("copy")
        let pause = Clock.monotonic() - paused.pausedAt
        let result = Reachability.analyse(blocks: blocks, spans: image.spans)
        phase("mark")
        return ProcessScan(blocks: blocks, result: result, spanNames: image.spans.map(\.name), spanModules: image.modules,
                           pauseSeconds: pause, totalSeconds: Clock.monotonic() - start,
                           copiedBytes: image.copiedBytes, threads: paused.threads.count, phases: phases)
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
