import Foundation
import XCTest

/// A process whose main thread called pthread_exit while a worker serves
/// (the mainexit fixture): /proc/PID shows a zombie thread with empty maps,
/// yet the process runs, can be attached to, and its leak site symbolizes.
final class MainThreadExitTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        for name in ["mainexit", "libmainexit-tickets.so"] where !FileManager.default.fileExists(atPath: TestEnvironment.fixture(name)) {
            XCTFail("fixture \(name) is missing: run Scripts/build-fixtures")
            throw CancellationError()
        }
    }

    private var mainexit: String { TestEnvironment.fixture("mainexit") }

    /// The line of the fixture's leaking malloc, read from its source.
    private func leakLine() throws -> Int64 {
        let source = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/Fixtures/mainexit_tickets.c", encoding: .utf8)
        let index = try XCTUnwrap(source.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("malloc(TICKET_SIZE)") })
        return Int64(index + 1)
    }

    /// The snapshot's make_ticket site holds exactly `units` blocks of 3001
    /// bytes and names its source file and line.
    private func assertLeakSite(_ snapshot: String, units: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let stats = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--group-by", "function"], file: file, line: line))
        let site = try XCTUnwrap(SwiftLeakCLI.stat(stats, function: "make_ticket"), "no make_ticket site: \(stats.prefix(4))", file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.int(site["count"]), Int64(units), file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.int(site["size"]), Int64(units * 3001), file: file, line: line)
        let frame = SwiftLeakCLI.frame0(site)
        XCTAssertTrue((frame["file"] as? String)?.hasSuffix("/Tests/Fixtures/mainexit_tickets.c") == true, "\(frame)", file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.int(frame["line"]), try leakLine(), "\(frame)", file: file, line: line)
    }

    /// The fixture's own proof that its main thread is gone: /proc/PID/status says Z.
    private func assertMainThreadIsAZombie(_ pid: Int32, file: StaticString = #filePath, line: UInt = #line) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        XCTAssertTrue(status.contains("State:\tZ"), status, file: file, line: line)
    }

    func testAttachToAProcessWhoseMainThreadExited() throws {
        let target = try startTarget(mainexit, [])
        assertMainThreadIsAZombie(target.pid)
        let session = try AttachedSession(target)
        try work(target, 25)
        try assertLeakSite(try session.snapshot(), units: 25)
        try work(target, 5)
        let final = try session.detach()
        try assertLeakSite(final, units: 30)
        // Read from a live thread: the main thread's command line is empty.
        let facts = try XCTUnwrap(try SwiftLeakCLI.json(["top", final])["snapshot"] as? [String: Any])
        XCTAssertEqual(facts["command"] as? [String], [mainexit])
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone 25\ndone 5\nleaked 30 blocks of 3001 bytes\n")
    }

    /// Under `run` the worker loads the leak site's library only after the
    /// main thread exited: symbolizing it needs a live thread's maps. A
    /// snapshot is taken while the process waits (symbols are read while it
    /// lives), and the final one keeps them.
    func testRunSymbolizesAfterTheMainThreadExited() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let session = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", mainexit])
        addTeardownBlock { if session.process.isRunning { session.signal(SIGKILL) } }
        try session.waitForLine(containing: "ready")
        session.send("work 40")
        try session.waitForLine(containing: "done 40")
        session.signal(SIGUSR1)
        try session.waitForLines(containing: "snapshot written: ", count: 1, onStderr: true)
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0, session.stderr)
        let paths = SwiftLeakCLI.snapshotPaths(in: session.stderr)
        XCTAssertEqual(paths.count, 2, session.stderr)
        try assertLeakSite(paths[0], units: 40)
        try assertLeakSite(paths[1], units: 40)
        XCTAssertTrue(paths[1].hasSuffix("-final.swleak"), paths[1])
    }
}
