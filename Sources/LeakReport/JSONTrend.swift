import LeakModel

extension JSONReport {
    /// `{"group_by": "...", "snapshots": [{"sequence", "time", "time_ns"}],
    /// "trends": [{"kind", "slope_blocks_per_snapshot", "slope_bytes_per_snapshot",
    /// "r_squared", "growth_stopped", "score", "counts", "sizes", "traceback"}]}`.
    /// `snapshots` (the series) only add the estimated marking.
    public static func trend(_ trends: [SiteTrend], groupBy: GroupBy = .traceback, limit: Int? = nil, snapshots: [Snapshot] = []) -> String {
        let shown = trends.prefix(max(limit ?? trends.count, 0))
        let points = trends.first?.points ?? []
        return JSONValue.object([
            ("group_by", .string(groupBy.rawValue)),
        ] + EstimatedFigures.json(snapshots) + [
            ("snapshots", .array(points.map { p in
                .object([
                    ("sequence", .uint(UInt64(p.sequence))),
                    ("time", .string(TimeFormat.iso8601(p.timeNanoseconds))),
                    ("time_ns", .uint(p.timeNanoseconds)),
                ])
            })),
            ("trends", .array(shown.map { t in
                .object([
                    ("kind", .string(t.kind.rawValue)),
                    ("slope_blocks_per_snapshot", .double(t.slopeBlocksPerSnapshot)),
                    ("slope_bytes_per_snapshot", .double(t.slopeBytesPerSnapshot)),
                    ("r_squared", .double(t.rSquared)),
                    ("growth_stopped", .bool(t.growthStopped)),
                    ("score", .double(t.score)),
                    ("counts", .array(t.counts.map(JSONValue.uint))),
                    ("sizes", .array(t.sizes.map(JSONValue.uint))),
                    ("traceback", traceback(t.traceback)),
                ])
            })),
        ]).render()
    }
}
