import Glibc
import LeakProc
import XCTest

/// The /proc readers on this very process, whose facts are known.
final class ProcDirectoryTests: XCTestCase {
    let own = ProcDirectory(pid: getpid())

    func testPathsOfProcessAndThread() {
        XCTAssertEqual(own.entry("maps"), "/proc/\(getpid())/maps")
        XCTAssertEqual(own.task(7).entry("status"), "/proc/\(getpid())/task/7/status")
        XCTAssertEqual(own.root, "/proc/\(getpid())/root")
    }

    func testCommandLineIsOurs() {
        XCTAssertEqual(own.commandLine(), CommandLine.arguments)
    }

    func testStatusStatAndName() throws {
        let status = try own.status().get()
        XCTAssertEqual(status.tgid, getpid())
        XCTAssertEqual(status.uid, getuid())
        XCTAssertEqual(own.name(), status.name)
        XCTAssertEqual(own.stat()?.state, "R", "we are running while we read it")
        XCTAssertEqual(own.stat()?.hasExited, false)
    }

    func testTasksIncludeThisThread() {
        // /proc/thread-self links to "PID/task/TID" of the reading thread.
        let tid = Int32(ProcFiles.readLink("/proc/thread-self")?.split(separator: "/").last ?? "") ?? -1
        XCTAssertTrue(own.taskIDs().contains(tid))
        XCTAssertEqual(try own.task(tid).status().get().tgid, getpid())
    }

    func testMapsHoldOurExecutable() throws {
        let exe = try XCTUnwrap(own.executable())
        let maps = try own.maps().get()
        XCTAssertTrue(maps.contains { $0.path == exe && $0.permissions.contains("x") })
    }

    func testOurRootIsOurs() {
        XCTAssertTrue(own.sharesOurRoot)
    }

    /// A pid that cannot exist (above pid_max): every reader says "gone".
    func testMissingProcess() {
        let gone = ProcDirectory(pid: Int32.max)
        XCTAssertEqual(gone.commandLine(), [])
        XCTAssertNil(gone.name())
        XCTAssertNil(gone.stat())
        XCTAssertEqual(gone.taskIDs(), [])
        XCTAssertThrowsError(try gone.maps().get()) { XCTAssertEqual($0 as? Errno, Errno(ENOENT)) }
    }

    /// /proc files report size 0; the reader must still get everything.
    func testReadsPastReportedSizeZero() throws {
        var info = stat()
        XCTAssertEqual(stat(own.entry("maps"), &info), 0)
        XCTAssertEqual(info.st_size, 0)
        XCTAssertFalse(try own.read("maps").get().isEmpty)
    }

    func testNumericEntriesAreSorted() {
        let entries = ProcFiles.numericEntries("/proc")
        XCTAssertTrue(entries.contains(getpid()))
        XCTAssertEqual(entries, entries.sorted())
    }
}
