/// A heap block the tracer saw allocated and not yet freed.
public struct KnownBlock: Hashable, Sendable {
    public var address: UInt64
    public var size: UInt64
    /// Whose allocation it was (the caller's stack index; kept, never read here).
    public var stack: UInt32

    public init(address: UInt64, size: UInt64, stack: UInt32) {
        self.address = address
        self.size = size
        self.stack = stack
    }
}

/// A copy of one range of the target's memory, taken while it was paused.
public struct MemorySpan: Sendable {
    /// What the span is to the scan.
    public enum Role: Sendable, Equatable {
        /// A writable mapping: every word outside known blocks is a root
        /// (memory the tracer does not know may hold the only pointer).
        case mapping
        /// A thread's live stack (from its stack pointer up) or its
        /// registers: every word is a root.
        case thread
    }

    public var start: UInt64
    public var bytes: [UInt8]
    public var role: Role
    /// Shown in a retainer chain ("[heap]", "thread 4242 stack", a module path).
    public var name: String
    /// Retainer chains start from the lowest rank that reaches a block, the
    /// shortest among those: a global names what keeps memory alive better
    /// than a stale word on a stack. Reachability itself does not depend on it.
    public var rank: Int

    public init(start: UInt64, bytes: [UInt8], role: Role, name: String, rank: Int = 0) {
        self.start = start
        self.bytes = bytes
        self.role = role
        self.name = name
        self.rank = rank
    }

    public var end: UInt64 { start + UInt64(bytes.count) }
}
