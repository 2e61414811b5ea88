/// What a reachability scan of the live process proved, kept in the
/// snapshot taken with it (optional section 12): the blocks nothing reaches
/// any more, and how the reachable ones are held.
public struct ReachabilityScan: Hashable, Sendable {
    /// How long the target's threads were stopped.
    public var pauseSeconds: Double
    /// From the first stop to the end of the analysis.
    public var totalSeconds: Double
    /// Live blocks the tracer knew when it scanned.
    public var knownBlocks: UInt64
    /// Bytes of the target's memory copied for the scan.
    public var copiedBytes: UInt64
    public var threads: UInt64
    public var unreachable: [UnreachableBlock]
    /// Shortest chains from a root to the reachable blocks, identical ones counted together.
    public var retainers: [RetainerChain]

    public init(pauseSeconds: Double, totalSeconds: Double, knownBlocks: UInt64, copiedBytes: UInt64, threads: UInt64,
                unreachable: [UnreachableBlock], retainers: [RetainerChain]) {
        self.pauseSeconds = pauseSeconds
        self.totalSeconds = totalSeconds
        self.knownBlocks = knownBlocks
        self.copiedBytes = copiedBytes
        self.threads = threads
        self.unreachable = unreachable
        self.retainers = retainers
    }

    /// The same scan with every stack index passed through `map`.
    public func renumberingStacks(_ map: (Int) -> Int) -> ReachabilityScan {
        var copy = self
        for i in copy.unreachable.indices { copy.unreachable[i].stack = map(copy.unreachable[i].stack) }
        for i in copy.retainers.indices {
            copy.retainers[i].stack = map(copy.retainers[i].stack)
            copy.retainers[i].via = copy.retainers[i].via.map(map)
        }
        return copy
    }
}

/// A live block that nothing outside the unreachable blocks points to.
public struct UnreachableBlock: Hashable, Sendable {
    /// Index into `Snapshot.stacks`: where it was allocated.
    public var stack: Int
    public var address: UInt64
    public var size: UInt64
    /// valgrind's "definitely lost"; false for "indirectly lost" (only other
    /// unreachable blocks point to it).
    public var isDirect: Bool
    /// Blocks with the same number form one pointer cycle (a retain cycle).
    public var cycle: UInt32?
    /// For a block outside cycles that a leaked cycle holds (an object's
    /// buffer): that cycle's number.
    public var ownerCycle: UInt32?
    /// Its first bytes (up to 16), from which a type can be named.
    public var firstBytes: [UInt8]
    /// The type its memory names (a Swift class, a C++ polymorphic class, a
    /// Python type), read while the process was alive; nil when unknown.
    public var typeName: String?

    public init(stack: Int, address: UInt64, size: UInt64, isDirect: Bool, cycle: UInt32?, ownerCycle: UInt32? = nil,
                firstBytes: [UInt8], typeName: String? = nil) {
        self.typeName = typeName
        self.stack = stack
        self.address = address
        self.size = size
        self.isDirect = isDirect
        self.cycle = cycle
        self.ownerCycle = ownerCycle
        self.firstBytes = firstBytes
    }
}

/// Blocks of one site held through one chain of pointers from a root.
public struct RetainerChain: Hashable, Sendable {
    /// Index into `Snapshot.stacks`: the held blocks' site.
    public var stack: Int
    /// The root: "global `name` (module .bss)", "thread 42 stack", "[heap] (unknown memory)".
    public var root: String
    /// Sites of the blocks between the root and the held block, root side
    /// first; a run of blocks of one site (a linked list) is one entry.
    public var via: [Int]
    public var blocks: UInt64
    public var bytes: UInt64

    public init(stack: Int, root: String, via: [Int], blocks: UInt64, bytes: UInt64) {
        self.stack = stack
        self.root = root
        self.via = via
        self.blocks = blocks
        self.bytes = bytes
    }
}
