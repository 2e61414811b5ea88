import Glibc
import LeakTypes
import XCTest

/// Block heads read from a live process (this one) in batches, with a hole
/// where a block's memory is gone and a head cut short by an unreadable page.
final class BlockHeadReaderTests: XCTestCase {
    func testHeadsAreReadInOrderAndAnUnmappedBlockReadsAsNothing() throws {
        let count = 2500  // more than two batches
        let blocks = (0..<count).map { i -> UnsafeMutablePointer<UInt64> in
            let block = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
            for w in 0..<8 { block[w] = UInt64(i * 100 + w) }
            return block
        }
        defer { blocks.forEach { $0.deallocate() } }
        let page = try XCTUnwrap(mmap(nil, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(page, 4096) }
        // A block whose head runs into a page it cannot read: what precedes that page.
        let pair = try XCTUnwrap(mmap(nil, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(pair, 8192) }
        XCTAssertEqual(mprotect(pair + 4096, 4096, PROT_NONE), 0)
        (pair + 4080).storeBytes(of: (UInt64(41), UInt64(42)), as: (UInt64, UInt64).self)
        var addresses = blocks.map { UInt64(UInt(bitPattern: $0)) }
        var sizes = [UInt64](repeating: 64, count: count)
        addresses[1500] = UInt64(UInt(bitPattern: page))
        addresses[1600] = UInt64(UInt(bitPattern: pair)) + 4080
        sizes[7] = 20  // a small block: two whole words

        let heads = BlockHeadReader(pid: getpid()).read(addresses: addresses, sizes: sizes)
        XCTAssertEqual(heads.map(\.address), addresses)
        XCTAssertEqual(heads[0].words, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(heads[7].words, [700, 701])
        XCTAssertEqual(heads[1500].words, [])
        XCTAssertEqual(heads[1600].words, [41, 42])
        XCTAssertEqual(heads[1501].words, [150100, 150101, 150102, 150103, 150104, 150105])
        XCTAssertEqual(heads[count - 1].words.first, UInt64((count - 1) * 100))
    }
}
