/// Live memory attributed to one call stack at the moment of a snapshot,
/// and what the stack allocated since tracing began.
public struct Site: Hashable, Sendable {
    /// Index into `Snapshot.stacks`.
    public var stack: Int
    /// Live bytes allocated from this stack.
    public var size: UInt64
    /// Live blocks allocated from this stack.
    public var count: UInt64
    /// Age of the oldest live block of this site at snapshot time, in
    /// seconds; nil when the collector did not record ages.
    public var oldestAgeSeconds: Double?
    /// How the site's live blocks and bytes spread over ages; nil when the
    /// collector did not record ages.
    public var ages: AgeHistogram?
    /// Blocks and bytes allocated from this stack since tracing began, freed
    /// or not (churn beside leaks); nil in snapshots of older swiftleaks.
    public var allocated: AllocationTotals?
    /// The site's live blocks by the type their memory names, named types
    /// only (the rest are unknown); nil unless the snapshot read types.
    public var types: [BlockTypeCount]?

    public init(stack: Int, size: UInt64, count: UInt64, oldestAgeSeconds: Double? = nil, ages: AgeHistogram? = nil,
                allocated: AllocationTotals? = nil, types: [BlockTypeCount]? = nil) {
        self.stack = stack
        self.size = size
        self.count = count
        self.oldestAgeSeconds = oldestAgeSeconds
        self.ages = ages
        self.allocated = allocated
        self.types = types
    }

    /// False for a site kept only for its cumulative counts: everything it
    /// allocated was freed. Live-memory analyses skip such sites.
    public var isLive: Bool { count > 0 || size > 0 }
}

/// Allocations counted since tracing began (pprof's alloc_objects and alloc_space).
public struct AllocationTotals: Hashable, Sendable {
    public var blocks: UInt64
    public var bytes: UInt64

    public init(blocks: UInt64, bytes: UInt64) {
        self.blocks = blocks
        self.bytes = bytes
    }
}
