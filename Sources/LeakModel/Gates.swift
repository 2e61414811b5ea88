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
        var violations: [GateViolation] = []
        let m = final.metadata
        if let limit = maxPeakBytes, m.peakBytes > limit {
            violations.append(.peak(bytes: m.peakBytes, limit: limit))
        }
        if let limit = maxGrowthBytes {
            let start = baseline?.metadata.currentBytes ?? 0
            if m.currentBytes > start, m.currentBytes - start > limit {
                violations.append(.growth(bytes: m.currentBytes - start, sinceSequence: baseline?.metadata.sequence, limit: limit))
            }
        }
        return GateResult(violations: violations)
    }
}

/// A limit of a `MemoryGate` that a run exceeded.
public enum GateViolation: Hashable, Sendable {
    /// The peak live bytes went over `limit`.
    case peak(bytes: UInt64, limit: UInt64)
    /// Live bytes grew by `bytes` from the baseline snapshot number
    /// `sinceSequence` (nil: from the start of tracing), over `limit`.
    case growth(bytes: UInt64, sinceSequence: UInt32?, limit: UInt64)
}

/// The verdict of a `MemoryGate`: passed, or the limits it exceeded.
public struct GateResult: Hashable, Sendable {
    public var violations: [GateViolation]
    public var passed: Bool { violations.isEmpty }

    public init(violations: [GateViolation]) {
        self.violations = violations
    }
}
