import Foundation
import XCTest

/// The agent's pair window (Sources/Agent/pair_window.h) folds blocks freed
/// before they were sent into pair counts and peak records. A snapshot must
/// not be able to tell: the same single-threaded program, traced with the
/// window and without it (SWIFTLEAK_PAIRS=off: every allocation and free as
/// its own record), gives the same figures, the peak included, which only
/// the transient blocks set.
final class PairWindowTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    private func figures(pairs: String) throws -> [String: Int64] {
        let output = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: output) }
        // One worker: the program's events come in one order every run.
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "batch", "3000", "1"],
                                 environment: ["SWIFTLEAK_PAIRS": pairs])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "leaked 3000 blocks of 4001 bytes\n", "the target's own output is unchanged")
        let final = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last, run.stderr)
        let snapshot = try XCTUnwrap(try SwiftLeakCLI.json(["stats", final])["snapshot"] as? [String: Any])
        var figures: [String: Int64] = [:]
        for key in ["current_bytes", "current_blocks", "peak_bytes", "peak_blocks", "allocations", "frees", "unknown_frees", "lost_events"] {
            figures[key] = try XCTUnwrap(SwiftLeakCLI.int(snapshot[key]), key)
        }
        let top = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", final, "--group-by", "function", "--limit", "0"]))
        for stat in top {
            figures["live bytes at \(SwiftLeakCLI.function(stat) ?? "?")"] = SwiftLeakCLI.int(stat["size"])
        }
        return figures
    }

    func testSnapshotsAreTheSameWithAndWithoutThePairWindow() throws {
        let raw = try figures(pairs: "off")
        let folded = try figures(pairs: "on")
        XCTAssertEqual(folded, raw)
        // leaky's transient blocks (calloc, realloc, strdup... all freed) lift
        // the peak above what stays live: what the window must not lose.
        XCTAssertGreaterThan(try XCTUnwrap(raw["peak_blocks"]), try XCTUnwrap(raw["current_blocks"]))
        XCTAssertEqual(raw["live bytes at make_session_record"], 3000 * 4001)
        XCTAssertGreaterThan(try XCTUnwrap(raw["frees"]), 3000 * 5, "the transient allocations were freed")
    }
}
