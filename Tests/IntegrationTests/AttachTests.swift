import Foundation
import XCTest

/// `swiftleak attach` / `snapshot` / `detach` against processes these tests
/// started themselves (never anything else), with exact ground truth.
final class AttachTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    private var leaky: String { TestEnvironment.fixture("leaky") }

    /// Asserts the leak site grew by exactly `units` blocks of 4001 bytes
    /// between `old` and `new`, and the bounded cache did not grow.
    private func assertExactLeakGrowth(_ old: String, _ new: String, units: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let stats = try SwiftLeakCLI.diff(old, new, groupBy: "function", file: file, line: line)
        let top = try XCTUnwrap(stats.first, file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.function(top), "make_session_record", "\(stats.prefix(3))", file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.int(top["size_diff"]), Int64(units * 4001), file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), Int64(units), file: file, line: line)
        let cache = SwiftLeakCLI.stat(stats, function: "cache_put")
        XCTAssertEqual(SwiftLeakCLI.int(cache?["count_diff"]), 0, "the bounded cache does not grow: \(stats.prefix(4))", file: file, line: line)
    }

    /// A traced warm-up, a snapshot, `units` of work, a snapshot: exact growth.
    /// The warm-up replaces the cache's 16 slots (allocated before the attach,
    /// so unknown to the agent) with traced blocks: from then on the cache
    /// is the same size in every snapshot.
    private func measureExactly(_ session: AttachedSession, units: Int, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        try work(session.target, 20, file: file, line: line)
        let first = try session.snapshot(file: file, line: line)
        try work(session.target, units, file: file, line: line)
        let second = try session.snapshot(file: file, line: line)
        try assertExactLeakGrowth(first, second, units: units, file: file, line: line)
        return 20 + units
    }

    /// Ends the target with "quit" and checks its own account of the leak.
    private func quit(_ target: ChildProcess, leaked units: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        target.send("quit")
        XCTAssertEqual(try target.wait(file: file, line: line), 0, target.stderr, file: file, line: line)
        XCTAssertTrue(target.stdout.hasSuffix("leaked \(units) blocks of 4001 bytes\n"), target.stdout, file: file, line: line)
    }

    func testAttachSnapshotDiffDetach() throws {
        let target = try startTarget(leaky, ["interactive", "3"])
        try work(target, 50)  // before the attach: invisible to it
        let session = try AttachedSession(target)
        XCTAssertEqual(TargetProc.tracerPID(target.pid), 0, "no thread stays ptrace-stopped after the attach")
        let traced = try measureExactly(session, units: 600)
        let final = try session.detach()
        XCTAssertTrue(final.hasSuffix("-final.swleak"), final)
        TargetProc.waitUntilAgentIdle(target.pid)
        try work(target, 10)
        try quit(target, leaked: 50 + traced + 10)
    }

    func testReattachReusesTheAgent() throws {
        let target = try startTarget(leaky, ["interactive", "3"])
        let first = try AttachedSession(target)
        try work(target, 30)
        _ = try first.detach()
        TargetProc.waitUntilAgentIdle(target.pid)
        let second = try AttachedSession(target)
        XCTAssertEqual(TargetProc.copiesMapped(target.pid, library: "libswiftleak-agent.so"), 1, "a re-attach must reuse the loaded agent")
        let traced = try measureExactly(second, units: 250)
        _ = try second.detach()
        try quit(target, leaked: 30 + traced)
    }

    func testTargetExitWhileAttached() throws {
        let target = try startTarget(leaky, ["interactive", "2"])
        let session = try AttachedSession(target)
        try work(target, 120)
        try quit(target, leaked: 120)
        XCTAssertEqual(try session.process.wait(timeout: 30), 0, session.process.stderr)
        XCTAssertEqual(session.process.stderrLines(containing: "pid \(target.pid) exited").count, 1, session.process.stderr)
        let final = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: session.process.stderr).last)
        XCTAssertTrue(final.hasSuffix("-final.swleak"), final)
        // The final snapshot, written after the exit, still holds every traced leak.
        let top = try SwiftLeakCLI.json(["top", final, "--group-by", "function"])
        let leak = try XCTUnwrap(SwiftLeakCLI.stat(SwiftLeakCLI.stats(top), function: "make_session_record"))
        XCTAssertEqual(SwiftLeakCLI.int(leak["count"]), 120)
        XCTAssertEqual(SwiftLeakCLI.int(leak["size"]), 120 * 4001)
    }
}
