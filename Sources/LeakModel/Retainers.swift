/// Held memory of one group (grouped like `top`) and the chains that hold it.
public struct RetainedGroup: Hashable, Sendable {
    /// The group's representative frames, as `Statistic.traceback`.
    public var traceback: [Frame]
    public var blocks: UInt64
    public var bytes: UInt64
    /// Biggest first; identical chains (same root, same sites between) together.
    public var chains: [HoldingChain]
}

/// One way from a root to held blocks.
public struct HoldingChain: Hashable, Sendable {
    /// "global `sessions` (app .bss)", "thread 42 stack", ...
    public var root: String
    /// The representative frame of each site between root and held block,
    /// root side first; one entry per run of blocks of one site.
    public var via: [Frame]
    public var blocks: UInt64
    public var bytes: UInt64

    public init(root: String, via: [Frame], blocks: UInt64, bytes: UInt64) {
        self.root = root
        self.via = via
        self.blocks = blocks
        self.bytes = bytes
    }
}

/// objgraph's show_backrefs for a scanned snapshot: why reachable memory is
/// still alive, as the shortest chains from named roots. Pure.
public enum Retainers {
    public static func groups(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [RetainedGroup] {
        guard let scan = snapshot.reachability else { return [] }
        var groups: [GroupingKey: RetainedGroup] = [:]
        var chainIndex: [GroupingKey: [HoldingChainKey: Int]] = [:]
        for chain in scan.retainers {
            let frames = foldedFrames(snapshot, stack: chain.stack, options: options)
            guard TraceFilter.keeps(frames, filters: options.filters) else { continue }
            let key = GroupKey(frames[0], groupBy: groupBy).map(GroupingKey.frame) ?? .stack(frames)
            let via = chain.via.map { foldedFrames(snapshot, stack: $0, options: options)[0] }
            // Sites that fold to one frame read as one step.
            var steps: [Frame] = []
            for frame in via where steps.last != frame { steps.append(frame) }
            var group = groups[key] ?? RetainedGroup(traceback: groupBy == .traceback ? frames : [frames[0]], blocks: 0, bytes: 0, chains: [])
            group.blocks += chain.blocks
            group.bytes += chain.bytes
            let chainKey = HoldingChainKey(root: chain.root, via: steps)
            if let i = chainIndex[key]?[chainKey] {
                group.chains[i].blocks += chain.blocks
                group.chains[i].bytes += chain.bytes
            } else {
                chainIndex[key, default: [:]][chainKey] = group.chains.count
                group.chains.append(HoldingChain(root: chain.root, via: steps, blocks: chain.blocks, bytes: chain.bytes))
            }
            groups[key] = group
        }
        return groups.values.map { group in
            var sorted = group
            sorted.chains.sort { ($0.bytes, $1.root) > ($1.bytes, $0.root) }
            return sorted
        }.sorted { ($0.bytes, $0.blocks) > ($1.bytes, $1.blocks) }
    }

    /// A group: one frame's key, or a whole stack (`--group-by traceback`).
    private enum GroupingKey: Hashable {
        case frame(GroupKey)
        case stack([Frame])
    }

    private struct HoldingChainKey: Hashable {
        var root: String
        var via: [Frame]
    }

    static func foldedFrames(_ snapshot: Snapshot, stack: Int, options: AnalysisOptions) -> [Frame] {
        var frames = snapshot.stacks.indices.contains(stack)
            ? snapshot.stacks[stack].map { snapshot.frames.indices.contains($0) ? snapshot.frames[$0] : unknownFrame } : []
        if !options.raw { frames = AllocatorFrames.fold(frames) }
        return frames.isEmpty ? [unknownFrame] : frames
    }
}
