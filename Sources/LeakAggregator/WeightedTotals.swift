/// Sums of per-block weights in sampled mode: each sampled block stands for
/// several blocks and bytes of the heap (the weights come from
/// `Aggregator.weigh`), so these sums are the estimates of what the
/// integer counts beside them only sample.
public struct WeightedTotals: Equatable, Sendable {
    public var liveBlocks: Double = 0
    public var liveBytes: Double = 0
    public var allocatedBlocks: Double = 0
    public var allocatedBytes: Double = 0

    public init() {}
}
