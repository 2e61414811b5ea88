import Foundation
import Glibc
import LeakProc
import XCTest

/// Which thread's /proc entries speak for a process. The case of a main
/// thread that called pthread_exit is in IntegrationTests/MainThreadExitTests
/// (it needs the mainexit fixture).
final class LiveThreadTests: XCTestCase {
    func testRunningProcessIsItsOwnLiveThread() throws {
        let live = try XCTUnwrap(ProcDirectory(pid: getpid()).liveThread())
        XCTAssertEqual(live.path, "/proc/\(getpid())")
        XCTAssertNil(live.threadID)
        XCTAssertEqual(live.id, getpid())
        XCTAssertEqual(live.mapFiles, "/proc/\(getpid())/map_files")
        XCTAssertFalse(ProcDirectory(pid: getpid()).hasExited)
    }

    func testThreadDirectoryNamesItsOwnMapFiles() {
        let thread = ProcDirectory(pid: getpid()).task(4242)
        XCTAssertEqual(thread.threadID, 4242)
        XCTAssertEqual(thread.id, 4242)
        // Task directories have no map_files; /proc/TID has.
        XCTAssertEqual(thread.mapFiles, "/proc/4242/map_files")
    }

    /// A child that exited and is not reaped yet: no live thread.
    func testZombieHasNoLiveThread() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { argv.forEach { free($0) } }
        XCTAssertEqual(posix_spawn(&pid, "/bin/true", nil, nil, argv, environ), 0)
        defer { var status: Int32 = 0; _ = waitpid(pid, &status, 0) }
        let deadline = Date(timeIntervalSinceNow: 10)
        while ProcDirectory(pid: pid).stat()?.state != "Z" {
            if Date() > deadline { return XCTFail("/bin/true (pid \(pid)) did not become a zombie in 10 s") }
            usleep(1_000)
        }
        XCTAssertNil(ProcDirectory(pid: pid).liveThread())
        XCTAssertTrue(ProcDirectory(pid: pid).hasExited)
    }

    func testMissingProcessHasExited() {
        XCTAssertTrue(ProcDirectory(pid: Int32.max).hasExited)
    }
}
