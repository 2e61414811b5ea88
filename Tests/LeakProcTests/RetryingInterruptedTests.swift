import Foundation
import Glibc
import LeakProc
import XCTest

final class RetryingInterruptedTests: XCTestCase {
    func testRetriesWhileInterrupted() {
        var calls = 0
        let result = retryingInterrupted { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 42
        }
        XCTAssertEqual(result, 42)
        XCTAssertEqual(calls, 3)
    }

    func testReturnsOtherFailuresAtOnce() {
        var calls = 0
        let result = retryingInterrupted { () -> Int in
            calls += 1
            errno = EBADF
            return -1
        }
        XCTAssertEqual(result, -1)
        XCTAssertEqual(errno, EBADF)
        XCTAssertEqual(calls, 1)
    }

    /// A success leaves errno as it was: a stale EINTR must not cause a retry.
    func testSuccessIsNotRetriedWhateverErrnoSays() {
        var calls = 0
        errno = EINTR
        let result = retryingInterrupted { () -> Int in
            calls += 1
            return 0
        }
        XCTAssertEqual(result, 0)
        XCTAssertEqual(calls, 1)
    }

    /// A real read interrupted by a real signal (a handler installed
    /// without SA_RESTART makes the kernel fail the read with EINTR) is
    /// made again and returns the data once it arrives.
    func testRealInterruptedReadIsRetried() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var old = sigaction()
        XCTAssertEqual(sigaction(SIGUSR1, &action, &old), 0)
        defer { sigaction(SIGUSR1, &old, nil) }

        let attempts = Attempts()
        let reader = pthread_self()
        let writeEnd = fds[1]
        Thread {
            // Interrupt the blocked read until it has been made a second
            // time (so it did fail with EINTR), then feed it.
            let deadline = Date().addingTimeInterval(10)
            while attempts.count < 2 && Date() < deadline {
                pthread_kill(reader, SIGUSR1)
                usleep(2_000)
            }
            var byte = UInt8(ascii: "x")
            _ = write(writeEnd, &byte, 1)
        }.start()
        var byte: UInt8 = 0
        let n = retryingInterrupted { () -> Int in
            attempts.increment()
            return read(fds[0], &byte, 1)
        }
        XCTAssertEqual(n, 1)
        XCTAssertEqual(byte, UInt8(ascii: "x"))
        XCTAssertGreaterThanOrEqual(attempts.count, 2, "the read was never interrupted")
    }
}

/// A counter shared by the reading test thread and the signalling thread.
private final class Attempts: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.withLock { value } }
    func increment() { lock.withLock { value += 1 } }
}
