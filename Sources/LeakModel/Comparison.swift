/// How one group changed between two snapshots, like tracemalloc's `StatisticDiff`.
public struct StatisticDiff: Hashable, Sendable {
    /// Representative frames, from the new snapshot when the group is in it.
    public var traceback: [Frame]
    /// Live bytes in the new snapshot (0 if the group is gone).
    public var size: UInt64
    /// New size minus old size.
    public var sizeDiff: Int64
    /// Live blocks in the new snapshot.
    public var count: UInt64
    /// New count minus old count.
    public var countDiff: Int64
    /// The oldest live block of the group in the new snapshot, in seconds;
    /// nil when unknown or the group is gone.
    public var oldestAgeSeconds: Double?

    public init(traceback: [Frame], size: UInt64, sizeDiff: Int64, count: UInt64, countDiff: Int64, oldestAgeSeconds: Double? = nil) {
        self.traceback = traceback
        self.size = size
        self.sizeDiff = sizeDiff
        self.count = count
        self.countDiff = countDiff
        self.oldestAgeSeconds = oldestAgeSeconds
    }
}

/// tracemalloc's `Snapshot.compare_to()`.
public enum Comparison {
    /// Every group of either snapshot, biggest change first: |size diff|,
    /// then |count diff|, then new size, then a stable key. Unchanged groups
    /// come last.
    public static func compute(new: Snapshot, old: Snapshot, groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [StatisticDiff] {
        let newGroups = Groups(new, groupBy: groupBy, options: options).totals
        let oldGroups = Groups(old, groupBy: groupBy, options: options).totals
        var diffs: [(key: GroupKey, diff: StatisticDiff)] = []
        diffs.reserveCapacity(newGroups.count + oldGroups.count)
        for (key, entry) in newGroups {
            let before = oldGroups[key]
            diffs.append((key, StatisticDiff(
                traceback: entry.traceback, size: entry.size,
                sizeDiff: difference(entry.size, before?.size ?? 0),
                count: entry.count,
                countDiff: difference(entry.count, before?.count ?? 0),
                oldestAgeSeconds: entry.oldest)))
        }
        for (key, entry) in oldGroups where newGroups[key] == nil {
            diffs.append((key, StatisticDiff(
                traceback: entry.traceback, size: 0, sizeDiff: difference(0, entry.size),
                count: 0, countDiff: difference(0, entry.count))))
        }
        diffs.sort { a, b in
            let x = a.diff, y = b.diff
            if x.sizeDiff.magnitude != y.sizeDiff.magnitude { return x.sizeDiff.magnitude > y.sizeDiff.magnitude }
            if x.countDiff.magnitude != y.countDiff.magnitude { return x.countDiff.magnitude > y.countDiff.magnitude }
            if x.size != y.size { return x.size > y.size }
            return a.key < b.key
        }
        return diffs.map(\.diff)
    }

    /// Signed difference, saturating instead of trapping on absurd totals.
    static func difference(_ new: UInt64, _ old: UInt64) -> Int64 {
        Int64(clamping: new) - Int64(clamping: old)
    }
}
