import Foundation
import XCTest

/// Attach/detach over and over while every thread of the target hammers
/// malloc/free: no deadlock, no crash, and the target's own checksum (sizes
/// written into each block, read back before free) still adds up.
extension AttachTests {
    func testAttachDetachCyclesUnderAllocationLoad() throws {
        let target = try startTarget(TestEnvironment.fixture("hammer"), ["2"])
        for cycle in 1...10 {
            let session = try AttachedSession(target)
            let path = try session.snapshot()
            XCTAssertTrue(path.hasPrefix(session.output), "cycle \(cycle)")
            _ = try session.detach()
            TargetProc.waitUntilAgentIdle(target.pid)
        }
        XCTAssertEqual(TargetProc.copiesMapped(target.pid, library: "libswiftleak-agent.so"), 1)
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 60), 0, target.stdout + target.stderr)
        let line = try XCTUnwrap(target.stdout.split(separator: "\n").last { $0.hasPrefix("checksum ") })
        let fields = line.split(separator: " ")
        XCTAssertEqual(fields[1], fields[2], "blocks read back differ from what was written: \(line)")
        XCTAssertGreaterThan(Int(fields[4]) ?? 0, 0, String(line))
    }
}
