import Foundation
import XCTest
import LeakModel
@testable import LeakReport
import LeakTestSupport

/// A live report of a snapshot with a reachability scan marks the
/// unreachable share of each flame node and lists the leaked cycles;
/// without a scan the page carries neither.
final class HTMLUnreachableTests: XCTestCase {
    /// makeCache holds 1000 live bytes, of which a two-Node cycle (2 × 48)
    /// is unreachable; parse holds 300, of which one 64-byte buffer is.
    private func snapshot(scanned: Bool) -> Snapshot {
        var snapshot = makeSnapshot([([F.agentMalloc, F.allocObject, F.cache10, F.main], 1000, 10), ([F.strdup, F.parse, F.main], 300, 3)])
        if scanned {
            snapshot.reachability = ReachabilityScan(
                pauseSeconds: 0.01, totalSeconds: 0.02, knownBlocks: 13, copiedBytes: 4096, threads: 1,
                unreachable: [
                    UnreachableBlock(stack: 0, address: 0x1000, size: 48, isDirect: false, cycle: 0, firstBytes: [], typeName: "app.Node"),
                    UnreachableBlock(stack: 0, address: 0x2000, size: 48, isDirect: false, cycle: 0, firstBytes: [], typeName: "app.Node"),
                    UnreachableBlock(stack: 1, address: 0x3000, size: 64, isDirect: true, cycle: nil, firstBytes: []),
                ],
                retainers: [])
        }
        return snapshot
    }

    private func document(_ html: String) throws -> [String: Any] {
        let open = #"<script type="application/json" id="data">"#
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(html[start..<end].utf8)) as? [String: Any])
    }

    /// Per node of a view: its label path from the root, bytes and unreachable bytes.
    private func nodes(_ document: [String: Any], view: String) throws -> [[String]: (bytes: Int, lost: Int)] {
        let labels = try XCTUnwrap(document["labels"] as? [String])
        let flame = try XCTUnwrap((document["flame"] as? [String: Any])?[view] as? [String: Any])
        let flat = try XCTUnwrap(flame["nodes"] as? [Int]), lost = try XCTUnwrap(flame["unreachable"] as? [Int])
        XCTAssertEqual(lost.count * 3, flat.count, "one unreachable figure per node")
        var path: [String] = [], result: [[String]: (bytes: Int, lost: Int)] = [:]
        for i in stride(from: 0, to: flat.count, by: 3) {
            path = Array(path.prefix(max(flat[i + 1] - 1, 0)))
            if flat[i + 1] > 0 { path.append(labels[flat[i]]) }
            result[path] = (flat[i + 2], lost[i / 3])
        }
        return result
    }

    func testFlameNodesCarryTheirUnreachableShare() throws {
        let page = try document(HTMLReport.live(snapshot(scanned: true), groupBy: .lineno))
        let main = FrameText.describe(F.main), cache = FrameText.describe(F.cache10), parse = FrameText.describe(F.parse)
        let folded = try nodes(page, view: "folded")
        XCTAssertEqual(folded[[]]?.lost, 160)
        XCTAssertEqual(folded[[main]]?.lost, 160)
        XCTAssertEqual(folded[[main, cache]]?.bytes, 1000)
        XCTAssertEqual(folded[[main, cache]]?.lost, 96)
        XCTAssertEqual(folded[[main, parse]]?.lost, 64)
        let raw = try nodes(page, view: "raw")
        XCTAssertEqual(raw[[main, cache, FrameText.describe(F.allocObject), FrameText.describe(F.agentMalloc)]]?.lost, 96)
        XCTAssertEqual(raw[[main, parse, FrameText.describe(F.strdup)]]?.lost, 64)
    }

    func testPanelCountsUnreachableMemoryAndNamesCycles() throws {
        let page = try document(HTMLReport.live(snapshot(scanned: true), groupBy: .lineno))
        let panel = try XCTUnwrap(page["unreachable"] as? [String: Any])
        XCTAssertEqual(panel["blocks"] as? Int, 3)
        XCTAssertEqual(panel["bytes"] as? Int, 160)
        let cycles = try XCTUnwrap(panel["cycles"] as? [[String: Any]])
        XCTAssertEqual(cycles.count, 1)
        XCTAssertEqual(cycles.first?["members"] as? [String], ["app.Node", "app.Node"])
        XCTAssertEqual(cycles.first?["count"] as? Int, 1)
        XCTAssertEqual(cycles.first?["size"] as? Int, 96)
    }

    func testWithoutAScanThePageHasNoUnreachableData() throws {
        let html = HTMLReport.live(snapshot(scanned: false), groupBy: .lineno)
        let page = try document(html)
        XCTAssertNil(page["unreachable"])
        let flame = try XCTUnwrap(page["flame"] as? [String: Any])
        for view in ["folded", "raw"] { XCTAssertNil((flame[view] as? [String: Any])?["unreachable"], view) }
    }
}
