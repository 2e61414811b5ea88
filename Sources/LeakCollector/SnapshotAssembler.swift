import LeakAggregator
import LeakModel

/// Turns the aggregator's live stacks and the symbolized frames into a
/// self-contained `Snapshot`.
enum SnapshotAssembler {
    static func assemble(
        liveStacks: [StackTotals],
        counters: AggregatorCounters,
        metadata base: SnapshotMetadata,
        frame: (UInt64) -> Frame
    ) -> Snapshot {
        var frames: [Frame] = []
        var frameIndex: [UInt64: Int] = [:]
        var stacks: [[Int]] = []
        var sites: [Site] = []
        for totals in liveStacks where totals.liveBlocks > 0 {
            let indices = totals.ips.map { ip -> Int in
                if let index = frameIndex[ip] { return index }
                frameIndex[ip] = frames.count
                frames.append(frame(ip))
                return frames.count - 1
            }
            sites.append(Site(stack: stacks.count, size: totals.liveBytes, count: totals.liveBlocks))
            stacks.append(indices)
        }
        var metadata = base
        metadata.currentBytes = counters.currentBytes
        metadata.currentBlocks = counters.currentBlocks
        metadata.peakBytes = counters.peakBytes
        metadata.peakBlocks = counters.peakBlocks
        metadata.allocations = counters.allocations
        metadata.frees = counters.frees
        metadata.unknownFrees = counters.unknownFrees
        metadata.lostEvents = counters.lostEvents
        return Snapshot(metadata: metadata, frames: frames, stacks: stacks, sites: sites)
    }
}
