import LeakModel

/// `top`'s per-row `"types"`: the blocks of each row by type name, from the
/// types the snapshot counted per site (section 13).
extension JSONReport {
    /// Per group (keyed by its traceback, as `Statistics.compute` gives it),
    /// the live blocks of each named type; nil when the snapshot counted no
    /// types, so such output stays as it was. Also nil when grouping by type
    /// (a row is one type) or with an age threshold (a site's types split
    /// all its live blocks, not its old ones). One grouping per type name,
    /// each of a snapshot holding only that type's stacks and frames, so the
    /// work follows the sites that name types, not types times the snapshot.
    static func siteTypes(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions) -> [[Frame]: [BlockTypeCount]]? {
        guard snapshot.hasBlockTypes, groupBy != .type, options.olderThanSeconds == nil else { return nil }
        var sitesByType: [String: [Site]] = [:]
        for site in snapshot.sites where site.isLive {
            for type in site.types ?? [] {
                sitesByType[type.name, default: []].append(Site(stack: site.stack, size: type.bytes, count: type.blocks))
            }
        }
        var types: [[Frame]: [BlockTypeCount]] = [:]
        for (name, sites) in sitesByType.sorted(by: { $0.key < $1.key }) {
            for stat in Statistics.compute(compact(snapshot, sites), groupBy: groupBy, options: options) {
                types[stat.traceback, default: []].append(BlockTypeCount(name: name, blocks: stat.count, bytes: stat.size))
            }
        }
        return types
    }

    /// `sites` of `snapshot` in a snapshot of their own stacks and frames.
    /// A frame index out of range stays out of range (-1).
    static func compact(_ snapshot: Snapshot, _ sites: [Site]) -> Snapshot {
        var frames: [Frame] = [], frameIndex: [Int: Int] = [:]
        var stacks = StackTable(), stackIndex: [Int: Int] = [:]
        var compacted = sites
        for position in compacted.indices {
            let stack = compacted[position].stack
            if stackIndex[stack] == nil {
                stackIndex[stack] = stacks.count
                let old = snapshot.stacks.indices.contains(stack) ? Array(snapshot.stacks[stack]) : []
                stacks.append(old.map { frame -> Int in
                    guard snapshot.frames.indices.contains(frame) else { return -1 }
                    if let index = frameIndex[frame] { return index }
                    frames.append(snapshot.frames[frame])
                    frameIndex[frame] = frames.count - 1
                    return frames.count - 1
                })
            }
            compacted[position].stack = stackIndex[stack]!
        }
        return Snapshot(metadata: snapshot.metadata, frames: frames, stacks: stacks, sites: compacted, buildIDs: snapshot.buildIDs)
    }

    /// `[{"name","count","size"}]`, most bytes first; what no named type
    /// claims of the row's `count` and `size` is `unknownTypeName`.
    static func typesJSON(_ types: [BlockTypeCount], count: UInt64, size: UInt64) -> JSONValue {
        var all = types
        let blocks = types.reduce(UInt64(0)) { $0 + $1.blocks }, bytes = types.reduce(UInt64(0)) { $0 + $1.bytes }
        if blocks < count || bytes < size {
            all.append(BlockTypeCount(name: unknownTypeName, blocks: count - min(blocks, count), bytes: size - min(bytes, size)))
        }
        all.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        return .array(all.map { .object([("name", .string($0.name)), ("count", .uint($0.blocks)), ("size", .uint($0.bytes))]) })
    }

    /// The "types" member of one row, or none when `types` is nil.
    static func typesMember(_ types: [[Frame]: [BlockTypeCount]]?, _ traceback: [Frame], count: UInt64, size: UInt64) -> [(String, JSONValue)] {
        types.map { [("types", typesJSON($0[traceback] ?? [], count: count, size: size))] } ?? []
    }
}
