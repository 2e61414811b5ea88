import Foundation
import XCTest
import LeakModel

/// `swiftleak report` on a snapshot carrying a reachability scan, rendered
/// in a headless browser: the unreachable share is hatched in the flame
/// graph and the panel names the leaked cycle by its members' types.
final class ReportUnreachableTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    /// main -> makeCache holds 1000 live bytes, a two-Node cycle of them unreachable.
    private func scannedSnapshot() -> Snapshot {
        let frames = [
            Frame(function: "malloc", module: "/opt/swiftleak/lib/libswiftleak-agent.so", address: 0x1000),
            Frame(function: "makeCache", file: "/src/Cache.swift", line: 10, module: "/app/server", address: 0x4010),
            Frame(function: "main", file: "/src/main.swift", line: 5, module: "/app/server", address: 0x6000),
        ]
        let metadata = SnapshotMetadata(
            pid: 4242, command: ["/app/server"], timeNanoseconds: 1_714_564_800_123_000_000, startNanoseconds: 1_714_564_700_000_000_000,
            mode: .run, framesDepth: 64, sequence: 1, isFinal: true, currentBytes: 1000, currentBlocks: 10,
            peakBytes: 1000, peakBlocks: 10, allocations: 10, frees: 0, unknownFrees: 0, lostEvents: 0)
        var snapshot = Snapshot(metadata: metadata, frames: frames, stacks: [[0, 1, 2]], sites: [Site(stack: 0, size: 1000, count: 10)])
        snapshot.reachability = ReachabilityScan(
            pauseSeconds: 0.01, totalSeconds: 0.02, knownBlocks: 10, copiedBytes: 4096, threads: 1,
            unreachable: [0x10000, 0x20000].map {
                UnreachableBlock(stack: 0, address: $0, size: 48, isDirect: false, cycle: 0, firstBytes: [], typeName: "app.Node")
            },
            retainers: [])
        return snapshot
    }

    func testUnreachableMemoryIsHatchedAndItsCycleNamedInABrowser() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let path = scratch + "/scanned.swleak"
        try Data(SnapshotCodec.encode(scannedSnapshot())).write(to: URL(fileURLWithPath: path))
        let result = try runCommand(TestEnvironment.binary, ["report", path, "-o", scratch + "/scanned.html"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let page = try HeadlessChromium.render(scratch + "/scanned.html", scratch: scratch + "/browser")
        XCTAssertEqual(page.attribute("data-ready"), "1", "the script ran to the end")
        XCTAssertEqual(page.attribute("data-errors"), "0")
        XCTAssertEqual(page.consoleLines, [])
        // all, main and makeCache (folded) each hold the 96 unreachable bytes.
        XCTAssertEqual(page.attribute("data-unreachable-nodes"), "3")
        XCTAssertTrue(page.dom.contains("unreachable: 2 blocks, 96 B (hatched in the flame graph); 1 kinds of leaked cycle:"), page.dom)
        XCTAssertTrue(page.dom.contains("<li>1 × app.Node → app.Node → (back): 2 blocks, 96 B</li>"), page.dom)
    }
}
