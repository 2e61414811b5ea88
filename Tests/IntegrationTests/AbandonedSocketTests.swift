import Foundation
import XCTest

/// A swiftleak killed with SIGKILL cannot remove its sockets; the next
/// swiftleak that starts removes them, and only those whose swiftleak is gone.
final class AbandonedSocketTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    private var leaky: String { TestEnvironment.fixture("leaky") }

    /// Where swiftleak keeps its control and `run` sockets (RuntimeDirectory).
    private var runtime: String {
        if let base = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !base.isEmpty { return base + "/swiftleak" }
        return "/tmp/swiftleak-\(getuid())"
    }

    private func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    func testTheNextStartRemovesWhatKilledSessionsLeft() throws {
        // A live session: none of its sockets may go.
        let live = try startTarget(leaky, ["interactive", "1"])
        let liveSession = try AttachedSession(live)
        let liveFiles = SessionSocketFiles(targetTmp: "/proc/\(live.pid)/root/tmp", swiftleakPID: liveSession.process.pid)

        // An attach killed with SIGKILL leaves its control socket and its session directory.
        let orphan = try startTarget(leaky, ["interactive", "1"])
        let killed = try AttachedSession(orphan)
        let killedFiles = SessionSocketFiles(targetTmp: "/proc/\(orphan.pid)/root/tmp", swiftleakPID: killed.process.pid)
        killed.kill9()
        let orphanControl = "\(runtime)/\(orphan.pid).control"
        XCTAssertTrue(exists(orphanControl))
        let killedDirectory = try XCTUnwrap(killedFiles.directory, "the killed session's directory is left behind")

        // A `run` killed likewise leaves its event socket.
        let output = try TestEnvironment.temporaryDirectory()
        let run = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", leaky, "interactive", "1"])
        addTeardownBlock { if run.process.isRunning { run.signal(SIGKILL) } }
        try run.waitForLine(containing: "ready")
        let runTarget = try XCTUnwrap(ProcessTree.descendant(of: run.pid, named: "leaky"))
        let runSocket = "\(runtime)/run-\(run.pid).events"
        run.signal(SIGKILL)
        kill(runTarget, SIGKILL) // it holds the output pipes `run.wait` waits on
        _ = try run.wait(timeout: 10)
        XCTAssertTrue(exists(runSocket))

        // The next swiftleak to start.
        let next = try startTarget(leaky, ["interactive", "1"])
        let nextSession = try AttachedSession(next)
        XCTAssertFalse(exists(orphanControl), "the killed attach's control socket")
        XCTAssertFalse(exists("/proc/\(orphan.pid)/root/tmp/\(killedDirectory)"), "the killed attach's directory")
        XCTAssertFalse(exists(runSocket), "the killed run's event socket")
        XCTAssertTrue(exists("\(runtime)/\(live.pid).control"), "the live session's control socket")
        XCTAssertNotNil(liveFiles.directory, "the live session's directory")

        // The live session still works end to end.
        try work(live, 5)
        _ = try liveSession.snapshot()
        _ = try liveSession.detach()
        _ = try nextSession.detach()
        for target in [live, orphan, next] {
            target.send("quit")
            XCTAssertEqual(try target.wait(), 0, target.stderr)
        }
    }
}
