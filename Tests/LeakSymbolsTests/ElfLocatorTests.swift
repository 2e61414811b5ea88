@testable import LeakSymbols
import LeakProc
import XCTest

/// Which paths are tried for a module, for targets in containers and for
/// files deleted after being mapped.
final class ElfLocatorTests: XCTestCase {
    private func locator(foreignRoot: String?) -> ElfLocator {
        let locator = ElfLocator(pid: 42)
        locator.foreignRoot = foreignRoot
        locator.maps = ProcessMaps(text: """
        7f00aa000000-7f00aa028000 r--p 00000000 fe:01 77   /usr/lib/libfoo.so
        7f00ab000000-7f00ab001000 r-xp 00000000 fe:01 78   /tmp/jit.so (deleted)
        """)
        return locator
    }

    func testSameRootTriesThePlainPathFirst() {
        XCTAssertEqual(locator(foreignRoot: nil).candidatePaths(for: "/usr/lib/libfoo.so"), [
            "/usr/lib/libfoo.so",
            "/proc/42/root/usr/lib/libfoo.so",
            "/proc/42/map_files/7f00aa000000-7f00aa028000",
        ])
    }

    func testContainerTargetTriesItsRootFirst() {
        XCTAssertEqual(locator(foreignRoot: "/proc/42/root").candidatePaths(for: "/usr/lib/libfoo.so"), [
            "/proc/42/root/usr/lib/libfoo.so",
            "/usr/lib/libfoo.so",
            "/proc/42/map_files/7f00aa000000-7f00aa028000",
        ])
    }

    func testDeletedFileIsOnlyReachedThroughMapFiles() {
        // A file now at that path would be another file: never open it.
        XCTAssertEqual(locator(foreignRoot: nil).candidatePaths(for: "/tmp/jit.so (deleted)"), [
            "/proc/42/map_files/7f00ab000000-7f00ab001000",
        ])
    }

    func testOurOwnRootIsNotForeign() {
        let locator = ElfLocator(pid: getpid())
        locator.refreshRoot(ProcDirectory(pid: getpid()))
        XCTAssertNil(locator.foreignRoot)
    }
}
