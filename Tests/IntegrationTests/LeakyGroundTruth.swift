import XCTest

/// The leaky fixture's ground truth, checked the same way by every attach
/// test: each unit of work leaks one block of 4001 bytes in
/// make_session_record, and its cache of 16 blocks never grows.
extension XCTestCase {
    /// Asserts the leak site grew by exactly `units` blocks of 4001 bytes
    /// between `old` and `new`, and the bounded cache did not grow.
    func assertExactLeakGrowth(_ old: String, _ new: String, units: Int, file: StaticString = #filePath, line: UInt = #line) throws {
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
    func measureExactly(_ session: AttachedSession, units: Int, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        try work(session.target, 20, file: file, line: line)
        let first = try session.snapshot(file: file, line: line)
        try work(session.target, units, file: file, line: line)
        let second = try session.snapshot(file: file, line: line)
        try assertExactLeakGrowth(first, second, units: units, file: file, line: line)
        return 20 + units
    }

    /// Ends the target with "quit" and checks its own account of the leak.
    func quit(_ target: ChildProcess, leaked units: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        target.send("quit")
        XCTAssertEqual(try target.wait(file: file, line: line), 0, target.stderr, file: file, line: line)
        XCTAssertTrue(target.stdout.hasSuffix("leaked \(units) blocks of 4001 bytes\n"), target.stdout, file: file, line: line)
    }
}
