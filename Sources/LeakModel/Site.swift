/// Live memory attributed to one call stack at the moment of a snapshot.
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

    public init(stack: Int, size: UInt64, count: UInt64, oldestAgeSeconds: Double? = nil, ages: AgeHistogram? = nil) {
        self.stack = stack
        self.size = size
        self.count = count
        self.oldestAgeSeconds = oldestAgeSeconds
        self.ages = ages
    }
}
