import XCTest
import LeakEvents
@testable import LeakAggregator

final class AggregatorTests: XCTestCase {
    func testCountsLiveBytesPerStackAndPeak() {
        let aggregator = Aggregator()
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.stack(id: 2, ips: [0x20]))
        aggregator.apply(.alloc(address: 0xA0, size: 100, stack: 1))
        aggregator.apply(.alloc(address: 0xB0, size: 50, stack: 1))
        aggregator.apply(.alloc(address: 0xC0, size: 7, stack: 2))
        aggregator.apply(.free(address: 0xA0))

        let byID = Dictionary(uniqueKeysWithValues: aggregator.liveStacks().map { ($0.stackID, $0) })
        XCTAssertEqual(byID[1]?.liveBytes, 50)
        XCTAssertEqual(byID[1]?.liveBlocks, 1)
        XCTAssertEqual(byID[2]?.liveBytes, 7)
        XCTAssertEqual(aggregator.counters.currentBytes, 57)
        XCTAssertEqual(aggregator.counters.currentBlocks, 2)
        XCTAssertEqual(aggregator.counters.peakBytes, 157)
        XCTAssertEqual(aggregator.counters.peakBlocks, 3)
        XCTAssertEqual(aggregator.counters.allocations, 3)
        XCTAssertEqual(aggregator.counters.frees, 1)

        aggregator.resetPeak()
        XCTAssertEqual(aggregator.counters.peakBytes, 57)
    }

    /// What the agent's pair window sends instead of ALLOC and FREE leaves
    /// every figure as the two records would have: here a 1000-byte block
    /// lived across the 50-byte allocation and vanished before either was sent.
    func testPairsAndPeakRecordsAddUpAsTheirAllocationsAndFreesWould() {
        let aggregator = Aggregator()
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.alloc(address: 0xA0, size: 100, stack: 1))
        aggregator.apply(.alloc(address: 0xB0, size: 50, stack: 1))
        aggregator.apply(.peak(bytes: 1000, blocks: 1))
        aggregator.apply(.pairs(stack: 1, size: 1000, count: 1))
        aggregator.apply(.pairs(stack: 1, size: 8, count: 5))
        aggregator.apply(.pairs(stack: 2, size: 8, count: 1))   // a stack never described: kept, unattributed

        XCTAssertEqual(aggregator.counters.currentBytes, 150)
        XCTAssertEqual(aggregator.counters.currentBlocks, 2)
        XCTAssertEqual(aggregator.counters.peakBytes, 1150)
        XCTAssertEqual(aggregator.counters.peakBlocks, 3)
        XCTAssertEqual(aggregator.counters.allocations, 9)
        XCTAssertEqual(aggregator.counters.frees, 7)
        let byID = Dictionary(uniqueKeysWithValues: aggregator.stacks.map { ($0.stackID, $0) })
        XCTAssertEqual(byID[1]?.allocatedBlocks, 8)
        XCTAssertEqual(byID[1]?.allocatedBytes, 1190)
        XCTAssertEqual(byID[1]?.liveBytes, 150)
        XCTAssertEqual(byID[2]?.allocatedBlocks, 1)
        XCTAssertEqual(byID[2]?.liveBlocks, 0)

        aggregator.apply(.peak(bytes: 10, blocks: 0))   // below the peak: no change
        XCTAssertEqual(aggregator.counters.peakBytes, 1150)
    }

    /// The batch path (`apply(_: UnsafeBufferPointer<BlockEvent>)`, the
    /// reader's) against one event at a time: frees of unknown and reused
    /// addresses, address 0, a replaced block, sizes of 4 GiB and more, a
    /// stack never described, and the peak reached inside a batch.
    func testBatchesCountExactlyAsSingleEvents() {
        var generator = SystemRandomNumberGenerator()
        var blocks: [BlockEvent] = []
        for step in 0..<20_000 {
            let address = UInt64.random(in: 0...600, using: &generator) << 4
            if Bool.random(using: &generator) {
                blocks.append(.free(address: address))
            } else {
                let size = step % 97 == 0 ? (1 << 32) + UInt64(step) : UInt64.random(in: 1...5000, using: &generator)
                blocks.append(.allocation(address: address, size: size, stack: UInt32.random(in: 1...4, using: &generator)))
            }
        }
        let single = Aggregator(), batched = Aggregator()
        for aggregator in [single, batched] {
            aggregator.apply(.stack(id: 1, ips: [0x10]))
            aggregator.apply(.stack(id: 2, ips: [0x20]))
            aggregator.apply(.stack(id: 3, ips: [0x30]))
        }
        for block in blocks {
            single.apply(block.isFree ? .free(address: block.address) : .alloc(address: block.address, size: block.size, stack: block.stack))
        }
        var start = 0
        while start < blocks.count {
            let end = min(blocks.count, start + Int.random(in: 1...300, using: &generator))
            blocks[start..<end].withUnsafeBufferPointer { batched.apply($0) }
            start = end
        }
        XCTAssertEqual(batched.counters, single.counters)
        XCTAssertEqual(batched.stacks, single.stacks)
        XCTAssertEqual(batched.liveBlockCount, single.liveBlockCount)
        XCTAssertGreaterThan(single.counters.replacedBlocks, 0)
        XCTAssertGreaterThan(single.counters.unknownFrees, 0)
        var live: [UInt64: LiveBlock] = [:]
        single.forEachLiveBlockAddress { live[$0] = $1 }
        batched.forEachLiveBlockAddress { XCTAssertEqual(live.removeValue(forKey: $0), $1) }
        XCTAssertTrue(live.isEmpty)
    }

    /// A block CPython hands out again from a free list moves to the stack
    /// that took it, as a free and an allocation of its size there would
    /// move it; the totals and the peak stay. One never seen is left alone.
    func testARetaggedBlockMovesToItsNewStackKeepingItsSize() {
        let aggregator = Aggregator()
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.stack(id: 2, ips: [0x20]))
        aggregator.apply(.alloc(address: 0xA0, size: 56, stack: 1))
        aggregator.apply(.alloc(address: 0xB0, size: 8, stack: 1))
        aggregator.now = 7
        aggregator.apply(.retag(address: 0xA0, stack: 2))
        aggregator.apply(.retag(address: 0xDEAD, stack: 2))   // allocated before tracing
        aggregator.apply(.retag(address: 0, stack: 2))

        XCTAssertEqual(aggregator.block(at: 0xA0), LiveBlock(size: 56, stackIndex: 1, birth: 7))
        XCTAssertEqual(aggregator.block(at: 0xDEAD), nil)
        let byID = Dictionary(uniqueKeysWithValues: aggregator.stacks.map { ($0.stackID, $0) })
        XCTAssertEqual(byID[1]?.liveBytes, 8)
        XCTAssertEqual(byID[1]?.liveBlocks, 1)
        XCTAssertEqual(byID[1]?.allocatedBlocks, 2)
        XCTAssertEqual(byID[2]?.liveBytes, 56)
        XCTAssertEqual(byID[2]?.liveBlocks, 1)
        XCTAssertEqual(byID[2]?.allocatedBytes, 56)
        XCTAssertEqual(aggregator.counters.currentBytes, 64)
        XCTAssertEqual(aggregator.counters.currentBlocks, 2)
        XCTAssertEqual(aggregator.counters.peakBytes, 64)
        XCTAssertEqual(aggregator.counters.peakBlocks, 2)
        XCTAssertEqual(aggregator.counters.allocations, 3)
        XCTAssertEqual(aggregator.counters.frees, 1)
        XCTAssertEqual(aggregator.counters.unknownFrees, 0)
    }

    /// Done in place, a retag must leave everything as the free and the
    /// allocation again it stands for would: counts, totals, peak, sampled
    /// estimates, and a size over 4 GiB (kept outside the table's slots).
    func testARetagCountsAsTheFreeAndAllocationItStandsFor() {
        for sampled in [false, true] {
            let retagged = Aggregator(), replayed = Aggregator()
            for a in [retagged, replayed] {
                if sampled { a.weigh = { size in (2, Double(size) * 2 + 1) } }
                a.apply(.stack(id: 1, ips: [0x10]))
                a.apply(.stack(id: 2, ips: [0x20]))
                a.apply(.stack(id: 3, ips: [0x30]))
                a.apply(.alloc(address: 0xA0, size: 56, stack: 1))
                a.apply(.alloc(address: 0xB0, size: 5 << 32, stack: 1))
                a.apply(.alloc(address: 0xC0, size: 8, stack: 2))
                a.apply(.free(address: 0xC0))
                a.now = 9
            }
            let moves: [(UInt64, UInt32)] = [(0xA0, 2), (0xB0, 3), (0xA0, 3), (0xC0, 1), (0xB0, 1)]
            for (address, stack) in moves {
                retagged.apply(.retag(address: address, stack: stack))
                if let block = replayed.block(at: address) {
                    replayed.apply(.free(address: address))
                    replayed.apply(.alloc(address: address, size: block.size, stack: stack))
                }
            }
            XCTAssertEqual(retagged.counters, replayed.counters, "sampled: \(sampled)")
            XCTAssertEqual(retagged.stacks, replayed.stacks, "sampled: \(sampled)")
            for address: UInt64 in [0xA0, 0xB0, 0xC0] {
                XCTAssertEqual(retagged.block(at: address), replayed.block(at: address), "sampled: \(sampled)")
            }
            XCTAssertEqual(retagged.block(at: 0xB0)?.size, 5 << 32)
        }
    }

    func testUnknownFreesAreCountedAndIgnored() {
        let aggregator = Aggregator()
        aggregator.apply(.free(address: 0xDEAD))
        aggregator.apply(.free(address: 0))
        XCTAssertEqual(aggregator.counters.unknownFrees, 1)
        XCTAssertEqual(aggregator.counters.currentBytes, 0)
        XCTAssertEqual(aggregator.counters.frees, 0)
    }

    func testAnAddressReusedAfterItsFreeIsANewBlock() {
        let aggregator = Aggregator()
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.stack(id: 2, ips: [0x20]))
        aggregator.apply(.alloc(address: 0xA0, size: 10, stack: 1))
        aggregator.apply(.free(address: 0xA0))
        aggregator.apply(.alloc(address: 0xA0, size: 30, stack: 2))
        XCTAssertEqual(aggregator.block(at: 0xA0), LiveBlock(size: 30, stackIndex: 1, birth: 0))
        XCTAssertEqual(aggregator.liveStacks().map(\.stackID), [2])
        XCTAssertEqual(aggregator.counters.replacedBlocks, 0)
    }

    func testLostEventsAreTakenFromTheAgent() {
        let aggregator = Aggregator()
        aggregator.apply(.sync(token: 1, lostEvents: 3))
        XCTAssertEqual(aggregator.counters.lostEvents, 3)
    }

    /// The live table against a Dictionary model, through growth, shrinking
    /// and many deletions that exercise backward shifting.
    func testLiveTableMatchesADictionaryModel() {
        let table = LiveBlockTable(capacity: 16)
        var model: [UInt64: LiveBlock] = [:]
        var generator = SystemRandomNumberGenerator()
        var addresses: [UInt64] = []
        for step in 0..<200_000 {
            if addresses.isEmpty || (step < 120_000 ? Int.random(in: 0..<3, using: &generator) > 0 : Int.random(in: 0..<3, using: &generator) == 0) {
                let address = UInt64.random(in: 1...(1 << 20), using: &generator) << 4
                // Every 50th block 8 GiB and more: kept beside the packed slots.
                let size = step % 50 == 0 ? (1 << 33) + UInt64(step) : UInt64(step)
                let block = LiveBlock(size: size, stackIndex: UInt32(step % 7), birth: UInt32(step / 3))
                XCTAssertEqual(table.insert(address, block), model.updateValue(block, forKey: address))
                addresses.append(address)
            } else {
                let index = Int.random(in: 0..<addresses.count, using: &generator)
                let address = addresses.remove(at: index)
                XCTAssertEqual(table.remove(address), model.removeValue(forKey: address))
            }
        }
        XCTAssertEqual(table.count, model.count)
        for (address, block) in model { XCTAssertEqual(table.find(address), block) }
        var seen = 0
        table.forEach { address, block in
            seen += 1
            XCTAssertEqual(model[address], block)
        }
        XCTAssertEqual(seen, model.count)
    }

    /// The stack-id table against a Dictionary model, through growth, with
    /// ids at both ends of the range and ids that collide in the low bits.
    func testStackIndexTableMatchesADictionaryModel() {
        let table = StackIndexTable(capacity: 16)
        var model: [UInt32: UInt32] = [:]
        var generator = SystemRandomNumberGenerator()
        var ids: [UInt32] = [0, .max, 1 << 16, 2 << 16, 3 << 16]
        for _ in 0..<50_000 { ids.append(UInt32.random(in: 0...UInt32.max, using: &generator)) }
        for (step, id) in ids.enumerated() {
            XCTAssertEqual(table.find(id), model[id])
            table.set(id, UInt32(step))
            model[id] = UInt32(step)
        }
        XCTAssertEqual(table.count, model.count)
        for (id, index) in model { XCTAssertEqual(table.find(id), index) }
        for _ in 0..<10_000 {
            let id = UInt32.random(in: 0...UInt32.max, using: &generator)
            XCTAssertEqual(table.find(id), model[id])
        }
    }
}

/// What each stack allocated since tracing began, freed or not.
final class CumulativeCountsTests: XCTestCase {
    func testEveryAllocationCountsAndFreesTakeNothingBack() {
        let aggregator = Aggregator()
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.stack(id: 2, ips: [0x20]))
        aggregator.apply(.alloc(address: 0xA0, size: 100, stack: 1))
        aggregator.apply(.free(address: 0xA0))
        aggregator.apply(.alloc(address: 0xA0, size: 30, stack: 1))
        aggregator.apply(.alloc(address: 0xB0, size: 8, stack: 2))
        aggregator.apply(.free(address: 0xB0))
        // A failed allocation (address 0) allocated nothing.
        aggregator.apply(.alloc(address: 0, size: 1 << 40, stack: 2))

        let byID = Dictionary(uniqueKeysWithValues: aggregator.stacks.map { ($0.stackID, $0) })
        XCTAssertEqual(byID[1]?.allocatedBlocks, 2)
        XCTAssertEqual(byID[1]?.allocatedBytes, 130)
        XCTAssertEqual(byID[1]?.liveBytes, 30)
        XCTAssertEqual(byID[2]?.allocatedBlocks, 1)
        XCTAssertEqual(byID[2]?.allocatedBytes, 8)
        XCTAssertEqual(byID[2]?.liveBlocks, 0)
        XCTAssertEqual(aggregator.liveStacks().map(\.stackID), [1])
    }
}
