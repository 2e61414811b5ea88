import XCTest
@testable import LeakSession

/// `run` and `attach` write every snapshot through `SnapshotWriter`: what it
/// warns about after a snapshot is what both print.
final class SnapshotWarningTests: XCTestCase {
    func testLostEventsAndProblemsAreTold() {
        XCTAssertEqual(SnapshotWriter.warnings(problem: nil, lostEvents: 0), [])
        XCTAssertEqual(SnapshotWriter.warnings(problem: nil, lostEvents: 12),
                       ["12 events were lost; sizes and counts are approximate"])
        XCTAssertEqual(SnapshotWriter.warnings(problem: "the agent ran out of memory", lostEvents: 3),
                       ["the agent ran out of memory", "3 events were lost; sizes and counts are approximate"])
    }
}
