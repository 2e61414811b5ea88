import LeakModel

/// Machine-readable reports whose field names mirror tracemalloc's.
/// Keys always come in the same order; unknown values are null.
public enum JSONReport {
    /// `{"snapshot": {...}, "group_by": "...", "stats": [{"size", "count", "traceback"}]}`,
    /// with at most `limit` stats (all when nil).
    public static func top(snapshot: Snapshot, stats: [Statistic], groupBy: GroupBy, limit: Int? = nil) -> String {
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        return JSONValue.object([
            ("snapshot", metadata(snapshot.metadata, sampling: snapshot.sampling)),
            ("group_by", .string(groupBy.rawValue)),
            ("stats", .array(shown.map { stat in
                .object([
                    ("size", .uint(stat.size)),
                    ("count", .uint(stat.count)),
                ] + age(stat.oldestAgeSeconds) + [
                    ("traceback", traceback(stat.traceback)),
                ])
            })),
        ]).render()
    }

    /// Like `top` for the new snapshot, plus "old_snapshot", and
    /// "size_diff"/"count_diff" in each stat.
    public static func diff(old: Snapshot, new: Snapshot, diffs: [StatisticDiff], groupBy: GroupBy, limit: Int? = nil) -> String {
        let shown = diffs.prefix(max(limit ?? diffs.count, 0))
        return JSONValue.object([
            ("snapshot", metadata(new.metadata, sampling: new.sampling)),
            ("old_snapshot", metadata(old.metadata, sampling: old.sampling)),
            ("group_by", .string(groupBy.rawValue)),
            ("stats", .array(shown.map { d in
                .object([
                    ("size", .uint(d.size)),
                    ("size_diff", .int(d.sizeDiff)),
                    ("count", .uint(d.count)),
                    ("count_diff", .int(d.countDiff)),
                ] + age(d.oldestAgeSeconds) + [
                    ("traceback", traceback(d.traceback)),
                ])
            })),
        ]).render()
    }

    /// With `sampling`, the estimated marking (`EstimatedFigures.json`) at the end.
    static func metadata(_ m: SnapshotMetadata, sampling: Sampling? = nil) -> JSONValue {
        .object([
            ("pid", .int(Int64(m.pid))),
            ("command", .array(m.command.map(JSONValue.string))),
            ("time", .string(TimeFormat.iso8601(m.timeNanoseconds))),
            ("time_ns", .uint(m.timeNanoseconds)),
            ("mode", .string(m.mode.rawValue)),
            ("frames_depth", .uint(UInt64(m.framesDepth))),
            ("sequence", .uint(UInt64(m.sequence))),
            ("final", .bool(m.isFinal)),
            ("current_bytes", .uint(m.currentBytes)),
            ("current_blocks", .uint(m.currentBlocks)),
            ("peak_bytes", .uint(m.peakBytes)),
            ("peak_blocks", .uint(m.peakBlocks)),
            ("allocations", .uint(m.allocations)),
            ("frees", .uint(m.frees)),
            ("unknown_frees", .uint(m.unknownFrees)),
            ("lost_events", .uint(m.lostEvents)),
        ] + EstimatedFigures.json(sampling))
    }

    /// "oldest_age_s" only when known, so files without ages keep their old output.
    static func age(_ seconds: Double?) -> [(String, JSONValue)] {
        seconds.map { [("oldest_age_s", .double($0))] } ?? []
    }

    /// Line 0 and address 0 mean unknown, so they are null. "inlined" only
    /// on inline levels, so output for other frames stays as it was.
    static func traceback(_ frames: [Frame]) -> JSONValue {
        .array(frames.map { f in
            .object([
                ("function", .optional(f.function)),
                ("file", .optional(f.file)),
                ("line", f.line == 0 ? .null : .uint(UInt64(f.line))),
                ("module", .optional(f.module)),
                ("address", f.address == 0 ? .null : .string(FrameText.hex(f.address))),
            ] + (f.isInlined ? [("inlined", .bool(true))] : []))
        })
    }
}
