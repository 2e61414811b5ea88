import Foundation
import XCTest

/// `swiftleak leaks`: a scan of an attached process finds exactly the blocks
/// its fixture dropped, calls nothing reachable a leak, names cycles, and
/// leaves the target's output and exit status as they were. Expected
/// numbers come from the fixtures' own ground truth (reachability.c prints
/// it; RetainCycles.swift documents it).
final class UnreachableMemoryTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    func testExactlyTheDroppedBlocksAreUnreachableAndTheGlobalListIsNot() throws {
        let target = try startTarget(TestEnvironment.fixture("reachability"), [])
        let session = try AttachedSession(target)
        defer { if session.process.process.isRunning { session.kill9() } }
        target.send("grow 300")
        try target.waitForLine(containing: "grew 300")
        target.send("drop 40")
        try target.waitForLine(containing: "dropped ")
        let truth = try XCTUnwrap(target.stdout.split(separator: "\n").last { $0.hasPrefix("dropped ") }).split(separator: " ")
        let (droppedBlocks, droppedBytes) = (try XCTUnwrap(Int64(truth[1])), try XCTUnwrap(Int64(truth[3])))

        let report = try Self.leaks(["\(session.pid)", "--format", "json", "--limit", "0"])
        let scan = try XCTUnwrap(report["scan"] as? [String: Any])
        XCTAssertEqual(SwiftLeakCLI.int(scan["unreachable_blocks"]), droppedBlocks, "\(report)")
        XCTAssertEqual(SwiftLeakCLI.int(scan["unreachable_bytes"]), droppedBytes, "\(report)")
        let rows = Dictionary(uniqueKeysWithValues: SwiftLeakCLI.stats(report).map { (SwiftLeakCLI.function($0) ?? "?", $0) })
        XCTAssertEqual(Set(rows.keys), ["lost_record", "record_buffer", "lost_peer"], "the growing list is reachable: \(rows.keys)")
        // Records: nothing points to them. Buffers: only their record does. Peers: a cycle nothing points to.
        XCTAssertEqual(SwiftLeakCLI.int(rows["lost_record"]?["direct_count"]), 40)
        XCTAssertEqual(SwiftLeakCLI.int(rows["record_buffer"]?["indirect_count"]), 40)
        XCTAssertEqual(SwiftLeakCLI.int(rows["lost_peer"]?["direct_count"]), 80)
        let cycles = try XCTUnwrap(report["cycles"] as? [[String: Any]])
        XCTAssertEqual(cycles.count, 1, "\(cycles)")
        XCTAssertEqual(SwiftLeakCLI.int(cycles.first?["count"]), 40)
        XCTAssertEqual((cycles.first?["members"] as? [Any])?.count, 2)

        // The snapshot file says the same offline.
        let text = try runToCompletion(TestEnvironment.binary, ["leaks", try XCTUnwrap(Self.lastScanPath(session))])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("\(droppedBlocks) blocks (") && text.stdout.contains("unreachable"), text.stdout)
        XCTAssertTrue(text.stdout.contains("ROOT CYCLE x40  lost_peer"), text.stdout)

        // The target goes on as before: same answers, exit status 0.
        target.send("grow 1")
        try target.waitForLine(containing: "grew 1")
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 30), 0)
        XCTAssertEqual(target.stdout, "ready\ngrew 300\ndropped 160 blocks \(droppedBytes) bytes\ngrew 1\nbye\n")
        XCTAssertEqual(try session.process.wait(timeout: 30), 0, session.process.stderr)
    }

    func testARetainCycleLeakIsFoundExactlyAndTheBoundedCacheIsReachable() throws {
        let target = try startTarget(TestEnvironment.fixture("RetainCycles"), [])
        let session = try AttachedSession(target)
        defer { if session.process.process.isRunning { session.kill9() } }
        let calls = 50  // more than the cache's 32 entries: it evicts, and stays reachable
        target.send("call \(calls)")
        try target.waitForLine(containing: "done \(calls)")

        let report = try Self.leaks(["\(session.pid)", "--format", "json", "--group-by", "traceback", "--limit", "0"])
        let scan = try XCTUnwrap(report["scan"] as? [String: Any])
        // RetainCycles.swift: per call an Owner, a Partner and the Owner's buffer.
        XCTAssertEqual(SwiftLeakCLI.int(scan["unreachable_blocks"]), Int64(3 * calls), "\(report)")
        for row in SwiftLeakCLI.stats(report) {
            let functions = (row["traceback"] as? [[String: Any]] ?? []).compactMap { $0["function"] as? String }
            XCTAssertTrue(functions.contains { $0.contains("RetainCycles.leakCycle(") }, "not the leaking function: \(functions)")
            XCTAssertFalse(functions.contains { $0.contains("cachePut") }, "the cache is reachable: \(functions)")
        }
        let cycles = try XCTUnwrap(report["cycles"] as? [[String: Any]])
        XCTAssertEqual(cycles.count, 1, "\(cycles)")
        XCTAssertEqual(SwiftLeakCLI.int(cycles.first?["count"]), Int64(calls))
        XCTAssertEqual(SwiftLeakCLI.int(cycles.first?["owned_blocks_each"]), 1, "the Owner's buffer")
        // The cycle is named by the classes its memory names (their metadata), not guessed from the site.
        let names = (cycles.first?["members"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["RetainCycles.Owner", "RetainCycles.Partner"], "\(cycles)")
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 30), 0)
        XCTAssertTrue(target.stdout.hasSuffix("leaked \(calls) cycles\n"), target.stdout)
    }

    func testAScanWithoutASessionSaysToAttachFirst() throws {
        let target = try startTarget(TestEnvironment.fixture("reachability"), [])
        let result = try runToCompletion(TestEnvironment.binary, ["leaks", "\(target.pid)"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("swiftleak attach \(target.pid)"), result.stderr)
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 30), 0)
    }

    func testASnapshotWithoutAScanIsRefusedInOneLine() throws {
        let plain = TestEnvironment.packageRoot + "/Tests/Fixtures/snapshots/v1-reference.swleak"
        for command in ["leaks", "retainers"] {
            let result = try runToCompletion(TestEnvironment.binary, [command, plain])
            XCTAssertNotEqual(result.status, 0, result.stdout)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("carries no reachability scan"), result.stderr)
        }
    }

    /// `swiftleak leaks ARGS` as JSON, without pipes (see `runToCompletion`).
    static func leaks(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try runToCompletion(TestEnvironment.binary, ["leaks"] + arguments, timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout, file: file, line: line)
    }

    static func lastScanPath(_ session: AttachedSession) -> String? {
        session.process.stderrLines(containing: "reachability scan (").last
            .flatMap { $0.components(separatedBy: "written: ").last }
    }
}

/// `run --leaks-at-exit` (a CI gate, like LeakSanitizer) and `retainers`.
final class LeaksAtExitAndRetainersTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    /// `swiftleak run --leaks-at-exit -- reachability` fed `commands` on stdin.
    func runLeaksAtExit(_ commands: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let input = try TestEnvironment.temporaryDirectory() + "/commands"
        try commands.write(toFile: input, atomically: true, encoding: .utf8)
        let output = try TestEnvironment.temporaryDirectory()
        return try runCommand("/bin/sh", ["-c", "exec \"$0\" run --leaks-at-exit --output \"$1\" -- \"$2\" < \"$3\"",
                                          TestEnvironment.binary, output, TestEnvironment.fixture("reachability"), input])
    }

    func testRunLeaksAtExitReportsTheDroppedBlocksAndExits23() throws {
        let result = try runLeaksAtExit("grow 20\ndrop 6\nquit\n")
        XCTAssertEqual(result.status, 23, result.stderr)
        // The program's own output is untouched (reachability.c: 4 blocks per drop, 64 + 200 + 2 x 32 bytes).
        XCTAssertEqual(result.stdout, "ready\ngrew 20\ndropped 24 blocks \(6 * 328) bytes\nbye\n")
        XCTAssertTrue(result.stderr.contains("24 blocks (1.9 KiB) unreachable: 18 direct, 6 indirect, in 6 cycles"), result.stderr)
    }

    func testRunLeaksAtExitOfAProgramWithoutLeaksExitsWithItsOwnStatus() throws {
        let result = try runLeaksAtExit("grow 20\nquit\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("no unreachable blocks"), result.stderr)
    }

    func testRetainersNameTheGlobalThatHoldsTheGrowingList() throws {
        let target = try startTarget(TestEnvironment.fixture("reachability"), [])
        let session = try AttachedSession(target)
        defer { if session.process.process.isRunning { session.kill9() } }
        target.send("grow 250")
        try target.waitForLine(containing: "grew 250")
        let result = try runToCompletion(TestEnvironment.binary, ["retainers", "\(session.pid)", "--include", "function:session_node",
                                                                  "--format", "json"], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let groups = try XCTUnwrap(document["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.count, 1, result.stdout)
        XCTAssertEqual(SwiftLeakCLI.int(groups.first?["count"]), 250)
        let chains = try XCTUnwrap(groups.first?["chains"] as? [[String: Any]])
        // The head is held by the global itself; the other 249 through the list's own nodes.
        XCTAssertEqual(chains.map { SwiftLeakCLI.int($0["count"]) }, [249, 1], result.stdout)
        for chain in chains {
            XCTAssertTrue((chain["root"] as? String)?.hasPrefix("global `sessions` (reachability") == true, "\(chain)")
        }
        XCTAssertEqual((chains.first?["via"] as? [[String: Any]])?.compactMap { $0["function"] as? String }, ["session_node"])
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 30), 0)
    }
}
