import LeakModel

extension JSONReport {
    /// `top`'s shape, each stat with "direct_count"/"indirect_count" and
    /// sizes, plus a "scan" object and a "cycles" list.
    public static func leaks(snapshot: Snapshot, stats: [UnreachableStatistic], cycles: [CycleGroup], groupBy: GroupBy,
                             limit: Int? = nil) -> String {
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        let scan = snapshot.reachability
        return JSONValue.object([
            ("snapshot", metadata(snapshot.metadata)),
            ("group_by", .string(groupBy.rawValue)),
            ("scan", scan.map { scan in
                .object([
                    ("known_blocks", .uint(scan.knownBlocks)),
                    ("unreachable_blocks", .uint(UInt64(scan.unreachable.count))),
                    ("unreachable_bytes", .uint(scan.unreachable.reduce(UInt64(0)) { $0 + $1.size })),
                    ("copied_bytes", .uint(scan.copiedBytes)),
                    ("threads", .uint(scan.threads)),
                    ("pause_ms", .double(scan.pauseSeconds * 1000)),
                    ("total_ms", .double(scan.totalSeconds * 1000)),
                ])
            } ?? .null),
            ("stats", .array(shown.map { stat in
                .object([
                    ("size", .uint(stat.size)),
                    ("count", .uint(stat.count)),
                    ("direct_size", .uint(stat.directSize)),
                    ("direct_count", .uint(stat.directCount)),
                    ("indirect_size", .uint(stat.indirectSize)),
                    ("indirect_count", .uint(stat.indirectCount)),
                    ("traceback", traceback(stat.traceback)),
                ])
            })),
            ("cycles", .array(cycles.map { cycle in
                .object([
                    ("count", .uint(cycle.instances)),
                    ("members", .array(zip(cycle.memberNames, cycle.memberFrames).map { name, frame in
                        .object([("name", .string(name)), ("allocated_at", traceback([frame]))])
                    })),
                    ("owned_blocks_each", .uint(cycle.ownedBlocksEach)),
                    ("blocks", .uint(cycle.blocks)),
                    ("size", .uint(cycle.bytes)),
                ])
            })),
        ]).render()
    }
}
