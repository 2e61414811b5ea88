import XCTest
import LeakModel
import LeakTestSupport

/// Cumulative counts per site (the "allocated" section): they round-trip,
/// files without them still read, and a site kept only for them (all its
/// blocks freed) changes no live-memory analysis.
final class AllocatedTotalsTests: XCTestCase {
    func withChurn() -> Snapshot {
        var snapshot = makeSnapshot(fixtureTraces)
        snapshot.sites[0].allocated = AllocationTotals(blocks: 40, bytes: 4000)
        snapshot.frames.append(F.gone)
        snapshot.stacks.append([0, snapshot.frames.count - 1])
        snapshot.sites.append(Site(stack: snapshot.stacks.count - 1, size: 0, count: 0, allocated: AllocationTotals(blocks: 7, bytes: 700)))
        return snapshot
    }

    func testAllocatedTotalsRoundTrip() throws {
        let snapshot = withChurn()
        XCTAssertEqual(try SnapshotCodec.decode(SnapshotCodec.encode(snapshot)), snapshot)
    }

    func testTheSectionIsWrittenOnlyWhenSomeSiteHasTotals() throws {
        let plain = makeSnapshot(fixtureTraces)
        let plainBytes = SnapshotCodec.encode(plain)
        XCTAssertEqual(try SnapshotCodec.decode(plainBytes).sites.map(\.allocated), Array(repeating: nil, count: 6))
        // Only the new section differs: 12 bytes of section header, the count, and 3 varints for site 0.
        var one = plain
        one.sites[0].allocated = AllocationTotals(blocks: 1, bytes: 2)
        XCTAssertEqual(SnapshotCodec.encode(one).count, plainBytes.count + 12 + 4)
    }

    func testSitesWithNothingLiveChangeNoAnalysis() {
        let plain = makeSnapshot(fixtureTraces), churn = withChurn()
        for groupBy in GroupBy.allCases {
            XCTAssertEqual(Statistics.compute(churn, groupBy: groupBy), Statistics.compute(plain, groupBy: groupBy))
            XCTAssertEqual(Comparison.compute(new: churn, old: plain, groupBy: groupBy).filter { $0.sizeDiff != 0 || $0.countDiff != 0 }, [])
        }
        XCTAssertEqual(churn.liveSites.count, 6)
    }
}
