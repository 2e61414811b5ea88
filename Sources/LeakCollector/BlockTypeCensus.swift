import Foundation
import LeakAggregator
import LeakModel
import LeakProc
import LeakReach
import LeakPython
import LeakSymbols
import LeakTypes

/// The live blocks of a traced process counted by the type their memory
/// names, per stack: what `swiftleak types` writes into section 13.
struct BlockTypeCensus {
    /// Named types per stack index (stacks with no named block have an empty list).
    var typesByStack: [UInt32: [BlockTypeCount]] = [:]
    var blocksTotal = 0
    /// Blocks whose memory could be read (the rest were freed meanwhile).
    var blocksRead = 0
    var blocksNamed = 0
    var seconds: Double = 0

    /// The live blocks, as the aggregator holds them while locked (so they
    /// match the totals of the snapshot they go into): what the census reads
    /// and what a reachability scan marks.
    static func liveBlocks(of aggregator: Aggregator) -> [KnownBlock] {
        var blocks: [KnownBlock] = []
        blocks.reserveCapacity(aggregator.liveBlockCount)
        aggregator.forEachLiveBlockAddress { address, block in
            blocks.append(KnownBlock(address: address, size: block.size, stack: block.stackIndex))
        }
        return blocks
    }

    /// Reads and names `blocks` in the running process (see `BlockHeadReader`
    /// for why no pause is needed). Without a symbolizer only Python types
    /// can be named.
    init(pid: Int32, blocks: [KnownBlock]) {
        let start = Date()
        blocksTotal = blocks.count
        let namer = Self.namer(pid: pid)
        let heads = BlockHeadReader(pid: pid).read(addresses: blocks.map(\.address), sizes: blocks.map(\.size))
        var counts: [UInt32: [String: (blocks: UInt64, bytes: UInt64)]] = [:]
        for (block, head) in zip(blocks, heads) {
            if head.count > 0 { blocksRead += 1 }
            guard let name = namer.name(head) else {
                if counts[block.stack] == nil { counts[block.stack] = [:] }
                continue
            }
            blocksNamed += 1
            counts[block.stack, default: [:]][name, default: (0, 0)].blocks += 1
            counts[block.stack]![name]!.bytes += block.size
        }
        for (stack, types) in counts {
            typesByStack[stack] = types.map { BlockTypeCount(name: $0.key, blocks: $0.value.blocks, bytes: $0.value.bytes) }
                .sorted { ($0.blocks, $1.name) > ($1.blocks, $0.name) }
        }
        seconds = Date().timeIntervalSince(start)
    }
}

extension BlockTypeCensus {
    /// The namer for `pid`'s blocks. Without a symbolizer only Python types can be named.
    static func namer(pid: Int32) -> BlockTypeNamer {
        let symbols: DataSymbolLookup = (try? Symbolizer(pid: pid)) ?? NoDataSymbols()
        return BlockTypeNamer(symbols: symbols, memory: ProcessMemory(pid: pid),
                              swiftRuntime: mapsSwiftRuntime(pid: pid),
                              pythonObjects: PythonFrameResolver.interpreterMinor(pid: pid) != nil)
    }

    /// Whether the target maps the Swift runtime, so it can hold class
    /// metadata made at run time (a program built with -static-stdlib does
    /// not map it: its generic instances stay unknown).
    static func mapsSwiftRuntime(pid: Int32) -> Bool {
        guard case let .success(text) = ProcFiles.read("/proc/\(pid)/maps") else { return false }
        return MapsLine.parse(text).contains { $0.livePath.hasSuffix("/libswiftCore.so") }
    }
}

/// Stands in when the target's modules cannot be read.
private struct NoDataSymbols: DataSymbolLookup {
    func dataSymbol(at address: UInt64) -> DataSymbol? { nil }
}
