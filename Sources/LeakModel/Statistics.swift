/// Live memory of one group, like tracemalloc's `Statistic`.
public struct Statistic: Hashable, Sendable {
    /// The group's representative frames: the whole folded stack for
    /// `.traceback`, otherwise just the frame that defines the group.
    public var traceback: [Frame]
    /// Live bytes.
    public var size: UInt64
    /// Live blocks.
    public var count: UInt64
    /// The oldest live block among the group's sites, in seconds; nil when
    /// the snapshot has no ages.
    public var oldestAgeSeconds: Double?

    public init(traceback: [Frame], size: UInt64, count: UInt64, oldestAgeSeconds: Double? = nil) {
        self.traceback = traceback
        self.size = size
        self.count = count
        self.oldestAgeSeconds = oldestAgeSeconds
    }
}

/// tracemalloc's `Snapshot.statistics()`.
public enum Statistics {
    /// All groups, biggest first (size, then count, then a stable key).
    public static func compute(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [Statistic] {
        let groups = Groups(snapshot, groupBy: groupBy, options: options)
        let sorted = groups.totals.sorted { a, b in
            if a.value.size != b.value.size { return a.value.size > b.value.size }
            if a.value.count != b.value.count { return a.value.count > b.value.count }
            return a.key < b.key
        }
        return sorted.map {
            Statistic(traceback: $0.value.traceback, size: $0.value.size, count: $0.value.count, oldestAgeSeconds: $0.value.oldest)
        }
    }
}
