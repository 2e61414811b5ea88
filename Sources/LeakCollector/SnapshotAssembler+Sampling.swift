import LeakAggregator
import LeakModel

/// Sampled mode in a snapshot: the weighted sums (estimates) stand where an
/// exact snapshot has counts, so every analysis reads them unchanged, and
/// `Snapshot.sampling` says they are estimates.
extension SnapshotAssembler {
    /// A stack's live and allocated figures as the snapshot stores them.
    static func figures(of totals: StackTotals, sampled: Bool) -> (bytes: UInt64, blocks: UInt64, allocated: AllocationTotals) {
        guard sampled else {
            return (totals.liveBytes, totals.liveBlocks, AllocationTotals(blocks: totals.allocatedBlocks, bytes: totals.allocatedBytes))
        }
        let e = totals.estimated
        return (Sampling.rounded(e.liveBytes), Sampling.rounded(e.liveBlocks),
                AllocationTotals(blocks: Sampling.rounded(e.allocatedBlocks), bytes: Sampling.rounded(e.allocatedBytes)))
    }

    /// The session's totals as estimates (the event counters stay what was seen).
    static func estimate(_ counters: AggregatorCounters) -> AggregatorCounters {
        var c = counters
        c.currentBytes = Sampling.rounded(counters.estimatedBytes)
        c.currentBlocks = Sampling.rounded(counters.estimatedBlocks)
        c.peakBytes = Sampling.rounded(counters.estimatedPeakBytes)
        c.peakBlocks = Sampling.rounded(counters.estimatedPeakBlocks)
        return c
    }

    /// Age histograms whose buckets hold estimates: each sampled block
    /// counts with its weight, summed before rounding.
    static func weightAges(_ ages: inout [StackAges?], of aggregator: Aggregator, now: UInt32) {
        guard let weigh = aggregator.weigh else { return }
        let n = AgeHistogram.bucketCount
        var sums: [UInt32: (blocks: [Double], bytes: [Double])] = [:]
        aggregator.forEachLiveBlock { block in
            let bucket = AgeHistogram.bucket(ageSeconds: Double(now &- min(now, block.birth)) / 10)
            let w = weigh(block.size)
            sums[block.stackIndex, default: ([Double](repeating: 0, count: n), [Double](repeating: 0, count: n))].blocks[bucket] += w.blocks
            sums[block.stackIndex]!.bytes[bucket] += w.bytes
        }
        for (stack, sum) in sums {
            ages[Int(stack)]?.histogram.blocks = sum.blocks.map(Sampling.rounded)
            ages[Int(stack)]?.histogram.bytes = sum.bytes.map(Sampling.rounded)
        }
    }
}
