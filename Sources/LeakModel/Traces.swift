/// Stands in for a stack with no frames (or a bad index in a hand-built
/// snapshot) so every byte still lands in some group.
let unknownFrame = Frame(address: 0)

/// What a group is, across the snapshots of one analysis: the group key of
/// one frame, or a whole folded stack as indices into the analysis' shared
/// `InternedFrames` (equal indices are equal frames).
enum GroupIdentity: Hashable {
    case frame(GroupKey)
    case stack([Int32])

    /// A total order for ties, so output does not depend on hashing.
    func precedes(_ other: GroupIdentity, in table: InternedFrames) -> Bool {
        switch (self, other) {
        case let (.frame(a), .frame(b)): return a < b
        case let (.stack(a), .stack(b)):
            for (x, y) in zip(a, b) where x != y {
                return GroupKey.frameBefore(table.frames[Int(x)], table.frames[Int(y)])
            }
            return a.count < b.count
        case (.frame, .stack): return true
        case (.stack, .frame): return false
        }
    }
}

/// The frame table every snapshot of one analysis shares, so groups match
/// across snapshots by index.
struct SharedFrames {
    let table: InternedFrames
    /// Per snapshot, in the order given: the table index of each of its frames.
    let frameMaps: [[Int32]]
    let unknown: Int32
    /// The frame (`typeFrame`) of each block type the snapshots name, and of
    /// `unknownTypeName`: a type group is represented by it.
    let typeFrames: [String: Int32]

    init(_ snapshots: [Snapshot]) {
        var interner = FrameInterner()
        frameMaps = snapshots.map { interner.intern(framesOf: $0) }
        unknown = interner.intern(unknownFrame)
        var typeFrames: [String: Int32] = [:]
        for snapshot in snapshots where snapshot.hasBlockTypes {
            typeFrames[unknownTypeName] = typeFrames[unknownTypeName] ?? interner.intern(typeFrame(unknownTypeName))
            for site in snapshot.sites {
                for type in site.types ?? [] where typeFrames[type.name] == nil {
                    typeFrames[type.name] = interner.intern(typeFrame(type.name))
                }
            }
        }
        self.typeFrames = typeFrames
        table = interner.finish()
    }
}

/// Group totals plus the frames that represent each group (first seen wins,
/// so results follow the snapshot's order and are deterministic).
struct Groups {
    struct Entry {
        var identity: GroupIdentity
        /// The representative frames: the stack, or the frame that defines the group.
        var frames: [Int32]
        var size: UInt64
        var count: UInt64
        var oldest: Double?
    }

    private(set) var entries: [Entry] = []
    private var stackEntries: [[Int32]: Int] = [:]
    private var keyEntries: [GroupKey: Int] = [:]
    /// Per entry, its blocks by the type names its sites counted (section
    /// 13); nil when types are not counted for this grouping: the snapshot
    /// has none, the groups are types, or an age threshold applies (a
    /// site's types split all its live blocks, not its old ones).
    private var typeTotals: [[String: BlockTypeCount]]?

    /// Groups `snapshot`, whose frames `reader.table` holds as `frameMap` says.
    init(_ snapshot: Snapshot, frameMap: [Int32], groupBy: GroupBy, reader: TraceReader) {
        let table = reader.table
        if snapshot.hasBlockTypes && groupBy != .type && reader.options.olderThanSeconds == nil { typeTotals = [] }
        if groupBy == .traceback {
            // At most a group a site: each growth of the table rehashed every stack so far.
            stackEntries.reserveCapacity(snapshot.sites.count)
        }
        // Per table frame: its entry, -1 until first seen (a frame's key never changes).
        var frameEntries = [Int32](repeating: -1, count: groupBy == .traceback ? 0 : table.frames.count)
        // Per entry: the last trace that counted it (cumulative counts each group once per trace).
        var countedIn: [Int] = []
        var traceNumber = 0
        func entry(for frame: Int32) -> Int {
            if frameEntries[Int(frame)] >= 0 { return Int(frameEntries[Int(frame)]) }
            // GroupKey(frame:groupBy:) is nil only for .traceback, which never gets here.
            let key = GroupKey(table.frames[Int(frame)], groupBy: groupBy)!
            let index = keyEntries[key] ?? {
                entries.append(Entry(identity: .frame(key), frames: [frame], size: 0, count: 0, oldest: nil))
                typeTotals?.append([:])
                countedIn.append(-1)
                keyEntries[key] = entries.count - 1
                return entries.count - 1
            }()
            frameEntries[Int(frame)] = Int32(index)
            return index
        }
        reader.forEachTrace(in: snapshot, frameMap: frameMap) { stack, size, count, oldest, types in
            traceNumber += 1
            if groupBy == .type {
                // A site's blocks split over their named types; what no type claims is
                // unknown. The split is of all live blocks, so it does not combine with
                // an age threshold (the CLI refuses that).
                var blocks = count, bytes = size
                for type in types ?? [] {
                    add(entry(for: reader.typeFrames[type.name] ?? reader.unknown), type.bytes, type.blocks, oldest, nil)
                    blocks -= min(blocks, type.blocks)
                    bytes -= min(bytes, type.bytes)
                }
                if blocks > 0 || bytes > 0 {
                    add(entry(for: reader.typeFrames[unknownTypeName] ?? reader.unknown), bytes, blocks, oldest, nil)
                }
            } else if groupBy == .traceback {
                if let index = stackEntries[stack] {
                    add(index, size, count, oldest, types)
                } else {
                    stackEntries[stack] = entries.count
                    entries.append(Entry(identity: .stack(stack), frames: stack, size: 0, count: 0, oldest: nil))
                    typeTotals?.append([:])
                    add(entries.count - 1, size, count, oldest, types)
                }
            } else if reader.options.cumulative {
                // Each group once per trace, even when recursion repeats a frame.
                for frame in stack {
                    let index = entry(for: frame)
                    if countedIn[index] != traceNumber {
                        countedIn[index] = traceNumber
                        add(index, size, count, oldest, types)
                    }
                }
            } else {
                add(entry(for: keyFrame(stack, groupBy: groupBy, reader: reader)), size, count, oldest, types)
            }
        }
    }

    /// `PythonFrames.keyFrame` on indices.
    private func keyFrame(_ stack: [Int32], groupBy: GroupBy, reader: TraceReader) -> Int32 {
        switch groupBy {
        case .lineno, .filename, .function:
            return stack.first(where: { reader.isPython($0) }) ?? stack[0]
        case .module, .traceback, .type:
            return stack[0]
        }
    }

    private mutating func add(_ index: Int, _ size: UInt64, _ count: UInt64, _ oldest: Double?, _ types: [BlockTypeCount]?) {
        entries[index].size &+= size
        entries[index].count &+= count
        entries[index].oldest = Groups.older(entries[index].oldest, oldest)
        guard typeTotals != nil, let types else { return }
        for type in types {
            typeTotals![index][type.name, default: BlockTypeCount(name: type.name, blocks: 0, bytes: 0)].add(type)
        }
    }

    var countsTypes: Bool { typeTotals != nil }

    /// The blocks of entry `index` by type, most bytes first (then by name);
    /// nil when types are not counted for this grouping.
    func types(ofEntry index: Int) -> [BlockTypeCount]? {
        typeTotals.map { $0[index].values.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name } }
    }

    func entry(for identity: GroupIdentity) -> Entry? {
        switch identity {
        case let .frame(key): return keyEntries[key].map { entries[$0] }
        case let .stack(stack): return stackEntries[stack].map { entries[$0] }
        }
    }

    /// The larger known age; unknown only when both are.
    static func older(_ a: Double?, _ b: Double?) -> Double? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }
}
