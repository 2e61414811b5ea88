import LeakModel

extension JSONReport {
    /// `top`'s shape, each stat with "direct_count"/"indirect_count" and
    /// sizes, plus a "scan" object and a "cycles" list. When the scan names
    /// blocks' types, each stat has `top`'s "types" too. `options` must be
    /// the ones `stats` were computed with.
    public static func leaks(snapshot: Snapshot, stats: [UnreachableStatistic], cycles: [CycleGroup], groupBy: GroupBy,
                             limit: Int? = nil, options: AnalysisOptions = AnalysisOptions()) -> String {
        let shown = stats.prefix(max(limit ?? stats.count, 0))
        let types = unreachableTypes(snapshot, groupBy: groupBy, options: options)
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
                ] + typesMember(types.map { $0[stat.traceback] ?? [] }, count: stat.count, size: stat.size)
                  + [("traceback", traceback(stat.traceback))])
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

extension JSONReport {
    /// Per group (keyed by its traceback, as `UnreachableMemory.statistics`
    /// gives it), the unreachable blocks of each named type; nil when the
    /// scan names none, so such output stays as it was. One grouping per
    /// type name: a scan names few.
    static func unreachableTypes(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions) -> [[Frame]: [BlockTypeCount]]? {
        guard let scan = snapshot.reachability else { return nil }
        let names = Set(scan.unreachable.compactMap(\.typeName))
        guard !names.isEmpty else { return nil }
        var types: [[Frame]: [BlockTypeCount]] = [:]
        for name in names.sorted() {
            var ofType = snapshot
            ofType.reachability?.unreachable = scan.unreachable.filter { $0.typeName == name }
            for stat in UnreachableMemory.statistics(ofType, groupBy: groupBy, options: options) {
                types[stat.traceback, default: []].append(BlockTypeCount(name: name, blocks: stat.count, bytes: stat.size))
            }
        }
        return types
    }
}
