/// One group's live memory in one snapshot of a series.
public struct TrendPoint: Hashable, Sendable {
    /// The snapshot's `SnapshotMetadata.sequence`.
    public var sequence: UInt32
    /// The snapshot's wall-clock time, nanoseconds since the Unix epoch.
    public var timeNanoseconds: UInt64
    /// Live blocks of the group (0 when the group is absent).
    public var count: UInt64
    /// Live bytes of the group.
    public var size: UInt64

    public init(sequence: UInt32, timeNanoseconds: UInt64, count: UInt64, size: UInt64) {
        self.sequence = sequence
        self.timeNanoseconds = timeNanoseconds
        self.count = count
        self.size = size
    }
}

/// How one group's live memory moved over a series of snapshots: the
/// guides' "count_diff grows linearly with iterations", measured.
public struct SiteTrend: Hashable, Sendable {
    /// The shape of a series, from most to least suspicious.
    public enum Kind: String, CaseIterable, Sendable {
        /// Grows along a line to the end: a leak.
        case steadyGrowth = "steady_growth"
        /// Grew, then stopped over the last third: a cache warming up.
        case plateau
        /// Up and down with no trend: memory that is used and given back.
        case churn
        /// Goes down along a line.
        case shrinking
        /// Does not move.
        case flat
    }

    /// The group's representative frames, from the newest snapshot that has it.
    public var traceback: [Frame]
    /// One point per snapshot, oldest first.
    public var points: [TrendPoint]
    /// Least-squares slope of live blocks over snapshot index.
    public var slopeBlocksPerSnapshot: Double
    /// Least-squares slope of live bytes over snapshot index.
    public var slopeBytesPerSnapshot: Double
    /// How well a line fits the live bytes (0...1).
    public var rSquared: Double
    /// It grew before the last third of the series and hardly since.
    public var growthStopped: Bool
    public var kind: Kind
    /// Rank within a kind, higher first: the bytes slope weighted by R²
    /// (the evidence of growth), so a clean leak outranks a noisy one.
    public var score: Double

    /// Live blocks per snapshot, oldest first.
    public var counts: [UInt64] { points.map(\.count) }
    /// Live bytes per snapshot, oldest first.
    public var sizes: [UInt64] { points.map(\.size) }

    public init(traceback: [Frame], points: [TrendPoint], slopeBlocksPerSnapshot: Double, slopeBytesPerSnapshot: Double,
                rSquared: Double, growthStopped: Bool, kind: Kind, score: Double) {
        self.traceback = traceback
        self.points = points
        self.slopeBlocksPerSnapshot = slopeBlocksPerSnapshot
        self.slopeBytesPerSnapshot = slopeBytesPerSnapshot
        self.rSquared = rSquared
        self.growthStopped = growthStopped
        self.kind = kind
        self.score = score
    }
}

/// Fits a line through each group's live memory over a series of snapshots
/// and sorts leaks from caches and churn.
public enum TrendAnalysis {
    /// R² a series must reach to count as steady growth or shrinking.
    public static let minimumRSquared = 0.8
    /// Growth over the last third at most this fraction of the earlier rate
    /// (per snapshot) means growth stopped.
    public static let stoppedRateFraction = 0.1
    /// Series whose range stays within this fraction of their largest value are flat.
    public static let flatFraction = 0.01

    /// One trend per group seen in any snapshot. Snapshots are put in time
    /// order (then sequence) first. Steady growth comes first, steepest bytes
    /// slope first; then plateaus, churn, shrinking and flat groups, each by
    /// score, then by last size.
    public static func analyze(_ snapshots: [Snapshot], groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [SiteTrend] {
        let ordered = snapshots.enumerated().sorted { a, b in
            let x = a.element.metadata, y = b.element.metadata
            if x.timeNanoseconds != y.timeNanoseconds { return x.timeNanoseconds < y.timeNanoseconds }
            if x.sequence != y.sequence { return x.sequence < y.sequence }
            return a.offset < b.offset
        }.map(\.element)

        let shared = SharedFrames(ordered)
        let reader = TraceReader(table: shared.table, unknown: shared.unknown, options: options, typeFrames: shared.typeFrames)
        var series: [GroupIdentity: (traceback: [Int32], counts: [UInt64], sizes: [UInt64])] = [:]
        for (index, snapshot) in ordered.enumerated() {
            for entry in Groups(snapshot, frameMap: shared.frameMaps[index], groupBy: groupBy, reader: reader).entries {
                var s = series[entry.identity] ?? ([], Array(repeating: 0, count: ordered.count), Array(repeating: 0, count: ordered.count))
                s.traceback = entry.frames  // later snapshots win
                s.counts[index] = entry.count
                s.sizes[index] = entry.size
                series[entry.identity] = s
            }
        }

        var trends = series.map { key, s -> (key: GroupIdentity, trend: SiteTrend) in
            let points = ordered.indices.map { i in
                TrendPoint(sequence: ordered[i].metadata.sequence, timeNanoseconds: ordered[i].metadata.timeNanoseconds,
                           count: s.counts[i], size: s.sizes[i])
            }
            return (key, trend(traceback: s.traceback.map { shared.table.frames[Int($0)] }, points: points))
        }
        trends.sort { a, b in
            let x = a.trend, y = b.trend
            if x.kind != y.kind { return rank(x.kind) < rank(y.kind) }
            if x.score != y.score { return x.score > y.score }
            let xs = x.points.last?.size ?? 0, ys = y.points.last?.size ?? 0
            if xs != ys { return xs > ys }
            return a.key.precedes(b.key, in: shared.table)
        }
        return trends.map(\.trend)
    }

    /// Fits and classifies one series.
    public static func trend(traceback: [Frame], points: [TrendPoint]) -> SiteTrend {
        let bytes = points.map { Double($0.size) }
        let bytesFit = LinearFit(bytes)
        let blocksFit = LinearFit(points.map { Double($0.count) })
        let stopped = growthStopped(bytes)
        let kind = classify(bytes, fit: bytesFit, stopped: stopped)
        return SiteTrend(
            traceback: traceback, points: points,
            slopeBlocksPerSnapshot: blocksFit.slope, slopeBytesPerSnapshot: bytesFit.slope,
            rSquared: bytesFit.rSquared, growthStopped: stopped, kind: kind,
            score: bytesFit.slope * bytesFit.rSquared)
    }

    /// Growth before the last third, and (per snapshot) at most
    /// `stoppedRateFraction` of that rate within it. The last third has at
    /// least two points so one quiet step does not end a leak.
    static func growthStopped(_ ys: [Double]) -> Bool {
        let n = ys.count
        let tailLength = max(2, (n + 2) / 3)
        let tailStart = n - tailLength
        guard tailStart >= 1 else { return false }
        let headRate = (ys[tailStart] - ys[0]) / Double(tailStart)
        let tailRate = (ys[n - 1] - ys[tailStart]) / Double(tailLength - 1)
        return headRate > 0 && tailRate <= headRate * stoppedRateFraction
    }

    static func classify(_ ys: [Double], fit: LinearFit, stopped: Bool) -> SiteTrend.Kind {
        guard let high = ys.max(), let low = ys.min(), ys.count >= 2 else { return .flat }
        if high - low <= high * flatFraction { return .flat }
        if stopped && ys[ys.count - 1] > ys[0] { return .plateau }
        if fit.rSquared >= minimumRSquared {
            if fit.slope > 0 { return .steadyGrowth }
            if fit.slope < 0 { return .shrinking }
        }
        return .churn
    }

    static func rank(_ kind: SiteTrend.Kind) -> Int {
        SiteTrend.Kind.allCases.firstIndex(of: kind) ?? 0
    }
}
