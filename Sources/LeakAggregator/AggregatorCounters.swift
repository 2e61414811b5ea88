/// Totals and counters of a tracing session, as a snapshot records them.
public struct AggregatorCounters: Equatable, Sendable {
    public var currentBytes: UInt64 = 0
    public var currentBlocks: UInt64 = 0
    public var peakBytes: UInt64 = 0
    public var peakBlocks: UInt64 = 0
    public var allocations: UInt64 = 0
    public var frees: UInt64 = 0
    /// Frees of addresses allocated before tracing started (or never seen).
    public var unknownFrees: UInt64 = 0
    /// Allocations reported at an address that was still live: a free was missed.
    public var replacedBlocks: UInt64 = 0
    /// Events the agent reported it could not record.
    public var lostEvents: UInt64 = 0
    /// Sampled mode only: estimated live blocks and bytes now and at their peak.
    public var estimatedBlocks: Double = 0
    public var estimatedBytes: Double = 0
    public var estimatedPeakBlocks: Double = 0
    public var estimatedPeakBytes: Double = 0

    public init() {}
}
