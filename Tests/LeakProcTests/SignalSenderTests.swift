import Glibc
import LeakProc
import XCTest

final class SignalSenderTests: XCTestCase {
    /// A signal we send ourselves names us as the sender.
    func testSenderOfOwnSignal() throws {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGUSR2)
        var old = sigset_t()
        XCTAssertEqual(pthread_sigmask(SIG_BLOCK, &set, &old), 0)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        XCTAssertEqual(pthread_kill(pthread_self(), SIGUSR2), 0)
        var info = siginfo_t()
        var zero = timespec()
        XCTAssertEqual(sigtimedwait(&set, &info, &zero), SIGUSR2)
        let sender = SignalSender(info)
        XCTAssertTrue(sender.isProcess)
        XCTAssertEqual(sender.pid, getpid())
    }
}
