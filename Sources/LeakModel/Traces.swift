/// One site ready for grouping: its stack as frames, folded unless raw,
/// already past the filters.
struct Trace {
    var frames: [Frame]
    var size: UInt64
    var count: UInt64
    var oldest: Double?
    /// The site's named block types, when the snapshot read them.
    var types: [BlockTypeCount]?
}

/// Stands in for a stack with no frames (or a bad index in a hand-built
/// snapshot) so every byte still lands in some group.
let unknownFrame = Frame(address: 0)

extension Snapshot {
    /// Sites as folded, filtered traces. The model keeps one site per stack,
    /// so each stack is folded once without any caching.
    func traces(options: AnalysisOptions) -> [Trace] {
        var result: [Trace] = []
        result.reserveCapacity(sites.count)
        for site in sites where site.isLive {
            var stack: [Frame] = []
            if stacks.indices.contains(site.stack) {
                stack = stacks[site.stack].map { frames.indices.contains($0) ? frames[$0] : unknownFrame }
            }
            if !options.raw { stack = AllocatorFrames.fold(stack) }
            if stack.isEmpty { stack = [unknownFrame] }
            guard TraceFilter.keeps(stack, filters: options.filters) else { continue }
            var size = site.size, count = site.count
            if let threshold = options.olderThanSeconds {
                // Sites without ages cannot show old blocks: they count nothing.
                (count, size) = site.ages?.olderThan(seconds: threshold) ?? (0, 0)
                if count == 0 && size == 0 { continue }
            }
            result.append(Trace(frames: stack, size: size, count: count, oldest: site.oldestAgeSeconds, types: site.types))
        }
        return result
    }
}

/// Group totals plus the frames that represent each group (first seen wins,
/// so results follow the snapshot's order and are deterministic).
struct Groups {
    var totals: [GroupKey: (traceback: [Frame], size: UInt64, count: UInt64, oldest: Double?)] = [:]

    init(_ snapshot: Snapshot, groupBy: GroupBy, options: AnalysisOptions) {
        for trace in snapshot.traces(options: options) {
            if groupBy == .traceback {
                add(.traceback(trace.frames), trace.frames, trace)
            } else if groupBy == .type {
                addByType(trace)
            } else if options.cumulative {
                // Each group once per trace, even when recursion repeats a frame.
                var seen = Set<GroupKey>()
                for frame in trace.frames {
                    let key = GroupKey(frame, groupBy: groupBy)
                    if seen.insert(key).inserted { add(key, [frame], trace) }
                }
            } else {
                let frame = PythonFrames.keyFrame(trace.frames, groupBy: groupBy)
                add(GroupKey(frame, groupBy: groupBy), [frame], trace)
            }
        }
    }

    private mutating func add(_ key: GroupKey, _ traceback: [Frame], _ trace: Trace) {
        if var entry = totals[key] {
            entry.size &+= trace.size
            entry.count &+= trace.count
            entry.oldest = Groups.older(entry.oldest, trace.oldest)
            totals[key] = entry
        } else {
            totals[key] = (traceback, trace.size, trace.count, trace.oldest)
        }
    }

    /// Splits a site's blocks over their named types; what no type claims is
    /// unknown. The split is of all live blocks, so it does not combine with
    /// an age threshold (the CLI refuses that).
    private mutating func addByType(_ trace: Trace) {
        var blocks = trace.count, bytes = trace.size
        for type in trace.types ?? [] {
            add(.type(type.name), [typeFrame(type.name)], Trace(frames: [], size: type.bytes, count: type.blocks, oldest: trace.oldest))
            blocks -= min(blocks, type.blocks)
            bytes -= min(bytes, type.bytes)
        }
        if blocks > 0 || bytes > 0 {
            add(.type(unknownTypeName), [typeFrame(unknownTypeName)], Trace(frames: [], size: bytes, count: blocks, oldest: trace.oldest))
        }
    }

    /// The larger known age; unknown only when both are.
    static func older(_ a: Double?, _ b: Double?) -> Double? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }
}
