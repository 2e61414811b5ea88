/// How one group changed between two snapshots, like tracemalloc's `StatisticDiff`.
public struct StatisticDiff: Hashable, Sendable {
    /// Representative frames, from the new snapshot when the group is in it.
    public var frames: TracebackFrames
    /// `frames` as values (a copy: writers of huge results read `frames`).
    public var traceback: [Frame] {
        get { Array(frames) }
        set { frames = TracebackFrames(newValue) }
    }
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
    /// The group's blocks by type in the new snapshot, as `Statistic.types`.
    public var types: [BlockTypeCount]?

    public init(traceback: [Frame], size: UInt64, sizeDiff: Int64, count: UInt64, countDiff: Int64, oldestAgeSeconds: Double? = nil) {
        self.init(frames: TracebackFrames(traceback), size: size, sizeDiff: sizeDiff, count: count, countDiff: countDiff,
                  oldestAgeSeconds: oldestAgeSeconds)
    }

    public init(frames: TracebackFrames, size: UInt64, sizeDiff: Int64, count: UInt64, countDiff: Int64, oldestAgeSeconds: Double? = nil,
                types: [BlockTypeCount]? = nil) {
        self.frames = frames
        self.size = size
        self.sizeDiff = sizeDiff
        self.count = count
        self.countDiff = countDiff
        self.oldestAgeSeconds = oldestAgeSeconds
        self.types = types
    }
}

/// tracemalloc's `Snapshot.compare_to()`.
public enum Comparison {
    /// Every group of either snapshot, biggest change first: |size diff|,
    /// then |count diff|, then new size, then a stable key. Unchanged groups
    /// come last.
    public static func compute(new: Snapshot, old: Snapshot, groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [StatisticDiff] {
        let shared = SharedFrames([new, old])
        let reader = TraceReader(table: shared.table, unknown: shared.unknown, options: options, typeFrames: shared.typeFrames)
        let newGroups = Groups(new, frameMap: shared.frameMaps[0], groupBy: groupBy, reader: reader)
        let oldGroups = Groups(old, frameMap: shared.frameMaps[1], groupBy: groupBy, reader: reader)
        func frames(_ entry: Groups.Entry) -> TracebackFrames { TracebackFrames(table: shared.table, indices: entry.frames) }
        var diffs: [(key: GroupIdentity, diff: StatisticDiff)] = []
        diffs.reserveCapacity(newGroups.entries.count + oldGroups.entries.count)
        for (index, entry) in newGroups.entries.enumerated() {
            let before = oldGroups.entry(for: entry.identity)
            diffs.append((entry.identity, StatisticDiff(
                frames: frames(entry), size: entry.size,
                sizeDiff: difference(entry.size, before?.size ?? 0),
                count: entry.count,
                countDiff: difference(entry.count, before?.count ?? 0),
                oldestAgeSeconds: entry.oldest, types: newGroups.types(ofEntry: index))))
        }
        for entry in oldGroups.entries where newGroups.entry(for: entry.identity) == nil {
            diffs.append((entry.identity, StatisticDiff(
                frames: frames(entry), size: 0, sizeDiff: difference(0, entry.size),
                count: 0, countDiff: difference(0, entry.count), types: newGroups.countsTypes ? [] : nil)))
        }
        // Positions are sorted on plain numbers: moving or copying a diff
        // retains and releases its arrays.
        let numbers = diffs.map { ($0.diff.sizeDiff.magnitude, $0.diff.countDiff.magnitude, $0.diff.size) }
        let order = diffs.indices.sorted { i, j in
            let x = numbers[i], y = numbers[j]
            if x.0 != y.0 { return x.0 > y.0 }
            if x.1 != y.1 { return x.1 > y.1 }
            if x.2 != y.2 { return x.2 > y.2 }
            return diffs[i].key.precedes(diffs[j].key, in: shared.table)
        }
        return order.map { diffs[$0].diff }
    }

    /// Signed difference, saturating instead of trapping on absurd totals.
    static func difference(_ new: UInt64, _ old: UInt64) -> Int64 {
        Int64(clamping: new) - Int64(clamping: old)
    }
}
