import Foundation
import XCTest

/// The binary reads the fixed version 1 snapshot file, as users' old files
/// must keep being read (its exact contents: LeakModelTests'
/// ReferenceSnapshotTests).
final class ReferenceSnapshotFileTests: XCTestCase {
    func testTopReadsTheVersion1ReferenceFile() throws {
        try TestEnvironment.requireBuilt()
        let path = TestEnvironment.packageRoot + "/Tests/Fixtures/snapshots/v1-reference.swleak"
        let top = try SwiftLeakCLI.json(["top", path, "--group-by", "traceback"])
        let snapshot = try XCTUnwrap(top["snapshot"] as? [String: Any])
        XCTAssertEqual(SwiftLeakCLI.int(snapshot["pid"]), 31337)
        XCTAssertEqual(snapshot["command"] as? [String], ["/srv/checkout", "--region", "eu-west", "caf\u{e9} \u{2615}", ""])
        XCTAssertEqual(snapshot["mode"] as? String, "attach")
        XCTAssertEqual(snapshot["final"] as? Bool, true)
        XCTAssertEqual(SwiftLeakCLI.int(snapshot["current_bytes"]), 48_299)
        XCTAssertEqual(SwiftLeakCLI.int(snapshot["lost_events"]), 2)
        let stats = SwiftLeakCLI.stats(top)
        XCTAssertEqual(stats.map { SwiftLeakCLI.int($0["size"]) }, [40_010, 8192, 96, 1])
        XCTAssertEqual(stats.map { SwiftLeakCLI.int($0["count"]) }, [10, 16, 3, 1])
        XCTAssertEqual(stats.map(SwiftLeakCLI.function), ["$s8Checkout7SessionC6recordyyF", "cache_put", nil, nil])
        XCTAssertEqual(stats.first?["oldest_age_s"] as? Double, 125.5)
    }
}
