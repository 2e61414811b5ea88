/// Knobs shared by `Statistics` and `Comparison`.
public struct AnalysisOptions: Hashable, Sendable {
    /// Keep allocator frames (malloc, swift_allocObject...) instead of folding them.
    public var raw: Bool
    /// tracemalloc-style filters, applied to the (folded) stack of each site.
    public var filters: [TraceFilter]
    /// Count a site once for every distinct group among its frames, not just
    /// frame 0 (tracemalloc's `cumulative=True`). Ignored for `.traceback`.
    public var cumulative: Bool
    /// Count only blocks at least this many seconds old (from each site's
    /// `AgeHistogram`, so the threshold rounds up to the next bucket bound).
    /// Sites without ages then count nothing: check `Snapshot.hasAges` and warn.
    public var olderThanSeconds: Double?

    public init(raw: Bool = false, filters: [TraceFilter] = [], cumulative: Bool = false, olderThanSeconds: Double? = nil) {
        self.raw = raw
        self.filters = filters
        self.cumulative = cumulative
        self.olderThanSeconds = olderThanSeconds
    }
}
