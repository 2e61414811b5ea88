import Glibc
import LeakProc
import XCTest

final class ErrnoTests: XCTestCase {
    func testDescriptionHasTextAndNumber() {
        XCTAssertEqual(errnoDescription(ENOENT), "No such file or directory (errno 2)")
        XCTAssertEqual(Errno(EACCES).description, "Permission denied (errno 13)")
    }

    func testCurrentCapturesErrno() {
        XCTAssertEqual(close(-1), -1)
        XCTAssertEqual(Errno.current, Errno(EBADF))
    }
}
