import Foundation
import Glibc
import LeakProc
import XCTest

final class WriteAllTests: XCTestCase {
    /// More than a pipe holds (64 KiB): the writes are partial, and every
    /// byte still arrives, in order.
    func testWritesEveryByteAcrossShortWrites() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let received = Received()
        let done = DispatchSemaphore(value: 0)
        let readEnd = fds[0]
        Thread {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received.bytes.append(contentsOf: chunk[0..<n])
            }
            done.signal()
        }.start()
        try writeAll(fd: fds[1], bytes)
        close(fds[1])
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        close(fds[0])
        XCTAssertEqual(received.bytes.count, bytes.count)
        XCTAssertTrue(received.bytes == bytes)
    }

    func testSliceWritesOnlyTheSlice() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let bytes: [UInt8] = Array("abcdef".utf8)
        try writeAll(fd: fds[1], bytes[1..<4])
        close(fds[1])
        var out = [UInt8](repeating: 0, count: 16)
        let n = out.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        XCTAssertEqual(String(decoding: out[0..<max(0, n)], as: UTF8.self), "bcd")
    }

    /// A gone peer is EPIPE, not a SIGPIPE that would end this test run.
    func testSocketWithGonePeerIsAnErrorNotASignal() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        close(fds[1])
        defer { close(fds[0]) }
        XCTAssertThrowsError(try writeAll(fd: fds[0], [1, 2, 3], toSocket: true)) { error in
            XCTAssertEqual(error as? Errno, Errno(EPIPE))
        }
    }

    func testBadDescriptorIsReported() {
        XCTAssertThrowsError(try writeAll(fd: -1, [1])) { error in
            XCTAssertEqual(error as? Errno, Errno(EBADF))
        }
    }

    func testNothingToWriteSucceedsWithoutACall() throws {
        try writeAll(fd: -1, [])
    }
}

/// What the reading thread got; read only after it signalled that it is done.
private final class Received: @unchecked Sendable {
    var bytes: [UInt8] = []
}
