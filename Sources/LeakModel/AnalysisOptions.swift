/// Knobs shared by `Statistics` and `Comparison`.
public struct AnalysisOptions: Hashable, Sendable {
    /// Keep allocator frames (malloc, swift_allocObject...) instead of folding them.
    public var raw: Bool
    /// tracemalloc-style filters, applied to the (folded) stack of each site.
    public var filters: [TraceFilter]
    /// Count a site once for every distinct group among its frames, not just
    /// frame 0 (tracemalloc's `cumulative=True`). Ignored for `.traceback`.
    public var cumulative: Bool

    public init(raw: Bool = false, filters: [TraceFilter] = [], cumulative: Bool = false) {
        self.raw = raw
        self.filters = filters
        self.cumulative = cumulative
    }
}
