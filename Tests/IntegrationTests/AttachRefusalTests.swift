import Foundation
import XCTest

/// Processes `swiftleak attach` must refuse: non-zero exit, one line on
/// stderr saying why, never a crash dump. Every target is the test's own.
extension AttachTests {
    private func assertRefused(_ pid: Int32, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let output = try TestEnvironment.temporaryDirectory()
        let result = try runToCompletion(TestEnvironment.binary, ["attach", "\(pid)", "--output", output], timeout: 30)
        assertOneLineRefusal(result, mentions: words, file: file, line: line)
    }

    private func assertOneLineRefusal(_ result: (status: Int32, stdout: String, stderr: String), mentions words: [String],
                                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line, got: \(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error") || result.stderr.contains("Stack dump"), result.stderr, file: file, line: line)
        let text = result.stderr.lowercased()
        XCTAssertTrue(words.contains { text.contains($0) }, "\(result.stderr) mentions none of \(words)", file: file, line: line)
    }

    func testRefusesAProcessThatDoesNotExist() throws {
        // The pid of a child that has exited and been reaped.
        let gone = try ChildProcess("/bin/true", [])
        XCTAssertEqual(try gone.wait(), 0)
        try assertRefused(gone.pid, mentions: ["no such process", "does not exist", "not found", "no process"])
    }

    func testRefusesItself() throws {
        // `exec` keeps the shell's pid, so swiftleak is handed its own.
        let result = try runToCompletion("/bin/sh", ["-c", "exec \"$0\" attach $$ --output \"$1\"", TestEnvironment.binary, try TestEnvironment.temporaryDirectory()], timeout: 30)
        assertOneLineRefusal(result, mentions: ["itself", "own", "swiftleak"])
    }

    func testRefusesAZombie() throws {
        // A parent that forks a child which exits at once, and never reaps it.
        // (Not a shell: one may reap its background child before it execs.)
        let parent = try ChildProcess("/usr/bin/python3", ["-c", """
        import os, sys
        child = os.fork()
        if child == 0:
            os._exit(0)
        print("zombie", child, flush=True)
        sys.stdin.read()
        """])
        defer { parent.signal(SIGKILL) }
        let announced = try parent.waitForLine(containing: "zombie ")
        let zombie = try XCTUnwrap(Int32(announced.dropFirst("zombie ".count)), announced)
        let deadline = Date(timeIntervalSinceNow: 10)
        while !(((try? String(contentsOfFile: "/proc/\(zombie)/stat", encoding: .utf8)) ?? "").contains(") Z ")) {
            guard Date() < deadline else { return XCTFail("pid \(zombie), the exited child, was no zombie after 10 s") }
            usleep(5_000)
        }
        try assertRefused(zombie, mentions: ["zombie"])
    }

    func testRefusesAProcessTracedByAnotherTracer() throws {
        let target = try startTarget(TestEnvironment.fixture("leaky"), ["interactive", "1"])
        // A second process of ours seizes the target with ptrace and holds it.
        let tracer = try ChildProcess("/usr/bin/python3", ["-c", """
        import ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        PTRACE_SEIZE = 0x4206
        if libc.ptrace(PTRACE_SEIZE, int(sys.argv[1]), None, None) != 0:
            print("seize failed", ctypes.get_errno(), flush=True); sys.exit(1)
        print("seized", flush=True)
        sys.stdin.read()
        """, "\(target.pid)"])
        try tracer.waitForLine(containing: "seized")
        try assertRefused(target.pid, mentions: ["traced", "tracer"])
        tracer.closeInput()
        XCTAssertEqual(try tracer.wait(), 0)
        // Its tracer gone, the target is untouched and attachable.
        try work(target, 5)
        let session = try AttachedSession(target)
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0)
    }

    func testSnapshotAndDetachWithoutASessionAreOneLineErrors() throws {
        let target = try startTarget(TestEnvironment.fixture("leaky"), ["interactive", "1"])
        for command in ["snapshot", "detach"] {
            let result = try runToCompletion(TestEnvironment.binary, [command, "\(target.pid)"], timeout: 30)
            assertOneLineRefusal(result, mentions: ["no swiftleak session"])
        }
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0)
    }
}
