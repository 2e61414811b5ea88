/// Live memory of one group, like tracemalloc's `Statistic`.
public struct Statistic: Hashable, Sendable {
    /// The group's representative frames: the whole folded stack for
    /// `.traceback`, otherwise just the frame that defines the group.
    public var frames: TracebackFrames
    /// `frames` as values (a copy: writers of huge results read `frames`).
    public var traceback: [Frame] {
        get { Array(frames) }
        set { frames = TracebackFrames(newValue) }
    }
    /// Live bytes.
    public var size: UInt64
    /// Live blocks.
    public var count: UInt64
    /// The oldest live block among the group's sites, in seconds; nil when
    /// the snapshot has no ages.
    public var oldestAgeSeconds: Double?
    /// The group's blocks by type name, most bytes first, from the types the
    /// snapshot counted per site (section 13); what they leave of `count`
    /// and `size` is of no named type. nil when the snapshot counted none,
    /// when grouping by type, or with an age threshold.
    public var types: [BlockTypeCount]?

    public init(traceback: [Frame], size: UInt64, count: UInt64, oldestAgeSeconds: Double? = nil, types: [BlockTypeCount]? = nil) {
        self.init(frames: TracebackFrames(traceback), size: size, count: count, oldestAgeSeconds: oldestAgeSeconds, types: types)
    }

    public init(frames: TracebackFrames, size: UInt64, count: UInt64, oldestAgeSeconds: Double? = nil, types: [BlockTypeCount]? = nil) {
        self.frames = frames
        self.size = size
        self.count = count
        self.oldestAgeSeconds = oldestAgeSeconds
        self.types = types
    }
}

/// tracemalloc's `Snapshot.statistics()`.
public enum Statistics {
    /// All groups, biggest first (size, then count, then a stable key).
    public static func compute(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions = AnalysisOptions()) -> [Statistic] {
        let shared = SharedFrames([snapshot])
        let reader = TraceReader(table: shared.table, unknown: shared.unknown, options: options, typeFrames: shared.typeFrames)
        let groups = Groups(snapshot, frameMap: shared.frameMaps[0], groupBy: groupBy, reader: reader)
        let entries = groups.entries
        // Positions are sorted on plain numbers: moving or copying an entry
        // retains and releases its arrays.
        let numbers = entries.map { ($0.size, $0.count) }
        let order = entries.indices.sorted { i, j in
            let a = numbers[i], b = numbers[j]
            if a.0 != b.0 { return a.0 > b.0 }
            if a.1 != b.1 { return a.1 > b.1 }
            return entries[i].identity.precedes(entries[j].identity, in: shared.table)
        }
        return order.map {
            let entry = entries[$0]
            return Statistic(frames: TracebackFrames(table: shared.table, indices: entry.frames), size: entry.size,
                             count: entry.count, oldestAgeSeconds: entry.oldest, types: groups.types(ofEntry: $0))
        }
    }
}
