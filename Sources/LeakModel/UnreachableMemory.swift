/// One group of unreachable memory, grouped as `top` groups live memory.
public struct UnreachableStatistic: Hashable, Sendable {
    public var traceback: [Frame]
    public var size: UInt64
    public var count: UInt64
    /// Of which "definitely lost": nothing else unreachable points to them.
    public var directSize: UInt64
    public var directCount: UInt64

    public var indirectSize: UInt64 { size - directSize }
    public var indirectCount: UInt64 { count - directCount }
}

/// Identical leaked cycles (the same members by name and site) counted together.
public struct CycleGroup: Hashable, Sendable {
    /// Each member: its name (its type where known, else its allocating
    /// function) and its site's representative frame.
    public var members: [(name: String, frame: Frame)] {
        zip(memberNames, memberFrames).map { ($0, $1) }
    }
    public var memberNames: [String]
    public var memberFrames: [Frame]
    /// How many such cycles.
    public var instances: UInt64
    /// Blocks and bytes of the cycles and of what they own.
    public var blocks: UInt64
    public var bytes: UInt64
    /// Blocks outside the cycle that each cycle owns (an object's buffer), per cycle.
    public var ownedBlocksEach: UInt64
}

/// A reachability scan read as a report: unreachable memory by group, and
/// leaked cycles. Pure.
public enum UnreachableMemory {
    /// Names a block's type from its address and first bytes (Swift class
    /// metadata, a C++ vtable...); nil when memory does not say.
    public typealias TypeNamer = (_ address: UInt64, _ firstBytes: [UInt8]) -> String?

    /// Unreachable memory grouped like `Statistics.compute`, biggest first.
    public static func statistics(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [UnreachableStatistic] {
        guard let scan = snapshot.reachability else { return [] }
        let all = Statistics.compute(restricted(snapshot, scan.unreachable), groupBy: groupBy, options: options)
        let direct = Statistics.compute(restricted(snapshot, scan.unreachable.filter(\.isDirect)), groupBy: groupBy, options: options)
        var directByGroup: [[Frame]: Statistic] = [:]
        for stat in direct { directByGroup[stat.traceback] = stat }
        return all.map { stat in
            let d = directByGroup[stat.traceback]
            return UnreachableStatistic(traceback: stat.traceback, size: stat.size, count: stat.count,
                                        directSize: d?.size ?? 0, directCount: d?.count ?? 0)
        }
    }

    /// Leaked cycles, identical ones together, most bytes first.
    public static func cycles(_ snapshot: Snapshot, options: AnalysisOptions = AnalysisOptions(), typeName: TypeNamer? = nil) -> [CycleGroup] {
        guard let scan = snapshot.reachability else { return [] }
        var membersOf: [UInt32: [UnreachableBlock]] = [:]
        var ownedOf: [UInt32: [UnreachableBlock]] = [:]
        for block in scan.unreachable {
            if let cycle = block.cycle { membersOf[cycle, default: []].append(block) }
            if let owner = block.ownerCycle { ownedOf[owner, default: []].append(block) }
        }
        struct Key: Hashable {
            var names: [String]
            var frames: [Frame]
            var owned: Int
        }
        var groups: [Key: CycleGroup] = [:]
        var order: [Key] = []
        for cycle in membersOf.keys.sorted() {
            let members = membersOf[cycle]!.map { block -> (name: String, frame: Frame) in
                let frame = representativeFrame(snapshot, stack: block.stack, options: options)
                let name = block.typeName ?? typeName?(block.address, block.firstBytes) ?? siteName(frame)
                return (name, frame)
            }.sorted { ($0.name, $0.frame.line) < ($1.name, $1.frame.line) }
            let owned = ownedOf[cycle] ?? []
            let key = Key(names: members.map(\.name), frames: members.map(\.frame), owned: owned.count)
            let bytes = (membersOf[cycle]! + owned).reduce(UInt64(0)) { $0 + $1.size }
            if groups[key] == nil {
                order.append(key)
                groups[key] = CycleGroup(memberNames: key.names, memberFrames: key.frames, instances: 0, blocks: 0, bytes: 0,
                                         ownedBlocksEach: UInt64(owned.count))
            }
            groups[key]!.instances += 1
            groups[key]!.blocks += UInt64(members.count + owned.count)
            groups[key]!.bytes += bytes
        }
        return order.map { groups[$0]! }.sorted { $0.bytes > $1.bytes }
    }

    /// The frame `top` would show for a stack: frame 0 after folding.
    static func representativeFrame(_ snapshot: Snapshot, stack: Int, options: AnalysisOptions) -> Frame {
        Retainers.foldedFrames(snapshot, stack: stack, options: options)[0]
    }

    /// The snapshot with only `blocks` as its live memory, one site per stack.
    static func restricted(_ snapshot: Snapshot, _ blocks: [UnreachableBlock]) -> Snapshot {
        var totals: [Int: (size: UInt64, count: UInt64)] = [:]
        for block in blocks {
            totals[block.stack, default: (0, 0)].size += block.size
            totals[block.stack, default: (0, 0)].count += 1
        }
        let sites = totals.keys.sorted().map { Site(stack: $0, size: totals[$0]!.size, count: totals[$0]!.count) }
        return Snapshot(metadata: snapshot.metadata, frames: snapshot.frames, stacks: snapshot.stacks, sites: sites,
                        buildIDs: snapshot.buildIDs)
    }
}

extension UnreachableMemory {
    /// A cycle member without a known type is named by where it was
    /// allocated: two members from one function differ by line.
    static func siteName(_ frame: Frame) -> String {
        let function = frame.function ?? "0x" + String(frame.address, radix: 16)
        guard let file = frame.file, frame.line > 0 else { return function }
        return "\(function) at \(file.split(separator: "/").last.map(String.init) ?? file):\(frame.line)"
    }
}
