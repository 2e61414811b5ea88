import LeakModel

/// Call paths merged into a tree (outermost frame at the root) for the HTML
/// report's icicle: live bytes of one snapshot, or the growth between two.
/// Nodes are keyed by label id, so frames that read the same merge. One tree
/// holds two views: raw (bytes at the end of each whole path) and folded
/// (bytes at the end of the slice left once the executor's frames, outermost,
/// and the allocator's, innermost, are dropped). A folded path that starts
/// at the root shares the raw path's nodes; one that starts lower gets nodes
/// of its own, which the raw view never counts. Each view also sums the
/// bytes a reachability scan found unreachable, to mark their share.
struct FlameTree {
    /// Label id of each node (the root's is unused).
    private var labels: [Int] = [-1]
    private var parents: [Int] = [0]
    /// Child of (parent << 32 | label): one table, not one per node, as a
    /// huge snapshot makes hundreds of thousands of nodes.
    private var childIndex: [UInt64: Int] = [:]
    /// Bytes of the paths that end exactly at each node, per view (signed while growth is summed).
    private var rawSelf: [Int64] = [0]
    private var foldedSelf: [Int64] = [0]
    /// Of those bytes, the unreachable ones, per view; empty until some are added.
    private var rawUnreachable: [Int64] = []
    private var foldedUnreachable: [Int64] = []

    var nodeCount: Int { labels.count }

    /// Adds `bytes` to the path of label ids, outermost first, in the raw
    /// view, and to its labels in `folded` in the folded view; `unreachable`
    /// of those bytes were found unreachable.
    mutating func add(path: [Int], folded: Range<Int>, bytes: Int64, unreachable: Int64 = 0) {
        if unreachable != 0 && rawUnreachable.isEmpty {
            rawUnreachable = Array(repeating: 0, count: labels.count)
            foldedUnreachable = rawUnreachable
        }
        var foldedLeaf = 0
        let leaf = walk(path[...], foldedEnd: folded.lowerBound == 0 ? folded.upperBound : nil, foldedLeaf: &foldedLeaf)
        if folded.lowerBound > 0 {
            var unused = 0
            foldedLeaf = walk(path[folded], foldedEnd: nil, foldedLeaf: &unused)
        }
        rawSelf[leaf] &+= bytes
        foldedSelf[foldedLeaf] &+= bytes
        if !rawUnreachable.isEmpty {
            rawUnreachable[leaf] &+= unreachable
            foldedUnreachable[foldedLeaf] &+= unreachable
        }
    }

    /// The node at the end of `path` from the root, made where missing; the
    /// node at depth `foldedEnd` on the way goes to `foldedLeaf`.
    private mutating func walk(_ path: ArraySlice<Int>, foldedEnd: Int?, foldedLeaf: inout Int) -> Int {
        var node = 0
        for (depth, label) in path.enumerated() {
            if depth == foldedEnd { foldedLeaf = node }
            let key = UInt64(node) << 32 | UInt64(UInt32(truncatingIfNeeded: label))
            if let child = childIndex[key] {
                node = child
            } else {
                let child = labels.count
                labels.append(label)
                parents.append(node)
                rawSelf.append(0)
                foldedSelf.append(0)
                if !rawUnreachable.isEmpty {
                    rawUnreachable.append(0)
                    foldedUnreachable.append(0)
                }
                childIndex[key] = child
                node = child
            }
        }
        if path.count == foldedEnd { foldedLeaf = node }
        return node
    }

    /// Each node's bytes including its descendants, after paths that shrank
    /// are dropped (growth counts what grew; a freed path cannot hide one that grew).
    func totals(folded: Bool) -> [UInt64] {
        sums(folded ? foldedSelf : rawSelf)
    }

    private func sums(_ selfBytes: [Int64]) -> [UInt64] {
        var totals = selfBytes.map { UInt64(max($0, 0)) }
        // A child always has a higher index than its parent.
        for node in stride(from: labels.count - 1, to: 0, by: -1) {
            totals[parents[node]] &+= totals[node]
        }
        return totals
    }

    /// The tree in pre-order as `[label, depth, bytes]` triples, flattened,
    /// children biggest first. Children below `minimumFraction` of the root,
    /// and the smallest beyond `maxNodes`, are merged into one last child
    /// labelled `otherLabel` per parent, so a huge snapshot stays drawable.
    /// `label` maps a label id to the one written.
    func encoded(folded: Bool, maxNodes: Int, minimumFraction: Double, otherLabel: Int, label: (Int) -> Int) -> EncodedFlame {
        let totals = totals(folded: folded)
        let lost = rawUnreachable.isEmpty ? nil : sums(folded ? foldedUnreachable : rawUnreachable)
        var lostOut: [Int] = []
        let root = totals[0]
        var threshold = max(UInt64(1), UInt64((Double(root) * minimumFraction).rounded(.up)))
        // Each kept node may get one "other" child: named nodes take half the cap.
        let named = max(1, maxNodes / 2)
        let kept = totals.dropFirst().filter { $0 >= threshold }
        if kept.count > named { threshold = kept.sorted(by: >)[named] + 1 }

        var children = Array(repeating: [Int](), count: labels.count)
        for node in 1..<max(labels.count, 1) { children[parents[node]].append(node) }

        enum Item { case node(Int, depth: Int), other(UInt64, unreachable: UInt64, depth: Int) }
        var out: [Int] = []
        var written = 0, pruned = 0
        var stack: [Item] = [.node(0, depth: 0)]
        while let item = stack.popLast() {
            written += 1
            switch item {
            case let .other(bytes, lostBytes, depth):
                out += [label(otherLabel), depth, Int(clamping: bytes)]
                lostOut.append(Int(clamping: lostBytes))
            case let .node(node, depth):
                out += [node == 0 ? -1 : label(labels[node]), depth, Int(clamping: totals[node])]
                if let lost { lostOut.append(Int(clamping: lost[node])) }
                var other: UInt64 = 0, otherLost: UInt64 = 0
                var big: [Int] = []
                for child in children[node] {
                    if totals[child] >= threshold {
                        big.append(child)
                    } else if totals[child] > 0 {
                        other &+= totals[child]
                        otherLost &+= lost?[child] ?? 0
                        pruned += 1
                    }
                }
                big.sort { totals[$0] != totals[$1] ? totals[$0] > totals[$1] : labels[$0] < labels[$1] }
                if other > 0 { stack.append(.other(other, unreachable: otherLost, depth: depth + 1)) }
                for child in big.reversed() { stack.append(.node(child, depth: depth + 1)) }
            }
        }
        return EncodedFlame(nodes: out, unreachable: lost == nil ? nil : lostOut, nodeCount: written, prunedNodes: pruned,
                            threshold: threshold, totalBytes: root)
    }
}

/// A flame tree as written into the report.
struct EncodedFlame {
    /// Pre-order `[label, depth, bytes]` triples; label -1 is the root.
    var nodes: [Int]
    /// Per written node, its unreachable bytes; nil without a scan that found some.
    var unreachable: [Int]?
    var nodeCount: Int
    /// Nodes merged into "other" nodes.
    var prunedNodes: Int
    /// Bytes a node needed to be drawn on its own.
    var threshold: UInt64
    var totalBytes: UInt64
}
