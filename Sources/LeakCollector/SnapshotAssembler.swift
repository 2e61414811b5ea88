import LeakAggregator
import LeakModel

/// Turns the aggregator's stacks (live, or with allocations since tracing
/// began) and the symbolized frames into a self-contained `Snapshot`.
enum SnapshotAssembler {
    /// Ages of the live blocks of one stack.
    struct StackAges {
        var histogram = AgeHistogram()
        var oldestSeconds: Double = 0
    }

    /// Ages of every live block at `now` (aggregator clock units,
    /// deciseconds), indexed by stack index (nil: no live block); call with
    /// the aggregator locked. An array, not a Dictionary: this visits every
    /// live block, millions of them at scale.
    static func ages(of aggregator: Aggregator, now: UInt32) -> [StackAges?] {
        var result = [StackAges?](repeating: nil, count: aggregator.stackCount)
        aggregator.forEachLiveBlock { block in
            let seconds = Double(now &- min(now, block.birth)) / 10
            let index = Int(block.stackIndex)
            if result[index] == nil { result[index] = StackAges() }
            result[index]!.histogram.add(ageSeconds: seconds, size: block.size)
            result[index]!.oldestSeconds = max(result[index]!.oldestSeconds, seconds)
        }
        weightAges(&result, of: aggregator, now: now)
        return result
    }

    /// Whether a stack gets a site in the snapshot: it holds live memory or
    /// allocated since tracing began.
    static func isKept(_ totals: StackTotals) -> Bool {
        totals.liveBlocks > 0 || totals.allocatedBlocks > 0
    }

    /// Snapshot stack index of each aggregator stack index (nil: not kept).
    static func snapshotStackIndices(_ stacks: [StackTotals]) -> [Int?] {
        var next = 0
        return stacks.map { totals in
            guard isKept(totals) else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// - Parameters:
    ///   - stacks: every interned stack, indexed as `LiveBlock.stackIndex`.
    ///   - framesOf: an address's frames, one per inline level, innermost first.
    ///   - types: named block types per stack index, when they were read;
    ///     every live site then gets a list (empty: all unknown).
    ///   - sampleBytes: the agent's sampling rate (its hello); 0 for exact.
    static func assemble(
        stacks allStacks: [StackTotals],
        ages: [StackAges?],
        types: [UInt32: [BlockTypeCount]]? = nil,
        counters observed: AggregatorCounters,
        metadata base: SnapshotMetadata,
        sampleBytes: UInt64 = 0,
        buildID: (String) -> String? = { _ in nil },
        frames framesOf: (UInt64) -> [Frame]
    ) -> Snapshot {
        var frames: [Frame] = []
        // Each address once, as one frame per inline level.
        var frameIndices: [UInt64: [Int]] = [:]
        var stacks: [[Int]] = []
        var sites: [Site] = []
        for (index, totals) in allStacks.enumerated() where isKept(totals) {
            let indices = totals.ips.flatMap { ip -> [Int] in
                if let indices = frameIndices[ip] { return indices }
                let levels = framesOf(ip)
                let indices = Array(frames.count..<frames.count + levels.count)
                frames.append(contentsOf: levels)
                frameIndices[ip] = indices
                return indices
            }
            let age = index < ages.count ? ages[index] : nil
            let figures = figures(of: totals, sampled: sampleBytes > 0)
            sites.append(Site(stack: stacks.count, size: figures.bytes, count: figures.blocks,
                              oldestAgeSeconds: age?.oldestSeconds, ages: age?.histogram, allocated: figures.allocated,
                              types: totals.liveBlocks > 0 ? types.map { $0[UInt32(index)] ?? [] } : nil))
            stacks.append(indices)
        }
        let counters = sampleBytes > 0 ? estimate(observed) : observed
        var metadata = base
        metadata.currentBytes = counters.currentBytes
        metadata.currentBlocks = counters.currentBlocks
        metadata.peakBytes = counters.peakBytes
        metadata.peakBlocks = counters.peakBlocks
        metadata.allocations = counters.allocations
        metadata.frees = counters.frees
        metadata.unknownFrees = counters.unknownFrees
        metadata.lostEvents = counters.lostEvents
        var buildIDs: [String: String] = [:]
        for module in Set(frames.compactMap(\.module)) {
            if let id = buildID(module) { buildIDs[module] = id }
        }
        let sampling = sampleBytes > 0 ? Sampling(meanBytes: sampleBytes, sampledLiveBlocks: observed.currentBlocks) : nil
        return Snapshot(metadata: metadata, frames: frames, stacks: stacks, sites: sites, buildIDs: buildIDs, sampling: sampling)
    }
}
