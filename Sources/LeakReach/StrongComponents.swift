/// Tarjan's strongly connected components, iterative: a chain of a million
/// unreachable list nodes would overflow the stack of a recursive version.
struct StrongComponents {
    /// Component of each node.
    var component: [Int]
    /// Nodes of each component.
    var members: [[Int]]

    var count: Int { members.count }

    static func of(_ graph: PackedGraph) -> StrongComponents {
        let n = graph.nodeCount
        var order = [Int](repeating: -1, count: n)
        var low = [Int](repeating: 0, count: n)
        var onStack = [Bool](repeating: false, count: n)
        var component = [Int](repeating: -1, count: n)
        var members: [[Int]] = []
        var stack: [Int] = []
        var counter = 0
        // Each frame: node and the position of the next edge to follow.
        var frames: [(node: Int, edge: Int)] = []
        for root in 0..<n where order[root] < 0 {
            frames.append((root, graph.offsets[root]))
            order[root] = counter
            low[root] = counter
            counter += 1
            stack.append(root)
            onStack[root] = true
            while let frame = frames.last {
                let node = frame.node
                if frame.edge < graph.offsets[node + 1] {
                    frames[frames.count - 1].edge += 1
                    let next = Int(graph.targetList[frame.edge])
                    if order[next] < 0 {
                        order[next] = counter
                        low[next] = counter
                        counter += 1
                        stack.append(next)
                        onStack[next] = true
                        frames.append((next, graph.offsets[next]))
                    } else if onStack[next] {
                        low[node] = min(low[node], order[next])
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last?.node { low[parent] = min(low[parent], low[node]) }
                if low[node] == order[node] {
                    var group: [Int] = []
                    while true {
                        let member = stack.removeLast()
                        onStack[member] = false
                        component[member] = members.count
                        group.append(member)
                        if member == node { break }
                    }
                    members.append(group)
                }
            }
        }
        return StrongComponents(component: component, members: members)
    }
}
