/// Live memory attributed to one call stack at the moment of a snapshot.
public struct Site: Hashable, Sendable {
    /// Index into `Snapshot.stacks`.
    public var stack: Int
    /// Live bytes allocated from this stack.
    public var size: UInt64
    /// Live blocks allocated from this stack.
    public var count: UInt64

    public init(stack: Int, size: UInt64, count: UInt64) {
        self.stack = stack
        self.size = size
        self.count = count
    }
}
