/// The conservative mark phase over a paused process's copied memory, then
/// the shape of what was not reached: direct and indirect leaks, and cycles.
/// Pure: the caller copies the memory (see `MemorySpan`).
public enum Reachability {
    /// - Parameters:
    ///   - blocks: every block the tracer knows to be live.
    ///   - spans: the copied memory; spans must not overlap. `.mapping`
    ///     spans are roots outside known blocks and hold the known blocks'
    ///     contents; `.thread` spans are roots throughout.
    public static func analyse(blocks: [KnownBlock], spans: [MemorySpan]) -> ReachResult {
        let index = BlockIndex(blocks)
        let scanner = WordScanner(index: index, spans: spans)
        let contents = BlockContents(index: index, spans: spans)
        let n = index.count

        // Mark, breadth first, so each block's retainer lies on a shortest chain.
        var retainers = [ReachResult.Retainer?](repeating: nil, count: blocks.count)
        var marked = [Bool](repeating: false, count: n)
        var queue: [Int32] = []
        func reach(_ block: Int, _ retainer: ReachResult.Retainer) {
            guard !marked[block] else { return }
            marked[block] = true
            retainers[Int(index.original[block])] = retainer
            queue.append(Int32(block))
        }
        var head = 0
        for rank in Set(spans.map(\.rank)).sorted() {
            for span in spans.indices where spans[span].rank == rank {
                let start = spans[span].start
                let end = spans[span].end
                let visit = { (block: Int, at: UInt64) in reach(block, .root(span: span, address: at)) }
                switch spans[span].role {
                case .thread:
                    scanner.scan(span: span, from: start, to: end, visit)
                case .mapping:
                    var cursor = start
                    for inside in index.blocks(overlapping: start, end) {
                        scanner.scan(span: span, from: cursor, to: index.starts[inside], visit)
                        cursor = max(cursor, index.ends[inside])
                    }
                    scanner.scan(span: span, from: cursor, to: end, visit)
                }
            }
            while head < queue.count {
                let block = Int(queue[head])
                head += 1
                guard let span = contents.span(of: block) else { continue }
                let parent = ReachResult.Retainer.block(Int(index.original[block]))
                scanner.scan(span: span, from: index.starts[block], to: index.ends[block]) { child, _ in
                    reach(child, parent)
                }
            }
        }

        // The unreachable blocks' own graph: who points to whom among them.
        let lost = (0..<n).filter { !marked[$0] }
        var position = [Int32](repeating: -1, count: n)
        for (i, block) in lost.enumerated() { position[block] = Int32(i) }
        var edges = PointerGraph(nodeCount: lost.count)
        for (i, block) in lost.enumerated() {
            guard let span = contents.span(of: block) else { continue }
            scanner.scan(span: span, from: index.starts[block], to: index.ends[block]) { target, _ in
                let j = position[target]
                if j >= 0 { edges.add(from: i, to: Int(j)) }
            }
        }
        let graph = edges.finished()
        let components = StrongComponents.of(graph)
        var pointedToFromOutside = [Bool](repeating: false, count: components.count)
        for from in 0..<lost.count {
            for to in graph.targets(of: from) where components.component[to] != components.component[from] {
                pointedToFromOutside[components.component[to]] = true
            }
        }
        var cycleOfComponent = [Int?](repeating: nil, count: components.count)
        var cycles: [[Int]] = []
        for (component, members) in components.members.enumerated() where members.count > 1 {
            cycleOfComponent[component] = cycles.count
            cycles.append(members.map { Int(index.original[lost[$0]]) }.sorted())
        }
        // What each leaked cycle owns: blocks outside cycles it reaches
        // (first cycle wins), so a report can say "+ 1 buffer each".
        var ownerCycle = [Int?](repeating: nil, count: lost.count)
        for (component, members) in components.members.enumerated() where members.count > 1 && !pointedToFromOutside[component] {
            var frontier = members
            while let node = frontier.popLast() {
                for next in graph.targets(of: node) where ownerCycle[next] == nil && cycleOfComponent[components.component[next]] == nil {
                    ownerCycle[next] = cycleOfComponent[component]
                    frontier.append(next)
                }
            }
        }
        let unreachable = lost.enumerated().map { i, block -> ReachResult.Unreachable in
            let component = components.component[i]
            return ReachResult.Unreachable(block: Int(index.original[block]),
                                           isDirect: !pointedToFromOutside[component],
                                           cycle: cycleOfComponent[component],
                                           ownerCycle: ownerCycle[i],
                                           firstBytes: contents.firstBytes(of: block, count: 16))
        }
        let unread = (0..<n).filter { contents.span(of: $0) == nil }.count
        return ReachResult(retainers: retainers, unreachable: unreachable, cycles: cycles,
                           unreadBlocks: unread, overlappingBlocks: blocks.count - n)
    }
}

/// Which span holds each known block's bytes.
struct BlockContents {
    private let spanOf: [Int32]
    private let index: BlockIndex
    private let spans: [MemorySpan]

    init(index: BlockIndex, spans: [MemorySpan]) {
        self.index = index
        self.spans = spans
        let order = spans.indices.filter { spans[$0].role == .mapping }.sorted { spans[$0].start < spans[$1].start }
        var spanOf = [Int32](repeating: -1, count: index.count)
        var next = 0
        for block in 0..<index.count {
            while next < order.count && spans[order[next]].end <= index.starts[block] { next += 1 }
            guard next < order.count else { break }
            let span = spans[order[next]]
            if span.start <= index.starts[block] && index.ends[block] <= span.end { spanOf[block] = Int32(order[next]) }
        }
        self.spanOf = spanOf
    }

    @inline(__always)
    func span(of block: Int) -> Int? {
        let span = spanOf[block]
        return span >= 0 ? Int(span) : nil
    }

    func firstBytes(of block: Int, count: Int) -> [UInt8] {
        guard let span = span(of: block) else { return [] }
        let offset = Int(index.starts[block] - spans[span].start)
        let length = min(count, Int(index.ends[block] - index.starts[block]))
        return Array(spans[span].bytes[offset..<offset + length])
    }
}
