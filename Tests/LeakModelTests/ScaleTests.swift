import XCTest
import LeakModel

/// A snapshot the size of a real service's, to catch accidental quadratic work.
final class ScaleTests: XCTestCase {
    func testLargeSnapshot() throws {
        let frameCount = 5000
        let frames = (0..<frameCount).map {
            Frame(function: "f\($0 % 700)", file: "/src/file\($0 % 90).swift", line: UInt32($0), module: "/app/m\($0 % 7).so", address: 0x40_0000 + UInt64($0) * 16)
        }
        var generator = SplitMix(seed: 7)
        let stacks = (0..<5000).map { _ in (0..<32).map { _ in Int(generator.next() % UInt64(frameCount)) } }
        let sites = stacks.indices.map { Site(stack: $0, size: UInt64($0 % 1000 + 1), count: 1) }
        var snapshot = makeSnapshot([])
        snapshot.frames = frames
        snapshot.stacks = StackTable(stacks)
        snapshot.sites = sites

        let start = ContinuousClock.now
        let bytes = SnapshotCodec.encode(snapshot)
        XCTAssertEqual(try SnapshotCodec.decode(bytes), snapshot)
        let total = sites.reduce(UInt64(0)) { $0 + $1.size }
        for groupBy in GroupBy.allCases {
            let stats = Statistics.compute(snapshot, groupBy: groupBy)
            XCTAssertEqual(stats.reduce(UInt64(0)) { $0 + $1.size }, total, "\(groupBy)")
        }
        let diffs = Comparison.compute(new: snapshot, old: snapshot, groupBy: .traceback)
        XCTAssertEqual(diffs.count, 5000)
        print("large snapshot: \(bytes.count) bytes, all analyses in \(ContinuousClock.now - start)")
    }
}
