import XCTest
import LeakModel
import LeakTestSupport

/// Module build IDs travel in a section of their own, written only when known.
final class BuildIDSectionTests: XCTestCase {
    func testBuildIDsRoundTripAndStayOptional() throws {
        var snapshot = makeSnapshot(fixtureTraces)
        let plain = SnapshotCodec.encode(snapshot)
        XCTAssertEqual(try SnapshotCodec.decode(plain).buildIDs, [:])
        snapshot.buildIDs = ["/app/server": "666388a251d17b34", "/lib/libz.so.1": "93ac61ec"]
        let bytes = SnapshotCodec.encode(snapshot)
        XCTAssertEqual(try SnapshotCodec.decode(bytes), snapshot)
        // 12 bytes of section header; count; each path and ID with its length byte.
        XCTAssertEqual(bytes.count, plain.count + 12 + 1 + (1 + 11 + 1 + 16) + (1 + 14 + 1 + 8))
    }
}
