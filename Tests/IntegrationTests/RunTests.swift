import Foundation
import XCTest

/// `swiftleak run` against fixtures with known ground truth.
final class RunTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    func testFinalSnapshotFindsTheLeakExactly() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let units = 1200
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "batch", "\(units)", "4"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "leaked \(units) blocks of 4001 bytes\n", "the target's own output is unchanged")
        let paths = SwiftLeakCLI.snapshotPaths(in: run.stderr)
        XCTAssertEqual(paths.count, 1, run.stderr)
        let final = try XCTUnwrap(paths.last)
        XCTAssertTrue(final.hasPrefix(output + "/"), final)

        let top = try SwiftLeakCLI.json(["top", final, "--group-by", "function"])
        let stats = SwiftLeakCLI.stats(top)
        let first = try XCTUnwrap(stats.first)
        XCTAssertEqual(SwiftLeakCLI.function(first), "make_session_record")
        XCTAssertEqual(SwiftLeakCLI.int(first["count"]), Int64(units))
        XCTAssertEqual(SwiftLeakCLI.int(first["size"]), Int64(units * 4001))

        let byFunction = Dictionary(stats.map { (SwiftLeakCLI.function($0) ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
        // The bounded cache: exactly its 16 slots of 512 bytes are live.
        XCTAssertEqual(SwiftLeakCLI.int(byFunction["cache_put"]?["count"]), 16)
        XCTAssertEqual(SwiftLeakCLI.int(byFunction["cache_put"]?["size"]), 16 * 512)
        // Transient allocations (calloc, realloc, posix_memalign, aligned_alloc,
        // memalign, strdup, reallocarray) all net to zero.
        XCTAssertNil(byFunction["transient_work"], "transient allocations must not be live: \(stats)")

        let snapshot = try XCTUnwrap(top["snapshot"] as? [String: Any])
        XCTAssertEqual(SwiftLeakCLI.int(snapshot["lost_events"]), 0)
        XCTAssertEqual(snapshot["final"] as? Bool, true)
        XCTAssertEqual(snapshot["mode"] as? String, "run")
        // Per unit: 1 leak + 1 cache calloc + 7 transient allocations + 1 realloc result.
        XCTAssertGreaterThanOrEqual(SwiftLeakCLI.int(snapshot["allocations"]) ?? 0, Int64(units * 9))
    }

    func testDiffShowsExactlyTheGrowthBetweenTwoSnapshots() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let session = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "interactive", "3"])
        try session.waitForLine(containing: "ready")
        session.send("work 50")  // warm-up: the cache fills, the leak array grows
        try session.waitForLine(containing: "done 50")

        session.signal(SIGUSR1)
        try session.waitForLines(containing: "snapshot written: ", count: 1, onStderr: true)
        session.send("work 700")
        try session.waitForLine(containing: "done 700")
        session.signal(SIGUSR1)
        let written = try session.waitForLines(containing: "snapshot written: ", count: 2, onStderr: true)
        let paths = SwiftLeakCLI.snapshotPaths(in: written.joined(separator: "\n"))
        XCTAssertEqual(paths.count, 2, "\(written)")
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0)
        XCTAssertTrue(session.stdout.contains("leaked 750 blocks of 4001 bytes"), session.stdout)

        let diff = try SwiftLeakCLI.json(["diff", paths[0], paths[1], "--group-by", "function"])
        let top = try XCTUnwrap(SwiftLeakCLI.stats(diff).first)
        XCTAssertEqual(SwiftLeakCLI.function(top), "make_session_record")
        XCTAssertEqual(SwiftLeakCLI.int(top["size_diff"]), 700 * 4001)
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), 700)
        XCTAssertEqual(SwiftLeakCLI.int(top["count"]), 750)
        let cache = SwiftLeakCLI.stats(diff).first { SwiftLeakCLI.function($0) == "cache_put" }
        XCTAssertEqual(SwiftLeakCLI.int(cache?["count_diff"]), 0, "the bounded cache does not grow")
    }

    func testSwiftAllocationSitesResolveToSwiftSourceLines() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("SwiftLeaky"), "400"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "leaked 400 sessions\n")
        let final = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last)
        let top = try SwiftLeakCLI.json(["top", final, "--group-by", "lineno"])
        let source = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/Fixtures/SwiftLeaky.swift", encoding: .utf8)
        let leakLine = try XCTUnwrap(source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("// the leak site") }) + 1
        let site = SwiftLeakCLI.stats(top).first { stat in
            let frame = SwiftLeakCLI.frame0(stat)
            return (frame["file"] as? String)?.hasSuffix("SwiftLeaky.swift") == true && SwiftLeakCLI.int(frame["line"]) == Int64(leakLine)
        }
        let leak = try XCTUnwrap(site, "no site at SwiftLeaky.swift:\(leakLine) in \(SwiftLeakCLI.stats(top).prefix(5))")
        XCTAssertEqual(SwiftLeakCLI.int(leak["count"]), 400)
    }

    func testCppExceptionsBehaveTheSameUnderTheAgent() throws {
        let plain = try runCommand(TestEnvironment.fixture("exceptions"), [])
        XCTAssertEqual(plain.status, 0)
        let output = try TestEnvironment.temporaryDirectory()
        let traced = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("exceptions")])
        XCTAssertEqual(traced.status, 0, traced.stderr)
        XCTAssertEqual(traced.stdout, plain.stdout)
        XCTAssertTrue(traced.stdout.contains("caught 1000 exceptions"))
    }

    func testExitStatusOfTheTargetIsPassedOn() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "bad-usage"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("usage: leaky"))
    }

    func testMissingProgramIsAOneLineError() throws {
        let run = try runCommand(TestEnvironment.binary, ["run", "--", "/nonexistent/program"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("not found") || run.stderr.contains("/nonexistent/program"), run.stderr)
    }
}
