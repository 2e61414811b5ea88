/// Memory limits a run must stay under, as the guides' pytest ceiling
/// (peak) and leak detector (growth since a baseline) assert them, so CI
/// can fail a build on them.
public struct MemoryGate: Hashable, Sendable {
    /// The final snapshot's peak live bytes must not exceed this.
    public var maxPeakBytes: UInt64?
    /// Live bytes may grow at most this much from the baseline to the final snapshot.
    public var maxGrowthBytes: UInt64?

    public init(maxPeakBytes: UInt64? = nil, maxGrowthBytes: UInt64? = nil) {
        self.maxPeakBytes = maxPeakBytes
        self.maxGrowthBytes = maxGrowthBytes
    }

    /// Checks `final` against the limits. Growth is `final.currentBytes -
    /// baseline.currentBytes` (negative growth passes); without a baseline
    /// the growth limit is checked from zero, i.e. against everything live.
    public func evaluate(final: Snapshot, baseline: Snapshot?) -> GateResult {
        var violations: [String] = []
        let m = final.metadata
        if let limit = maxPeakBytes, m.peakBytes > limit {
            violations.append("peak \(ByteSize.human(m.peakBytes)) exceeds --max-peak \(ByteSize.human(limit))")
        }
        if let limit = maxGrowthBytes {
            let start = baseline?.metadata.currentBytes ?? 0
            if m.currentBytes > start, m.currentBytes - start > limit {
                let growth = m.currentBytes - start
                let since = baseline.map { "since snapshot \($0.metadata.sequence)" } ?? "since tracing started"
                violations.append("growth \(ByteSize.human(growth)) \(since) exceeds --max-growth \(ByteSize.human(limit))")
            }
        }
        return GateResult(violations: violations)
    }
}

/// The verdict of a `MemoryGate`: passed, or one line per exceeded limit.
public struct GateResult: Hashable, Sendable {
    public var violations: [String]
    public var passed: Bool { violations.isEmpty }

    public init(violations: [String]) {
        self.violations = violations
    }
}
