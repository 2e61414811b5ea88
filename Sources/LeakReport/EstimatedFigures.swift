import LeakModel

/// How every report marks figures that come from a sampled snapshot
/// (`Snapshot.sampling`): a line of text under the header, or
/// `"estimated": true` with the rate in JSON. Exact snapshots get nothing,
/// so their output is what it always was.
public enum EstimatedFigures {
    /// "estimated: one allocation sampled per 64.0 KiB on average (--sample-bytes); every size and count is an estimate from 174 sampled blocks"
    public static func note(_ sampling: Sampling) -> String {
        "estimated: one allocation sampled per \(SizeFormat.human(sampling.meanBytes)) on average (--sample-bytes); "
            + "every size and count is an estimate from \(sampling.sampledLiveBlocks) sampled live \(TextReport.plural(sampling.sampledLiveBlocks, "block"))"
    }

    /// The text line for a report over `snapshots` (a diff passes new,
    /// old): none when all are exact, one otherwise, which says so when
    /// sampled and exact snapshots are compared.
    public static func lines(_ snapshots: [Snapshot]) -> [String] {
        let sampled = snapshots.compactMap(\.sampling)
        guard let first = sampled.first else { return [] }
        if snapshots.count == 1 { return [note(first)] }
        let rates = "one allocation per " + Set(sampled.map(\.meanBytes)).sorted().map(SizeFormat.human).joined(separator: " or ")
            + " on average, --sample-bytes"
        if sampled.count == snapshots.count {
            return ["estimated: every snapshot here is sampled (\(rates)): every size and count is an estimate"]
        }
        if snapshots.count == 2 {
            let (sampledOne, exactOne) = snapshots[0].isEstimated ? ("new", "old") : ("old", "new")
            return ["estimated: the \(sampledOne) snapshot is sampled (\(rates)) and the \(exactOne) one exact: "
                + "its figures are estimates, and the differences mix estimates with exact counts"]
        }
        return ["estimated: \(sampled.count) of \(snapshots.count) snapshots are sampled (\(rates)), the rest exact: "
            + "their figures are estimates, and the differences mix estimates with exact counts"]
    }

    /// `"estimated": true, "sample_bytes": N, "sampled_live_blocks": M` for a
    /// sampled snapshot's JSON object; nothing for an exact one.
    public static func json(_ sampling: Sampling?) -> [(String, JSONValue)] {
        guard let sampling else { return [] }
        return [("estimated", .bool(true)), ("sample_bytes", .uint(sampling.meanBytes)),
                ("sampled_live_blocks", .uint(sampling.sampledLiveBlocks))]
    }

    /// The same for a report over several snapshots (trend): the rate when
    /// they share one, null when they differ.
    public static func json(_ snapshots: [Snapshot]) -> [(String, JSONValue)] {
        let sampled = snapshots.compactMap(\.sampling)
        guard !sampled.isEmpty else { return [] }
        let rates = Set(sampled.map(\.meanBytes))
        return [("estimated", .bool(true)), ("sample_bytes", rates.count == 1 ? .uint(rates.first!) : .null)]
    }
}
