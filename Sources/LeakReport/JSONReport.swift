import LeakModel

/// Machine-readable reports whose field names mirror tracemalloc's.
/// Keys always come in the same order; unknown values are null.
public enum JSONReport {
    /// `{"snapshot": {...}, "group_by": "...", "stats": [{"size", "count", "traceback"}]}`,
    /// with at most `limit` stats (all when nil).
    public static func top(snapshot: Snapshot, stats: [Statistic], groupBy: GroupBy, limit: Int? = nil) -> String {
        var out = ""
        writeTop(snapshot: snapshot, stats: stats, groupBy: groupBy, limit: limit, to: &out)
        return out
    }

    /// `top`, written to `out` one statistic at a time. When the snapshot
    /// counted types, each stat has "types" (`Statistic.types`).
    public static func writeTop<Output: TextOutputStream>(snapshot: Snapshot, stats: [Statistic], groupBy: GroupBy,
                                                          limit: Int? = nil, to out: inout Output) {
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        writeStats(header: [
            ("snapshot", metadata(snapshot.metadata, sampling: snapshot.sampling)),
            ("group_by", .string(groupBy.rawValue)),
        ], shown.lazy.map { stat in
            ([("size", .uint(stat.size)), ("count", .uint(stat.count))] + age(stat.oldestAgeSeconds)
                + typesMember(stat.types, count: stat.count, size: stat.size), stat.frames)
        }, to: &out)
    }

    /// Like `top` for the new snapshot, plus "old_snapshot", and
    /// "size_diff"/"count_diff" in each stat.
    public static func diff(old: Snapshot, new: Snapshot, diffs: [StatisticDiff], groupBy: GroupBy, limit: Int? = nil) -> String {
        var out = ""
        writeDiff(old: old, new: new, diffs: diffs, groupBy: groupBy, limit: limit, to: &out)
        return out
    }

    /// `diff`, written to `out` one statistic at a time; "types" are the new snapshot's, as in `writeTop`.
    public static func writeDiff<Output: TextOutputStream>(old: Snapshot, new: Snapshot, diffs: [StatisticDiff], groupBy: GroupBy,
                                                           limit: Int? = nil, to out: inout Output) {
        let shown = diffs.prefix(max(limit ?? diffs.count, 0))
        writeStats(header: [
            ("snapshot", metadata(new.metadata, sampling: new.sampling)),
            ("old_snapshot", metadata(old.metadata, sampling: old.sampling)),
            ("group_by", .string(groupBy.rawValue)),
        ], shown.lazy.map { d in
            ([
                ("size", .uint(d.size)),
                ("size_diff", .int(d.sizeDiff)),
                ("count", .uint(d.count)),
                ("count_diff", .int(d.countDiff)),
            ] + age(d.oldestAgeSeconds) + typesMember(d.types, count: d.count, size: d.size), d.frames)
        }, to: &out)
    }

    /// `{<header members>,"stats":[{<members>,"traceback":[...]},...]}`, as
    /// `JSONValue` renders it, written a stat's head and then a frame at a
    /// time; each distinct frame's object is rendered once.
    static func writeStats<Stats: Sequence, Output: TextOutputStream>(
        header: [(String, JSONValue)], _ stats: Stats, to out: inout Output
    ) where Stats.Element == ([(String, JSONValue)], TracebackFrames) {
        var opening = JSONValue.object(header + [("stats", .array([]))]).render()
        opening.removeLast(2)  // the "]}" that closes the empty stats
        out.write(opening)
        // Each frame's text with the comma that goes before it in a traceback:
        // one write a frame, and the first frame's goes with the stat's head.
        var frameTexts = FrameTextCache { "," + frameJSON($0).render() }
        var first = true
        for (members, frames) in stats {
            var head = first ? "" : ","
            first = false
            JSONValue.object(members).write(to: &head)
            head.removeLast()  // "}": the traceback comes before it
            head += members.isEmpty ? "\"traceback\":[" : ",\"traceback\":["
            if !frames.isEmpty { head += frameTexts.text(frames, at: frames.startIndex).dropFirst() }
            out.write(head)
            // The other frames' cached texts straight to out: gathering a
            // stat's frames into one String first copied every byte twice.
            for position in frames.indices.dropFirst() {
                out.write(frameTexts.text(frames, at: position))
            }
            out.write("]}")
        }
        out.write("]}")
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
    /// on inline levels and "async" only on Swift async callers, so output
    /// for other frames stays as it was.
    static func traceback(_ frames: [Frame]) -> JSONValue {
        .array(frames.map(frameJSON))
    }

    static func frameJSON(_ f: Frame) -> JSONValue {
        .object([
            ("function", .optional(f.function)),
            ("file", .optional(f.file)),
            ("line", f.line == 0 ? .null : .uint(UInt64(f.line))),
            ("module", .optional(f.module)),
            ("address", f.address == 0 ? .null : .string(FrameText.hex(f.address))),
        ] + (f.isInlined ? [("inlined", .bool(true))] : []) + (f.isAsync ? [("async", .bool(true))] : []))
    }
}
