import Foundation
import XCTest

/// An attached session whose target finds no new stack for a while closes
/// the target's module files (and frees their debug data); snapshots keep
/// every frame, before and after.
final class ModuleDataReleaseTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    func testAnIdleSessionClosesTheTargetsFilesAndKeepsItsFrames() throws {
        let leaky = TestEnvironment.fixture("leaky")
        let target = try startTarget(leaky, ["interactive", "2"])
        let session = try AttachedSession(target)
        // Names make_session_record: the symbolizer read the leaky binary.
        let traced = try measureExactly(session, units: 30)

        let path = URL(fileURLWithPath: leaky).resolvingSymlinksInPath().path
        let deadline = Date(timeIntervalSinceNow: 10)
        while Self.openDescriptors(session.process.pid, on: path) > 0 {
            guard Date() < deadline else { return XCTFail("swiftleak still holds \(path) open 10 s after its last new stack") }
            usleep(20_000)
        }
        // The same stacks again: named from what was resolved before.
        let more = try measureExactly(session, units: 40)
        _ = try session.detach()
        try quit(target, leaked: traced + more)
    }

    private static func openDescriptors(_ pid: Int32, on path: String) -> Int {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return descriptors.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == path }.count
    }
}
