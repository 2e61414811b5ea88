import Foundation
import Glibc
@testable import LeakCollector
import LeakSymbols
import XCTest

/// A symbolizer that could not be loaded once (the target between two
/// readable states of /proc, as while its main thread exits) is tried again:
/// the addresses named address-only meanwhile get their names before the
/// next snapshot, where one failure used to leave a whole session unnamed.
final class FrameCacheRetryTests: XCTestCase {
    func testAddressesNamedWithoutASymbolizerAreNamedOnceOneLoads() throws {
        let attempts = Attempts()
        let cache = FrameCache(pid: getpid()) { pid in
            attempts.count() == 1 ? nil : try? Symbolizer(pid: pid)
        }
        defer { cache.close() }
        cache.prepare()   // the first load, which fails

        // A return address just past malloc's first byte names malloc.
        let malloc = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc"))
        let ip = UInt64(UInt(bitPattern: malloc)) + 1
        cache.enqueue([[ip]])
        cache.waitUntilIdle(timeout: 30)

        XCTAssertGreaterThanOrEqual(attempts.total, 2, "the symbolizer was tried again")
        let frame = try XCTUnwrap(cache.frames(for: ip).first)
        XCTAssertEqual(frame.module.map { ($0 as NSString).lastPathComponent }, "libc.so.6", "\(frame)")
        XCTAssertTrue(frame.function?.contains("malloc") == true, "\(frame)")
    }
}

/// Counts the loader's calls across threads.
private final class Attempts: @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0
    func count() -> Int { lock.withLock { calls += 1; return calls } }
    var total: Int { lock.withLock { calls } }
}
