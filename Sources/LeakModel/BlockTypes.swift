/// Live blocks of one site that memory named as one type (a Swift class,
/// a C++ polymorphic class, a Python type): what `swiftleak types` counts.
public struct BlockTypeCount: Hashable, Sendable {
    /// The type's name as people read it: `module.Type`, `ns::Class`, `list`.
    public var name: String
    public var blocks: UInt64
    public var bytes: UInt64

    public init(name: String, blocks: UInt64, bytes: UInt64) {
        self.name = name
        self.blocks = blocks
        self.bytes = bytes
    }

    /// Counts `other`'s blocks too (groups sum their sites' types).
    mutating func add(_ other: BlockTypeCount) {
        blocks &+= other.blocks
        bytes &+= other.bytes
    }
}

/// What `--group-by type` calls the blocks whose memory named no type.
public let unknownTypeName = "unknown"

extension Snapshot {
    /// Whether the collector read the types of the live blocks (`swiftleak
    /// types`). When false, grouping by type has nothing to group on.
    public var hasBlockTypes: Bool { sites.contains { $0.types != nil } }
}

/// The frame that stands for a type group in `Statistic.traceback`: reports
/// print a group by its frame, and a type has no code location, only a name.
public func typeFrame(_ name: String) -> Frame {
    Frame(function: name, address: 0)
}
