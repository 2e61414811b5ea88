/// Walks a snapshot's live sites as folded, filtered stacks of interned
/// frame indices. Whatever depends on one frame alone (allocator? Python?
/// interpreter? does a filter match?) is decided once per distinct frame,
/// not once per stack that holds it. A class: its filter matches fill in
/// while grouping code reads through it.
final class TraceReader {
    let table: InternedFrames
    /// Stands for a missing frame or a stack with no frames.
    let unknown: Int32
    let options: AnalysisOptions
    /// `SharedFrames.typeFrames`: the frame of each block type's group.
    let typeFrames: [String: Int32]
    /// Per frame: allocator, Python, interpreter bits, decided up front
    /// (a table holds each distinct frame once).
    private let facts: [UInt8]
    /// Per filter, per frame: 0 not decided yet, 1 no match, 2 match.
    private var filterMatches: [UInt8]

    private static let allocator: UInt8 = 1, python: UInt8 = 2, interpreter: UInt8 = 4
    /// A job runner or an async caller: only stacks holding one can have executor frames to fold.
    private static let executor: UInt8 = 8

    init(table: InternedFrames, unknown: Int32, options: AnalysisOptions, typeFrames: [String: Int32] = [:]) {
        self.table = table
        self.typeFrames = typeFrames
        self.unknown = unknown
        self.options = options
        facts = table.frames.map { frame in
            (AllocatorFrames.isAllocator(frame) ? Self.allocator : 0) | (PythonFrames.isPython(frame) ? Self.python : 0)
                | (PythonFrames.isInterpreter(frame) ? Self.interpreter : 0)
                | (frame.isAsync || AllocatorFrames.isJobRunner(frame) ? Self.executor : 0)
        }
        filterMatches = [UInt8](repeating: 0, count: options.filters.count * table.frames.count)
    }

    /// Calls `body` with each live site's folded stack (never empty), its
    /// size, count, oldest age and named block types, as `Snapshot.traces` did with frames:
    /// `frameMap` gives the table index of each of the snapshot's frames.
    func forEachTrace(in snapshot: Snapshot, frameMap: [Int32],
                      _ body: (_ stack: [Int32], _ size: UInt64, _ count: UInt64, _ oldest: Double?,
                               _ types: [BlockTypeCount]?) -> Void) {
        var raw: [Int32] = []
        for site in snapshot.sites where site.isLive {
            raw.removeAll(keepingCapacity: true)
            if snapshot.stacks.indices.contains(site.stack) {
                for index in snapshot.stacks[site.stack] {
                    raw.append(frameMap.indices.contains(index) ? frameMap[index] : unknown)
                }
            }
            var stack = options.raw ? raw : fold(raw)
            if stack.isEmpty { stack = [unknown] }
            guard keeps(stack) else { continue }
            var size = site.size, count = site.count
            if let threshold = options.olderThanSeconds {
                // Sites without ages cannot show old blocks: they count nothing.
                (count, size) = site.ages?.olderThan(seconds: threshold) ?? (0, 0)
                if count == 0 && size == 0 { continue }
            }
            body(stack, size, count, site.oldestAgeSeconds, site.types)
        }
    }

    // MARK: Folding (`AllocatorFrames.fold` and `PythonFrames.fold` on indices)

    private func fact(_ frame: Int32, _ bit: UInt8) -> Bool { facts[Int(frame)] & bit != 0 }

    func isPython(_ frame: Int32) -> Bool { fact(frame, Self.python) }

    private func fold(_ stack: [Int32]) -> [Int32] {
        if let positions = PythonFrames.foldedPositions(
            count: stack.count, isPython: { fact(stack[$0], Self.python) },
            isInterpreter: { fact(stack[$0], Self.interpreter) }, isAllocator: { fact(stack[$0], Self.allocator) }) {
            return positions.map { stack[$0] }
        }
        var stack = stack[...]
        if stack.contains(where: { fact($0, Self.executor) }) {
            let frames = table.frames
            stack = stack.prefix(AllocatorFrames.executorStart(count: stack.count) { frames[Int(stack[$0])] })
        }
        guard let start = AllocatorFrames.foldStart(count: stack.count, isAllocator: { fact(stack[$0], Self.allocator) }) else {
            return []
        }
        return Array(stack[start...])
    }

    // MARK: Filters (`TraceFilter.keeps` on indices)

    private func matches(_ filter: Int, _ frame: Int32) -> Bool {
        let slot = filter * table.frames.count + Int(frame)
        if filterMatches[slot] == 0 {
            filterMatches[slot] = options.filters[filter].matches(table.frames[Int(frame)]) ? 2 : 1
        }
        return filterMatches[slot] == 2
    }

    private func keeps(_ stack: [Int32]) -> Bool {
        TraceFilter.keeps(filters: options.filters) { filter in
            if options.filters[filter].allFrames { return stack.contains { matches(filter, $0) } }
            return matches(filter, stack[0])
        }
    }
}
