import LeakModel

/// One self-contained HTML page (script, style and data inline; nothing
/// fetched) to explore a snapshot, the growth between two, or a series:
/// an icicle flame graph with search and an allocator-frame toggle, a
/// sortable table with `top`'s or `diff`'s columns, the counters, and for a
/// series a plot of the top sites' live bytes with `trend`'s classification.
public enum HTMLReport {
    /// What keeps a report of a huge snapshot small enough to open.
    public struct Limits: Sendable {
        /// Nodes per flame graph (folded and raw each), "other" nodes included.
        public var flameNodes: Int
        /// Nodes smaller than this fraction of the whole go into "other".
        public var flameMinimumFraction: Double
        /// Table rows; the rest are summed into the table's footer.
        public var tableRows: Int
        /// Sites plotted over a series.
        public var seriesSites: Int

        public init(flameNodes: Int = 6000, flameMinimumFraction: Double = 0.0005, tableRows: Int = 500, seriesSites: Int = 10) {
            self.flameNodes = flameNodes
            self.flameMinimumFraction = flameMinimumFraction
            self.tableRows = tableRows
            self.seriesSites = seriesSites
        }
    }

    /// Live memory of one snapshot.
    public static func live(_ snapshot: Snapshot, groupBy: GroupBy, limits: Limits = Limits()) -> String {
        var labels = FlameLabels()
        let stats = Statistics.compute(snapshot, groupBy: groupBy)
        let rows = stats.map { Row(traceback: $0.traceback, size: $0.size, sizeDiff: nil, count: $0.count, countDiff: nil, oldest: $0.oldestAgeSeconds) }
        return page(
            kind: "live", groupBy: groupBy, snapshots: [snapshot],
            flames: flames(new: snapshot, old: nil, labels: &labels, limits: limits),
            labels: labels, rows: rows, trends: nil, limits: limits)
    }

    /// What grew from `old` to `new`.
    public static func growth(old: Snapshot, new: Snapshot, groupBy: GroupBy, limits: Limits = Limits()) -> String {
        var labels = FlameLabels()
        return page(
            kind: "growth", groupBy: groupBy, snapshots: [old, new],
            flames: flames(new: new, old: old, labels: &labels, limits: limits),
            labels: labels, rows: diffRows(old: old, new: new, groupBy: groupBy), trends: nil, limits: limits)
    }

    /// A series (put in time order): growth from the first to the last
    /// snapshot, and each top site's live bytes over time.
    public static func series(_ snapshots: [Snapshot], groupBy: GroupBy, limits: Limits = Limits()) -> String {
        let ordered = snapshots.sorted {
            ($0.metadata.timeNanoseconds, $0.metadata.sequence) < ($1.metadata.timeNanoseconds, $1.metadata.sequence)
        }
        precondition(!ordered.isEmpty, "a series has at least one snapshot")
        let first = ordered[0], last = ordered[ordered.count - 1]
        var labels = FlameLabels()
        let trends = TrendAnalysis.analyze(ordered, groupBy: groupBy)
        return page(
            kind: "series", groupBy: groupBy, snapshots: ordered,
            flames: flames(new: last, old: first, labels: &labels, limits: limits),
            labels: labels, rows: diffRows(old: first, new: last, groupBy: groupBy), trends: trends, limits: limits)
    }

    // MARK: parts

    struct Row {
        var traceback: [Frame]
        var size: UInt64
        var sizeDiff: Int64?
        var count: UInt64
        var countDiff: Int64?
        var oldest: Double?
    }

    static func diffRows(old: Snapshot, new: Snapshot, groupBy: GroupBy) -> [Row] {
        Comparison.compute(new: new, old: old, groupBy: groupBy).map {
            Row(traceback: $0.traceback, size: $0.size, sizeDiff: $0.sizeDiff, count: $0.count, countDiff: $0.countDiff, oldest: $0.oldestAgeSeconds)
        }
    }

    /// The folded and the raw tree: live bytes of `new`, or its growth since `old`.
    static func flames(new: Snapshot, old: Snapshot?, labels: inout FlameLabels, limits: Limits) -> [(String, EncodedFlame)] {
        var tree = FlameTree()
        let unknown = labels.id(FrameText.describe(Frame(address: 0)))
        // A live report marks what the snapshot's scan found unreachable, per stack.
        var unreachable: [Int: Int64] = [:]
        if old == nil, let scan = new.reachability {
            for block in scan.unreachable { unreachable[block.stack, default: 0] &+= Int64(clamping: block.size) }
        }
        for (snapshot, sign) in [(new, Int64(1))] + (old.map { [($0, Int64(-1))] } ?? []) {
            let ids = snapshot.frames.map { labels.id(FrameText.describe($0)) }
            let isAllocator = snapshot.frames.map(AllocatorFrames.isAllocator)
            // Only a stack holding a job runner or an async caller can have executor frames to fold.
            let mayRunTasks = snapshot.frames.map { $0.isAsync || AllocatorFrames.isJobRunner($0) }
            for site in snapshot.sites where site.isLive {
                let stack = snapshot.stacks.indices.contains(site.stack) ? snapshot.stacks[site.stack].filter { snapshot.frames.indices.contains($0) } : []
                let bytes = sign * Int64(clamping: site.size)
                let lost = sign > 0 ? unreachable.removeValue(forKey: site.stack) ?? 0 : 0
                guard !stack.isEmpty else {
                    tree.add(path: [unknown], folded: 0..<1, bytes: bytes, unreachable: lost)
                    continue
                }
                // Flags computed once per frame: folding each stack's frames
                // anew costs seconds on 100,000 sites. As `top` folds: the
                // executor's frames first, then the allocator's.
                let end = stack.contains { mayRunTasks[$0] }
                    ? max(AllocatorFrames.executorStart(count: stack.count) { snapshot.frames[stack[$0]] }, 1) : stack.count
                let start = AllocatorFrames.foldStart(count: end) { isAllocator[stack[$0]] } ?? 0
                tree.add(path: stack.reversed().map { ids[$0] }, folded: (stack.count - end)..<(stack.count - start), bytes: bytes,
                         unreachable: lost)
            }
        }
        let other = labels.otherID
        return [("folded", true), ("raw", false)].map { name, folded in
            (name, tree.encoded(folded: folded, maxNodes: limits.flameNodes, minimumFraction: limits.flameMinimumFraction, otherLabel: other) { labels.emit($0) })
        }
    }

    static func page(kind: String, groupBy: GroupBy, snapshots: [Snapshot], flames: [(String, EncodedFlame)],
                     labels: FlameLabels, rows: [Row], trends: [SiteTrend]?, limits: Limits) -> String {
        let flameJSON = JSONValue.object(flames.map { name, flame in
            (name, .object([
                ("total_bytes", .uint(flame.totalBytes)),
                ("node_count", .int(Int64(flame.nodeCount))),
                ("pruned_subtrees", .int(Int64(flame.prunedNodes))),
                ("threshold_bytes", .uint(flame.threshold)),
                ("nodes", .array(flame.nodes.map { .int(Int64($0)) })),
            ] + (flame.unreachable.map { [("unreachable", .array($0.map { .int(Int64($0)) }))] } ?? [])))
        })
        let shown = rows.prefix(limits.tableRows)
        let rest = rows.dropFirst(shown.count)
        let hasAges = snapshots.contains { $0.hasAges }
        let table = JSONValue.object([
            ("location", .string(FrameText.title(groupBy))),
            ("rows", .array(shown.map { row in
                .array([
                    .string(FrameText.group(row.traceback.first ?? Frame(address: 0), groupBy: groupBy)),
                    .uint(row.size), row.sizeDiff.map(JSONValue.int) ?? .null,
                    .uint(row.count), row.countDiff.map(JSONValue.int) ?? .null,
                    row.oldest.map(JSONValue.double) ?? .null,
                    .array(row.traceback.map { .string(FrameText.describe($0)) }),
                ])
            })),
            ("has_ages", .bool(hasAges)),
            ("hidden_rows", .int(Int64(rest.count))),
            ("hidden_bytes", .uint(rest.reduce(0) { $0 &+ $1.size })),
        ])
        let series: JSONValue = trends.map { trends in
            .object([
                ("times_ns", .array(snapshots.map { .uint($0.metadata.timeNanoseconds) })),
                ("current_bytes", .array(snapshots.map { .uint($0.metadata.currentBytes) })),
                ("sites", .array(trends.prefix(limits.seriesSites).map { trend in
                    .object([
                        ("name", .string(FrameText.group(trend.traceback.first ?? Frame(address: 0), groupBy: groupBy))),
                        ("kind", .string(trend.kind.rawValue)),
                        ("r_squared", .double(trend.rSquared)),
                        ("slope_bytes_per_snapshot", .double(trend.slopeBytesPerSnapshot)),
                        ("sizes", .array(trend.sizes.map(JSONValue.uint))),
                    ])
                })),
                ("site_count", .int(Int64(trends.count))),
            ])
        } ?? .null
        let data = JSONValue.object([
            ("kind", .string(kind)),
            ("group_by", .string(groupBy.rawValue)),
            ("snapshots", .array(snapshots.map { JSONReport.metadata($0.metadata, sampling: $0.sampling) })),
            ("estimated", .array(EstimatedFigures.lines(snapshots).map(JSONValue.string))),
            ("labels", .array(labels.emitted.map(JSONValue.string))),
            ("other_label", .string(FlameLabels.other)),
            ("flame", flameJSON),
            ("table", table),
            ("series", series),
            ("limits", .object([
                ("flame_nodes", .int(Int64(limits.flameNodes))),
                ("flame_minimum_fraction", .double(limits.flameMinimumFraction)),
                ("table_rows", .int(Int64(limits.tableRows))),
                ("series_sites", .int(Int64(limits.seriesSites))),
            ])),
        ] + (kind == "live" ? unreachablePanel(snapshots[0]) : []))
        return HTMLPage.render(dataJSON: ScriptEmbedding.escape(data.render()))
    }
}

extension HTMLReport {
    /// The page's "unreachable" member when the snapshot carries a scan:
    /// its blocks and bytes, and the leaked cycles by their members' names.
    static func unreachablePanel(_ snapshot: Snapshot) -> [(String, JSONValue)] {
        guard let scan = snapshot.reachability else { return [] }
        return [("unreachable", .object([
            ("blocks", .uint(UInt64(scan.unreachable.count))),
            ("bytes", .uint(scan.unreachable.reduce(UInt64(0)) { $0 &+ $1.size })),
            ("cycles", .array(UnreachableMemory.cycles(snapshot).map { cycle in
                .object([
                    ("members", .array(cycle.memberNames.map(JSONValue.string))),
                    ("count", .uint(cycle.instances)),
                    ("blocks", .uint(cycle.blocks)),
                    ("size", .uint(cycle.bytes)),
                ])
            })),
        ]))]
    }
}

/// Frame labels of the flame graphs: interned while trees are built, and
/// numbered again for the page in the order they are written, so only the
/// labels of drawn nodes travel.
struct FlameLabels {
    private var ids: [String: Int] = [:]
    private var strings: [String] = []
    private var emittedIDs: [Int: Int] = [:]
    private(set) var emitted: [String] = []
    static let other = "other (small nodes merged)"

    mutating func id(_ label: String) -> Int {
        if let id = ids[label] { return id }
        ids[label] = strings.count
        strings.append(label)
        return strings.count - 1
    }

    var otherID: Int { mutating get { id(Self.other) } }

    /// The label's index in the page's label list.
    mutating func emit(_ id: Int) -> Int {
        if let index = emittedIDs[id] { return index }
        emittedIDs[id] = emitted.count
        emitted.append(strings[id])
        return emitted.count - 1
    }
}
