import Foundation
import XCTest

/// `swiftleak attach` / `snapshot` / `detach` against processes these tests
/// started themselves (never anything else), with exact ground truth.
final class AttachTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    private var leaky: String { TestEnvironment.fixture("leaky") }

    /// `snapshot --reset-peak` (tracemalloc's reset_peak): the snapshot still
    /// shows the old peak, the next one starts a new window at the current size.
    func testSnapshotResetPeakStartsANewPeakWindow() throws {
        let target = try startTarget(leaky, ["interactive", "2"])
        let session = try AttachedSession(target)
        try work(target, 100)  // transient blocks lift the peak above what stays live
        let reset = try runToCompletion(TestEnvironment.binary, ["snapshot", "\(target.pid)", "--reset-peak"], timeout: 60)
        XCTAssertEqual(reset.status, 0, reset.stderr)
        let before = try XCTUnwrap(try SwiftLeakCLI.json(["stats", reset.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])["snapshot"] as? [String: Any])
        let after = try XCTUnwrap(try SwiftLeakCLI.json(["stats", session.snapshot()])["snapshot"] as? [String: Any])
        let peakBefore = try XCTUnwrap(SwiftLeakCLI.int(before["peak_bytes"]))
        XCTAssertGreaterThan(peakBefore, try XCTUnwrap(SwiftLeakCLI.int(before["current_bytes"])))
        XCTAssertEqual(SwiftLeakCLI.int(after["peak_bytes"]), SwiftLeakCLI.int(after["current_bytes"]), "the target was idle since the reset")
        XCTAssertLessThan(try XCTUnwrap(SwiftLeakCLI.int(after["peak_bytes"])), peakBefore)
        _ = try session.detach()
        try quit(target, leaked: 100)
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
        // Ctrl-C detaches too: one final snapshot, exit 0.
        first.process.signal(SIGINT)
        XCTAssertEqual(try first.process.wait(timeout: 30), 0, first.process.stderr)
        XCTAssertEqual(first.process.stderrLines(containing: "final snapshot written").count, 1, first.process.stderr)
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

    /// The moments at which `testKillNineOfSwiftleakNeverHurtsTheTarget` kills the attach process.
    private enum KillMoment: CaseIterable {
        case rightAfterAttach, duringWork, midSnapshot, afterSignalSnapshotDuringWork, duringDetach
    }

    /// swiftleak killed with SIGKILL at five moments: each time the target
    /// finishes its work, its agent turns its hooks off by itself (its thread
    /// ends after restoring the GOT), and the next attach works and is exact.
    func testKillNineOfSwiftleakNeverHurtsTheTarget() throws {
        let target = try startTarget(leaky, ["interactive", "3"])
        var units = 0
        for moment in KillMoment.allCases {
            let session = try AttachedSession(target)
            var request: ChildProcess?
            var batch = 0
            switch moment {
            case .rightAfterAttach:
                session.kill9()
            case .duringWork:
                batch = 3000
                target.send("work \(batch)")
                session.kill9()
            case .midSnapshot:
                try work(target, 100)
                units += 100
                request = try ChildProcess(TestEnvironment.binary, ["snapshot", "\(target.pid)"])
                session.kill9()
            case .afterSignalSnapshotDuringWork:
                batch = 2000
                target.send("work \(batch)")
                session.process.signal(SIGUSR1)
                session.kill9()
            case .duringDetach:
                try work(target, 100)
                units += 100
                request = try ChildProcess(TestEnvironment.binary, ["detach", "\(target.pid)"])
                session.kill9()
            }
            if batch > 0 {
                try target.waitForLine(containing: "done \(batch)")
                units += batch
            }
            if let request {
                // It may have been answered before the kill, or find nobody: either way one clean line.
                let status = try request.wait(timeout: 30)
                request.closeInput()
                if status != 0 {
                    XCTAssertEqual(request.stderr.split(separator: "\n").count, 1, "\(moment): \(request.stderr)")
                }
                XCTAssertFalse(request.stderr.contains("Fatal error"), "\(moment): \(request.stderr)")
            }
            TargetProc.waitUntilAgentIdle(target.pid)
            XCTAssertEqual(TargetProc.tracerPID(target.pid), 0, "\(moment)")
            // Untraced now, it keeps allocating and freeing on every thread.
            try work(target, 200)
            units += 200
        }
        let last = try AttachedSession(target)
        units += try measureExactly(last, units: 300)
        _ = try last.detach()
        try quit(target, leaked: units)
    }

    func testSwiftServiceLeakSiteIsItsSourceLine() throws {
        let target = try startTarget(TestEnvironment.fixture("SwiftService"), [])
        let session = try AttachedSession(target)
        try work(target, 10)  // the registry array's first growth steps
        let first = try session.snapshot()
        let requests = 1000
        try work(target, requests)
        let second = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0)
        XCTAssertTrue(target.stdout.hasSuffix("leaked \(10 + requests) requests\n"), target.stdout)

        let source = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/Fixtures/SwiftService.swift", encoding: .utf8)
        let leakLine = try XCTUnwrap(source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("// the leak site") }) + 1
        let stats = try SwiftLeakCLI.diff(first, second, groupBy: "lineno")
        let top = try XCTUnwrap(stats.first)
        let frame = SwiftLeakCLI.frame0(top)
        XCTAssertTrue((frame["file"] as? String)?.hasSuffix("SwiftService.swift") == true, "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(frame["line"]), Int64(leakLine), "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), Int64(requests))
    }

    /// A CPython interpreter keeping `bytes(1024)` objects in a dict: objects over 512
    /// bytes bypass pymalloc, so each is exactly one malloc of the object
    /// header plus 1024 bytes, all from one C call stack.
    func testPythonInterpreterNativeGrowth() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("\(python) is missing: apt-get install python3 (Scripts/setup)")
            return
        }
        // The leak of the tracemalloc guide (000_...txt): an unbounded
        // module-level dict keeping a 1 KiB payload per request.
        let script = """
        import sys
        _CACHE = {}
        def handle_request(request_id):
            _CACHE[request_id] = bytes(1024)
        next_id = 0
        print("ready", flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["work"]:
                count = int(words[1])
                for _ in range(count):
                    handle_request(next_id)
                    next_id += 1
                print("done", count, flush=True)
            elif words[:1] == ["quit"]:
                break
        print("kept", len(_CACHE), flush=True)
        """
        let target = try startTarget(python, ["-c", script])
        let session = try AttachedSession(target)
        try work(target, 10)
        let first = try session.snapshot()
        let objects = 10000
        try work(target, objects)
        let second = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertTrue(target.stdout.hasSuffix("kept \(10 + objects)\n"), target.stdout)

        let stats = try SwiftLeakCLI.diff(first, second, groupBy: "traceback")
        let top = try XCTUnwrap(stats.first)
        let count = try XCTUnwrap(SwiftLeakCLI.int(top["count_diff"]))
        let size = try XCTUnwrap(SwiftLeakCLI.int(top["size_diff"]))
        XCTAssertEqual(count, Int64(objects), "\(stats.prefix(3))")
        XCTAssertEqual(size % count, 0, "every block has the same size")
        XCTAssertTrue((1025..<1200).contains(size / count), "block size \(size / count)")
    }
}
