import XCTest
import LeakModel
import LeakTestSupport

/// Block types per site (section 13): they round-trip, files without them
/// read as before, `--group-by type` splits each site over its types with
/// the rest unknown, and a diff shows growth per type.
final class BlockTypesTests: XCTestCase {
    func typed(_ sessions: UInt64) -> Snapshot {
        var snapshot = makeSnapshot(fixtureTraces)
        snapshot.sites[0].types = [BlockTypeCount(name: "app.Session", blocks: sessions, bytes: sessions * 64)]
        snapshot.sites[1].types = [BlockTypeCount(name: "app.Session", blocks: 2, bytes: 128),
                                   BlockTypeCount(name: "Parser", blocks: 3, bytes: 300)]
        for index in 2..<snapshot.sites.count { snapshot.sites[index].types = [] }
        return snapshot
    }

    func testTypesRoundTripAndStayOptional() throws {
        let snapshot = typed(4)
        let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(snapshot))
        XCTAssertEqual(decoded, snapshot)
        XCTAssertTrue(decoded.hasBlockTypes)
        let plain = makeSnapshot(fixtureTraces)
        XCTAssertFalse(try SnapshotCodec.decode(SnapshotCodec.encode(plain)).hasBlockTypes)
    }

    func testNamedBlocksBeyondTheSiteAreCorrupt() {
        var snapshot = makeSnapshot(fixtureTraces)
        snapshot.sites[2].types = [BlockTypeCount(name: "Parser", blocks: 4, bytes: 300)]  // the site has 3 blocks
        XCTAssertThrowsError(try SnapshotCodec.decode(SnapshotCodec.encode(snapshot))) { error in
            XCTAssertEqual("\(error)".contains("block types beyond the site's live totals"), true, "\(error)")
        }
    }

    func testGroupByTypeSplitsSitesAndCountsTheRestUnknown() {
        let stats = Statistics.compute(typed(4), groupBy: .type)
        let rows = stats.map { ($0.traceback[0].function ?? "", $0.count, $0.size) }
        // 10+5+3+2+1+4 = 25 blocks, 2096 bytes in all; 6 Session, 3 Parser.
        XCTAssertEqual(rows.map(\.0), ["unknown", "app.Session", "Parser"])
        XCTAssertEqual(rows.map(\.1), [16, 6, 3])
        XCTAssertEqual(rows.map(\.2), [2096 - 384 - 300, 384, 300])
    }

    func testDiffOfTypedSnapshotsShowsGrowthPerType() {
        let diffs = Comparison.compute(new: typed(9), old: typed(4), groupBy: .type)
        let session = diffs.first { $0.traceback[0].function == "app.Session" }
        XCTAssertEqual(session?.countDiff, 5)
        XCTAssertEqual(session?.sizeDiff, 5 * 64)
        let unknown = diffs.first { $0.traceback[0].function == "unknown" }
        XCTAssertEqual(unknown?.countDiff, -5)
    }
}
