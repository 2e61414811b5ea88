/// Live bytes and blocks of one interned stack, as the aggregator counts
/// them, and what it allocated since tracing began (freed or not).
public struct StackTotals: Equatable, Sendable {
    /// The agent's id of the stack (`SL_REC_STACK`).
    public var stackID: UInt32
    /// Return addresses, innermost first.
    public var ips: [UInt64]
    public var liveBytes: UInt64 = 0
    public var liveBlocks: UInt64 = 0
    /// Successful allocations from this stack since tracing began (pprof's alloc_objects).
    public var allocatedBlocks: UInt64 = 0
    /// Bytes those allocations asked for (pprof's alloc_space).
    public var allocatedBytes: UInt64 = 0
    /// Sampled mode only: what the sampled blocks above stand for (`Aggregator.weigh`).
    public var estimated = WeightedTotals()

    public init(stackID: UInt32, ips: [UInt64]) {
        self.stackID = stackID
        self.ips = ips
    }
}
