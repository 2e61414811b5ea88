import LeakReach
import XCTest

final class ReachabilityTests: XCTestCase {
    func testBlocksHeldFromAGlobalTheStackOrUnknownHeapMemoryAreReachable() {
        var heap = SyntheticHeap()
        let global = heap.allocate(32)
        let onStack = heap.allocate(48)
        let preAttach = heap.allocate(64)
        let lost = heap.allocate(24)
        heap.storeGlobal(heap.address(global))
        heap.storeOnStack(heap.address(onStack))
        heap.storeInHeapOutsideBlocks(heap.address(preAttach, plus: 40))  // an interior pointer
        let result = heap.analyse()
        XCTAssertEqual(result.retainers[global], .root(span: 0, address: SyntheticHeap.dataStart + 8))
        XCTAssertEqual(result.retainers[onStack], .root(span: 2, address: SyntheticHeap.stackStart + 16))
        XCTAssertTrue(result.isReachable(preAttach))
        XCTAssertEqual(result.unreachable.map(\.block), [lost])
        XCTAssertEqual(result.unreachable.first?.isDirect, true)
        XCTAssertEqual(result.cycles, [])
    }

    func testAPointerOneBytePastTheEndDoesNotHoldABlock() {
        var heap = SyntheticHeap()
        let block = heap.allocate(32)
        heap.storeGlobal(heap.address(block, plus: 32))
        XCTAssertEqual(heap.analyse().unreachable.map(\.block), [block])
    }

    func testMallocsPointerToTheNextChunksHeaderDoesNotHoldTheBlockItOverlaps() {
        var heap = SyntheticHeap()
        let partner = heap.allocate(24)  // a 32-byte chunk: the next header is at +16, inside
        let other = heap.allocate(24)
        heap.storeGlobal(heap.address(partner, plus: 16))  // glibc's arena "top"
        heap.storeGlobal(heap.address(other, plus: 8), at: 16)  // an ordinary interior pointer
        XCTAssertEqual(heap.analyse().unreachable.map(\.block), [partner])
    }

    func testAChainIsReachedThroughItsBlocksWithTheShortestRetainers() {
        var heap = SyntheticHeap()
        let first = heap.allocate(16)
        let second = heap.allocate(16)
        let third = heap.allocate(16)
        heap.storeGlobal(heap.address(first))
        heap.store(heap.address(second), in: first)
        heap.store(heap.address(third), in: second)
        heap.store(heap.address(first), in: third)  // back to the head: still one shortest chain
        let result = heap.analyse()
        XCTAssertEqual(result.unreachable, [])
        XCTAssertEqual(result.retainers[second], .block(first))
        XCTAssertEqual(result.retainers[third], .block(second))
    }

    func testAChainFromALowerRankedRootWinsOverAShorterOneFromTheStack() {
        var heap = SyntheticHeap()
        let head = heap.allocate(16)
        let second = heap.allocate(16)
        heap.storeGlobal(heap.address(head))
        heap.store(heap.address(second), in: head)
        heap.storeOnStack(heap.address(second))  // a stale copy
        var spans = heap.spans
        spans[2].rank = 1
        let result = Reachability.analyse(blocks: heap.blocks, spans: spans)
        XCTAssertEqual(result.retainers[second], .block(head))
    }

    func testAPointerStoredInsideAnUnreachableBlockIsNotARoot() {
        var heap = SyntheticHeap()
        let owner = heap.allocate(32)
        let owned = heap.allocate(32)
        heap.store(heap.address(owned), in: owner, at: 8)
        let result = heap.analyse()
        XCTAssertEqual(result.unreachable.map(\.block), [owner, owned])
        XCTAssertEqual(result.unreachable.map(\.isDirect), [true, false])
    }

    func testARetainCycleWithABufferIsOneDirectCycleAndAnIndirectBuffer() {
        var heap = SyntheticHeap()
        let owner = heap.allocate(48, stack: 1)
        let partner = heap.allocate(32, stack: 2)
        let buffer = heap.allocate(256, stack: 3)
        heap.store(0x1111, in: owner)  // a metadata pointer, kept for naming
        heap.store(heap.address(partner), in: owner, at: 16)
        heap.store(heap.address(buffer), in: owner, at: 24)
        heap.store(heap.address(owner), in: partner, at: 16)
        let result = heap.analyse()
        XCTAssertEqual(result.cycles, [[owner, partner]])
        let byBlock = Dictionary(uniqueKeysWithValues: result.unreachable.map { ($0.block, $0) })
        XCTAssertEqual(byBlock[owner]?.isDirect, true)
        XCTAssertEqual(byBlock[partner]?.isDirect, true)
        XCTAssertEqual(byBlock[owner]?.cycle, 0)
        XCTAssertEqual(byBlock[buffer]?.isDirect, false)
        XCTAssertNil(byBlock[buffer]?.cycle)
        XCTAssertEqual(byBlock[owner]?.firstBytes, [0x11, 0x11, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8))
    }

    func testACycleHeldByAnotherUnreachableBlockIsIndirect() {
        var heap = SyntheticHeap()
        let holder = heap.allocate(16)
        let a = heap.allocate(16)
        let b = heap.allocate(16)
        heap.store(heap.address(a), in: holder)
        heap.store(heap.address(b), in: a)
        heap.store(heap.address(a), in: b)
        let result = heap.analyse()
        XCTAssertEqual(result.unreachable.filter(\.isDirect).map(\.block), [holder])
        XCTAssertEqual(result.cycles, [[a, b]])
    }

    func testALongUnreachableListNeedsNoDeepRecursion() {
        var heap = SyntheticHeap()
        heap.heap = [UInt8](repeating: 0, count: 8 << 20)
        let count = 100_000
        var previous: Int?
        for _ in 0..<count {
            let node = heap.allocate(16)
            if let previous { heap.store(heap.address(node), in: previous) }
            previous = node
        }
        let result = heap.analyse()
        XCTAssertEqual(result.unreachable.count, count)
        XCTAssertEqual(result.unreachable.filter(\.isDirect).map(\.block), [0])
    }

    func testBlocksOutsideEveryCopiedSpanAreCountedAsUnread() {
        var heap = SyntheticHeap()
        heap.allocate(16)
        heap.blocks.append(KnownBlock(address: 0x1000, size: 16, stack: 0))
        XCTAssertEqual(heap.analyse().unreadBlocks, 1)
    }
}
