import Foundation
import XCTest

/// A program started by `swiftleak run` answers the per-pid commands an
/// attached one does: `snapshot PID`, `leaks PID`; `detach PID` is refused in
/// one line (a run traces its program until it exits).
final class RunControlTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    func testSnapshotAndLeaksReachARunByPid() throws {
        let output = try TestEnvironment.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: output) }
        let run = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("reachability")])
        addTeardownBlock { if run.process.isRunning { run.signal(SIGKILL) } }
        try run.waitForLine(containing: "ready")
        // "tracing PROGRAM (pid N); `swiftleak snapshot N` ..."
        let note = try run.waitForLine(containing: "tracing ", onStderr: true)
        let pid = try XCTUnwrap(note.components(separatedBy: "(pid ").last?.split(separator: ")").first.flatMap { Int32($0) }, note)
        XCTAssertNotEqual(pid, run.pid, "the program's pid, not swiftleak's")

        run.send("grow 200")
        try run.waitForLine(containing: "grew 200")
        run.send("drop 25")
        try run.waitForLine(containing: "dropped ")
        let truth = try XCTUnwrap(run.stdout.split(separator: "\n").last { $0.hasPrefix("dropped ") }).split(separator: " ")
        let (droppedBlocks, droppedBytes) = (try XCTUnwrap(Int64(truth[1])), try XCTUnwrap(Int64(truth[3])))

        let snapshot = try runToCompletion(TestEnvironment.binary, ["snapshot", "\(pid)"], timeout: 60)
        XCTAssertEqual(snapshot.status, 0, snapshot.stderr)
        let path = snapshot.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(path.hasPrefix(output) && FileManager.default.fileExists(atPath: path), "\(path); \(snapshot.stderr)")

        let report = try UnreachableMemoryTests.leaks(["\(pid)", "--format", "json", "--limit", "0"])
        let scan = try XCTUnwrap(report["scan"] as? [String: Any])
        XCTAssertEqual(SwiftLeakCLI.int(scan["unreachable_blocks"]), droppedBlocks, "\(report)")
        XCTAssertEqual(SwiftLeakCLI.int(scan["unreachable_bytes"]), droppedBytes, "\(report)")

        let detach = try runToCompletion(TestEnvironment.binary, ["detach", "\(pid)"], timeout: 60)
        XCTAssertNotEqual(detach.status, 0)
        XCTAssertEqual(detach.stderr.split(separator: "\n").count, 1, detach.stderr)
        XCTAssertTrue(detach.stderr.contains("swiftleak run"), detach.stderr)

        // The program goes on as before and its exit status is passed on.
        run.send("grow 1")
        try run.waitForLine(containing: "grew 1")
        run.send("quit")
        XCTAssertEqual(try run.wait(timeout: 60), 0, run.stderr)
        XCTAssertEqual(run.stdout, "ready\ngrew 200\ndropped \(droppedBlocks) blocks \(droppedBytes) bytes\ngrew 1\nbye\n")
    }
}
