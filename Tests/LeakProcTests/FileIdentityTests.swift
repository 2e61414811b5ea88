import Glibc
import LeakProc
import XCTest

final class FileIdentityTests: XCTestCase {
    func testSameFileThroughTwoPaths() {
        XCTAssertNotNil(FileIdentity(of: "/"))
        XCTAssertEqual(FileIdentity(of: "/proc/self/root"), FileIdentity(of: "/"))
        XCTAssertEqual(FileIdentity(of: "/proc/self/exe"), FileIdentity(of: ProcFiles.readLink("/proc/self/exe")!))
    }

    func testDifferentFilesDiffer() {
        XCTAssertNotEqual(FileIdentity(of: "/"), FileIdentity(of: "/proc"))
    }

    func testMissingFileHasNoIdentity() {
        XCTAssertNil(FileIdentity(of: "/nonexistent/swiftleak-file"))
    }
}
