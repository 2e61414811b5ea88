import XCTest
import LeakModel
import LeakTestSupport

/// Grouping works on interned frame indices: it must still group by what
/// frames are, not by where they sit in a snapshot's frame table.
final class InternedGroupingTests: XCTestCase {
    /// A hand-built snapshot may list one frame twice; its stacks are still one group.
    func testEqualFramesAtDifferentIndicesGroupAsOne() {
        var snapshot = makeSnapshot([])
        snapshot.frames = [F.cache10, F.main, F.cache10, F.main]
        snapshot.stacks = [[0, 1], [2, 3]]
        snapshot.sites = [Site(stack: 0, size: 100, count: 1), Site(stack: 1, size: 50, count: 2)]
        let byStack = Statistics.compute(snapshot, groupBy: .traceback)
        XCTAssertEqual(byStack, [Statistic(traceback: [F.cache10, F.main], size: 150, count: 3)])
        let byFunction = Statistics.compute(snapshot, groupBy: .function)
        XCTAssertEqual(byFunction, [Statistic(traceback: [F.cache10], size: 150, count: 3)])
    }

    /// The old snapshot's frame table in another order: stacks still match by value.
    func testDiffMatchesStacksAcrossDifferentFrameTables() {
        let new = makeSnapshot([(frames: [F.agentMalloc, F.cache10, F.main], size: 300, count: 3),
                                (frames: [F.parse, F.main], size: 40, count: 1)])
        var old = makeSnapshot([])
        old.frames = [F.main, F.parse, F.cache10, F.agentMalloc]
        old.stacks = [[3, 2, 0], [1, 0]]
        old.sites = [Site(stack: 0, size: 100, count: 1), Site(stack: 1, size: 40, count: 1)]
        let diffs = Comparison.compute(new: new, old: old, groupBy: .traceback)
        XCTAssertEqual(diffs, [
            StatisticDiff(traceback: [F.cache10, F.main], size: 300, sizeDiff: 200, count: 3, countDiff: 2),
            StatisticDiff(traceback: [F.parse, F.main], size: 40, sizeDiff: 0, count: 1, countDiff: 0),
        ])
    }

    /// `frames` and `traceback` are the same frames; the table holds each once.
    func testStatisticFramesShareOneTable() {
        let stats = Statistics.compute(fixture, groupBy: .traceback)
        XCTAssertGreaterThan(stats.count, 1)
        XCTAssertTrue(stats.allSatisfy { $0.frames.table === stats[0].frames.table })
        XCTAssertEqual(Set(stats[0].frames.table.frames).count, stats[0].frames.table.frames.count)
        for stat in stats { XCTAssertEqual(Array(stat.frames), stat.traceback) }
    }

    func testStackTableReadsLikeNestedArrays() {
        var table: StackTable = [[0, 1, 2], [], [5]]
        table.append([7, 8])
        XCTAssertEqual(table.count, 4)
        XCTAssertEqual(table.map { Array($0) }, [[0, 1, 2], [], [5], [7, 8]])
        XCTAssertEqual(table, StackTable([[0, 1, 2], [], [5], [7, 8]]))
        XCTAssertNotEqual(table, StackTable([[0, 1], [2], [5], [7, 8]]))
        XCTAssertEqual(table.description, "[[0, 1, 2], [], [5], [7, 8]]")
    }

    /// Indices a hand-built snapshot gets wrong stay wrong when stored as
    /// Int32: their bytes still land under the unknown frame.
    func testOutOfRangeIndicesStayOutOfRange() {
        var snapshot = makeSnapshot([])
        snapshot.frames = [F.cache10]
        snapshot.stacks = [[Int.max], [Int(Int32.max) + 1], [-1]]
        XCTAssertEqual(snapshot.stacks.map { Array($0) }, [[Int(Int32.max)], [Int(Int32.max)], [-1]])
        snapshot.sites = [Site(stack: 0, size: 1, count: 1), Site(stack: 1, size: 2, count: 1), Site(stack: 2, size: 4, count: 1)]
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .lineno), [Statistic(traceback: [Frame(address: 0)], size: 7, count: 3)])
    }

    /// Slicing-by-8 against the plain bit-at-a-time definition, at every
    /// length around the 8-byte steps and from an offset slice.
    func testCRC32MatchesTheBitwiseDefinition() {
        func bitwise(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return crc ^ 0xFFFF_FFFF
        }
        var seed: UInt32 = 12345
        let bytes: [UInt8] = (0..<100).map { _ in
            seed = seed &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: seed >> 16)
        }
        for length in 0...bytes.count {
            XCTAssertEqual(CRC32.checksum(Array(bytes[0..<length])), bitwise(Array(bytes[0..<length])), "length \(length)")
        }
        XCTAssertEqual(CRC32.checksum(bytes[3..<90]), bitwise(Array(bytes[3..<90])))
        XCTAssertEqual(CRC32.checksum(bytes.lazy.map { $0 }), bitwise(bytes))  // not contiguous
    }
}
