/// Edges between unreachable blocks, collected in any order and then packed
/// by source (compressed sparse rows).
struct PointerGraph {
    private var sources: [Int32] = []
    private var targets: [Int32] = []
    let nodeCount: Int

    init(nodeCount: Int) { self.nodeCount = nodeCount }

    mutating func add(from: Int, to: Int) {
        sources.append(Int32(from))
        targets.append(Int32(to))
    }

    func finished() -> PackedGraph {
        var offsets = [Int](repeating: 0, count: nodeCount + 1)
        for source in sources { offsets[Int(source) + 1] += 1 }
        for i in 0..<nodeCount { offsets[i + 1] += offsets[i] }
        var next = offsets
        var packed = [Int32](repeating: 0, count: targets.count)
        for (source, target) in zip(sources, targets) {
            packed[next[Int(source)]] = target
            next[Int(source)] += 1
        }
        return PackedGraph(offsets: offsets, targets: packed)
    }
}

struct PackedGraph {
    let offsets: [Int]
    let targetList: [Int32]

    init(offsets: [Int], targets: [Int32]) {
        self.offsets = offsets
        targetList = targets
    }

    var nodeCount: Int { offsets.count - 1 }

    func targets(of node: Int) -> LazyMapSequence<ArraySlice<Int32>, Int> {
        targetList[offsets[node]..<offsets[node + 1]].lazy.map { Int($0) }
    }
}
