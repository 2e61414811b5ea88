/// What the scan proved about each known block. Indices are positions in
/// the `KnownBlock` array given to `Reachability.analyse`.
public struct ReachResult: Sendable {
    /// How a reachable block was first reached: on a shortest chain from a root.
    public enum Retainer: Sendable, Equatable {
        /// A word at `address` in span `span` (a root) points into the block.
        case root(span: Int, address: UInt64)
        /// A word in another (reachable) block points into it.
        case block(Int)
    }

    /// A block nothing outside the unreachable blocks points to.
    public struct Unreachable: Sendable, Equatable {
        public var block: Int
        /// valgrind's "definitely lost": no other unreachable block points to
        /// it (or to its cycle); otherwise "indirectly lost".
        public var isDirect: Bool
        /// Index into `cycles`, when the block is part of one.
        public var cycle: Int?
        /// For a block outside any cycle that a direct cycle reaches (the
        /// buffer a leaked object owns): that cycle's index.
        public var ownerCycle: Int?
        /// The block's first 16 bytes (fewer for a smaller block), for naming its type.
        public var firstBytes: [UInt8]
    }

    /// Per block: its retainer when reachable, nil when unreachable.
    public var retainers: [Retainer?]
    public var unreachable: [Unreachable]
    /// Strongly connected components of more than one unreachable block
    /// (pointer cycles: retain cycles, doubly linked lists), as block indices.
    public var cycles: [[Int]]
    /// Blocks whose memory was in no span (cannot be scanned: anything only
    /// they point to may be called unreachable wrongly).
    public var unreadBlocks: Int
    /// Blocks dropped because they overlap another known block (a lost free).
    public var overlappingBlocks: Int

    public func isReachable(_ block: Int) -> Bool { retainers[block] != nil }
}
