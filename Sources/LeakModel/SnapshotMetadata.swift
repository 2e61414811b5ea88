/// Who was traced, when, and the aggregator's totals and counters at that moment.
public struct SnapshotMetadata: Hashable, Sendable {
    /// How the agent came into the process.
    public enum Mode: String, Sendable {
        case run
        case attach
    }

    public var pid: Int32
    public var command: [String]
    /// Wall-clock time of the snapshot, nanoseconds since the Unix epoch.
    public var timeNanoseconds: UInt64
    /// Wall-clock time tracing started, nanoseconds since the Unix epoch.
    public var startNanoseconds: UInt64
    public var mode: Mode
    /// Stack depth the agent captured.
    public var framesDepth: UInt32
    /// 1 for the first snapshot of a session, then 2, 3...
    public var sequence: UInt32
    /// True for the snapshot written when the session ended.
    public var isFinal: Bool

    public var currentBytes: UInt64
    public var currentBlocks: UInt64
    public var peakBytes: UInt64
    public var peakBlocks: UInt64

    /// Allocation events seen since tracing started.
    public var allocations: UInt64
    /// Free events of blocks the aggregator knew.
    public var frees: UInt64
    /// Frees of addresses allocated before tracing started (ignored).
    public var unknownFrees: UInt64
    /// Events the agent could not record. Anything but 0 makes the numbers approximate.
    public var lostEvents: UInt64

    public init(
        pid: Int32, command: [String], timeNanoseconds: UInt64, startNanoseconds: UInt64,
        mode: Mode, framesDepth: UInt32, sequence: UInt32, isFinal: Bool,
        currentBytes: UInt64, currentBlocks: UInt64, peakBytes: UInt64, peakBlocks: UInt64,
        allocations: UInt64, frees: UInt64, unknownFrees: UInt64, lostEvents: UInt64
    ) {
        self.pid = pid
        self.command = command
        self.timeNanoseconds = timeNanoseconds
        self.startNanoseconds = startNanoseconds
        self.mode = mode
        self.framesDepth = framesDepth
        self.sequence = sequence
        self.isFinal = isFinal
        self.currentBytes = currentBytes
        self.currentBlocks = currentBlocks
        self.peakBytes = peakBytes
        self.peakBlocks = peakBlocks
        self.allocations = allocations
        self.frees = frees
        self.unknownFrees = unknownFrees
        self.lostEvents = lostEvents
    }
}
