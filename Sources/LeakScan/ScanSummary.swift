import LeakModel
import LeakReach

extension ProcessScan {
    /// The scan as a snapshot keeps it; stacks are the blocks' `KnownBlock.stack`.
    public func summary() -> ReachabilityScan {
        let unreachable = result.unreachable.map { lost in
            UnreachableBlock(stack: Int(blocks[lost.block].stack), address: blocks[lost.block].address,
                             size: blocks[lost.block].size, isDirect: lost.isDirect,
                             cycle: lost.cycle.map { UInt32($0) }, ownerCycle: lost.ownerCycle.map { UInt32($0) },
                             firstBytes: lost.firstBytes)
        }
        return ReachabilityScan(pauseSeconds: pauseSeconds, totalSeconds: totalSeconds, knownBlocks: UInt64(blocks.count),
                                copiedBytes: copiedBytes, threads: UInt64(threads), unreachable: unreachable,
                                retainers: RetainerChains.count(blocks: blocks, retainers: result.retainers, rootName: rootNamer()))
    }

    /// What a root is called in a chain: the span it lies in (a module's
    /// .data or .bss, a thread's stack); memory the tracer does not know
    /// (blocks from before the attach, allocator metadata) says so.
    /// Globals are named from their module's symbol table, read once per module.
    func rootNamer() -> (Int, UInt64) -> String {
        var symbols: [String: LocalSymbols?] = [:]
        return { span, address in
            let name = spanNames[span]
            if name == "[heap]" || name == "anonymous memory" { return "\(name), outside known blocks" }
            guard let module = spanModules[span] else { return name }
            if symbols[module.path] == nil { symbols.updateValue(LocalSymbols(path: module.path, wanted: nil), forKey: module.path) }
            guard let table = symbols[module.path] ?? nil,
                  let global = table.object(containing: address - module.base + table.firstLoadAddress) else { return name }
            return "global `\(global)` (\(name))"
        }
    }
}

/// Shortest chains from roots to blocks, counted per site and chain.
/// Each block's chain is its retainer's chain plus the retainer's site, so
/// chains are interned as a tree and computed once per block, not walked
/// from the root each time (a list of a million nodes would be quadratic).
enum RetainerChains {
    private struct Node: Hashable {
        var parent: Int  // -1 at a root
        var root: String?
        var stack: Int
    }

    static func count(blocks: [KnownBlock], retainers: [ReachResult.Retainer?],
                      rootName: (Int, UInt64) -> String) -> [RetainerChain] {
        var nodes: [Node] = []
        var nodeIndex: [Node: Int] = [:]
        func intern(_ node: Node) -> Int {
            if let known = nodeIndex[node] { return known }
            nodes.append(node)
            nodeIndex[node] = nodes.count - 1
            return nodes.count - 1
        }
        var chainOf = [Int](repeating: -1, count: blocks.count)
        var pending: [Int] = []
        for start in blocks.indices where retainers[start] != nil && chainOf[start] < 0 {
            // Walk up to a block whose chain is known (or a root), then back down.
            var block = start
            while chainOf[block] < 0, case let .block(parent)? = retainers[block], chainOf[parent] < 0 {
                pending.append(block)
                block = parent
                if pending.count > blocks.count { break }  // a retainer loop cannot happen; never spin
            }
            pending.append(block)
            while let next = pending.popLast() {
                guard chainOf[next] < 0 else { continue }
                switch retainers[next] {
                case let .root(span, address)?:
                    chainOf[next] = intern(Node(parent: -1, root: rootName(span, address), stack: -1))
                case let .block(parent)?:
                    let above = chainOf[parent]
                    let stack = Int(blocks[parent].stack)
                    // A run of blocks of one site (a list) is one step.
                    chainOf[next] = nodes[above].stack == stack ? above : intern(Node(parent: above, root: nil, stack: stack))
                case nil:
                    break
                }
            }
        }
        struct Key: Hashable { var stack: Int; var chain: Int }
        var totals: [Key: (blocks: UInt64, bytes: UInt64)] = [:]
        for block in blocks.indices where chainOf[block] >= 0 {
            let key = Key(stack: Int(blocks[block].stack), chain: chainOf[block])
            totals[key, default: (0, 0)].blocks += 1
            totals[key, default: (0, 0)].bytes += blocks[block].size
        }
        return totals.map { key, total in
            var via: [Int] = []
            var node = key.chain
            while nodes[node].parent >= 0 {
                via.append(nodes[node].stack)
                node = nodes[node].parent
            }
            return RetainerChain(stack: key.stack, root: nodes[node].root ?? "", via: via.reversed(),
                                 blocks: total.blocks, bytes: total.bytes)
        }.sorted { ($0.bytes, $1.root, $0.via.count) > ($1.bytes, $0.root, $1.via.count) }
    }
}
