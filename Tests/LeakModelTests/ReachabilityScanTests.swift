import LeakModel
import LeakTestSupport
import XCTest

/// Section 12 (a reachability scan) and the analyses read from it.
final class ReachabilityScanTests: XCTestCase {
    /// Sites 0 and 1 (makeCache:10 and :12) are a leaked cycle of two
    /// objects, each cycle owning a buffer from parse (site 2); site 3 holds
    /// a lone direct leak; site 5's blocks are reachable through site 4 from a global.
    static func scanned() -> Snapshot {
        var snapshot = makeSnapshot(fixtureTraces)
        var unreachable: [UnreachableBlock] = []
        for cycle in 0..<3 as Range<UInt32> {
            let base = 0x10_0000 + UInt64(cycle) * 0x1000
            unreachable.append(UnreachableBlock(stack: 0, address: base, size: 48, isDirect: true, cycle: cycle, firstBytes: [1, 2]))
            unreachable.append(UnreachableBlock(stack: 1, address: base + 0x100, size: 32, isDirect: true, cycle: cycle, firstBytes: []))
            unreachable.append(UnreachableBlock(stack: 2, address: base + 0x200, size: 100, isDirect: false, cycle: nil,
                                                ownerCycle: cycle, firstBytes: Array(0..<16)))
        }
        unreachable.append(UnreachableBlock(stack: 3, address: 0x20_0000, size: 64, isDirect: true, cycle: nil, firstBytes: [9]))
        snapshot.reachability = ReachabilityScan(
            pauseSeconds: 0.0125, totalSeconds: 0.5, knownBlocks: 25, copiedBytes: 1 << 20, threads: 2, unreachable: unreachable,
            retainers: [RetainerChain(stack: 5, root: "global `table` (server .bss)", via: [4], blocks: 3, bytes: 24),
                        RetainerChain(stack: 5, root: "global `table` (server .bss)", via: [4], blocks: 1, bytes: 8),
                        RetainerChain(stack: 4, root: "thread 7 stack", via: [], blocks: 1, bytes: 64)])
        return snapshot
    }

    func testTheScanRoundTripsAndOldSnapshotsHaveNone() throws {
        let snapshot = Self.scanned()
        XCTAssertEqual(try SnapshotCodec.decode(SnapshotCodec.encode(snapshot)), snapshot)
        let plain = makeSnapshot(fixtureTraces)
        XCTAssertNil(try SnapshotCodec.decode(SnapshotCodec.encode(plain)).reachability)
    }

    func testUnreachableMemoryIsGroupedLikeTopWithDirectAndIndirectCounts() {
        let stats = UnreachableMemory.statistics(Self.scanned(), groupBy: .function)
        let byFunction = Dictionary(uniqueKeysWithValues: stats.map { ($0.traceback[0].function ?? "?", $0) })
        XCTAssertEqual(byFunction["makeCache"]?.count, 6)
        XCTAssertEqual(byFunction["makeCache"]?.directCount, 6)
        XCTAssertEqual(byFunction["parse"]?.count, 4)
        XCTAssertEqual(byFunction["parse"]?.directCount, 1)
        XCTAssertEqual(byFunction["parse"]?.indirectCount, 3)
        XCTAssertEqual(byFunction["parse"]?.size, 364)
    }

    func testIdenticalCyclesCountTogetherNamedByTypeWhereKnown() {
        let cycles = UnreachableMemory.cycles(Self.scanned()) { _, first in first == [1, 2] ? "server.Session" : nil }
        XCTAssertEqual(cycles.count, 1)
        XCTAssertEqual(cycles.first?.instances, 3)
        XCTAssertEqual(cycles.first?.memberNames, ["makeCache at Cache.swift:12", "server.Session"])
        XCTAssertEqual(cycles.first?.ownedBlocksEach, 1)
        XCTAssertEqual(cycles.first?.blocks, 9)
        XCTAssertEqual(cycles.first?.bytes, 3 * (48 + 32 + 100))
    }

    func testRetainersMergeIdenticalChainsPerGroup() {
        let groups = Retainers.groups(Self.scanned(), groupBy: .function)
        XCTAssertEqual(groups.map(\.bytes), [64, 32], "biggest first, as top")
        XCTAssertEqual(groups.last?.traceback, [F.anonymous])
        XCTAssertEqual(groups.last?.chains, [HoldingChain(root: "global `table` (server .bss)", via: [F.inflate], blocks: 4, bytes: 32)])
        XCTAssertEqual(groups.first?.chains, [HoldingChain(root: "thread 7 stack", via: [], blocks: 1, bytes: 64)])
    }
}
