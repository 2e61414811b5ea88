import Glibc
import LeakProc
import XCTest

/// Wait statuses of real children, decoded.
final class WaitStatusTests: XCTestCase {
    /// Runs `sh -c script` and waits for it.
    private func statusOf(_ script: String) throws -> WaitStatus {
        var pid: pid_t = 0
        let words: [String] = ["/bin/sh", "-c", script]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { (word: String) in strdup(word) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
        XCTAssertEqual(spawned, 0, "cannot start /bin/sh")
        var status: Int32 = 0
        let waited = retryingInterrupted { waitpid(pid, &status, 0) }
        XCTAssertEqual(waited, pid)
        return WaitStatus(status)
    }

    func testExitCode() throws {
        let status = try statusOf("exit 3")
        XCTAssertEqual(status, .exited(code: 3))
        XCTAssertEqual(status.shellExitCode, 3)
    }

    func testKilledBySignal() throws {
        let status = try statusOf("kill -9 $$")
        XCTAssertEqual(status, .killed(signal: SIGKILL))
        XCTAssertEqual(status.shellExitCode, 128 + 9)
    }

    func testStoppedIsNotAnExit() throws {
        // 0x137f: stopped by SIGSTOP (19), the layout waitpid reports.
        let status = WaitStatus(0x137f)
        XCTAssertEqual(status, .stopped(signal: SIGSTOP, event: 0))
        XCTAssertNil(status.shellExitCode)
        XCTAssertEqual(WaitStatus(0x80_057f), .stopped(signal: SIGTRAP, event: 128), "PTRACE_EVENT_STOP")
    }
}
