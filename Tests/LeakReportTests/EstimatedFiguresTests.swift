import Foundation
import XCTest
import LeakModel
import LeakReport

/// Every report marks figures from a sampled snapshot; exact ones are unchanged.
final class EstimatedFiguresTests: XCTestCase {
    private var sampled: Snapshot {
        var s = fixture
        s.sampling = Sampling(meanBytes: 65536, sampledLiveBlocks: 12)
        return s
    }

    private func snapshotObject(_ text: String, key: String = "snapshot") throws -> [String: Any] {
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return try XCTUnwrap(json[key] as? [String: Any])
    }

    func testJSONSaysEstimatedWithTheRateOnlyForSampledSnapshots() throws {
        let stats = Statistics.compute(fixture, groupBy: .function)
        let exact = try snapshotObject(JSONReport.top(snapshot: fixture, stats: stats, groupBy: .function))
        XCTAssertNil(exact["estimated"], "exact output keeps its old shape")
        let marked = try snapshotObject(JSONReport.top(snapshot: sampled, stats: stats, groupBy: .function))
        XCTAssertEqual(marked["estimated"] as? Bool, true)
        XCTAssertEqual(marked["sample_bytes"] as? Int, 65536)
        XCTAssertEqual(marked["sampled_live_blocks"] as? Int, 12)
        let stats2 = try snapshotObject(JSONReport.stats(snapshot: sampled))
        XCTAssertEqual(stats2["estimated"] as? Bool, true)
    }

    func testTextTopSaysEstimatedUnderTheHeader() {
        let stats = Statistics.compute(sampled, groupBy: .function)
        let lines = TextReport.top(snapshot: sampled, stats: stats, groupBy: .function).split(separator: "\n")
        XCTAssertEqual(lines[1], "estimated: one allocation sampled per 64.0 KiB on average (--sample-bytes); every size and count is an estimate from 12 sampled live blocks")
        let exact = TextReport.top(snapshot: fixture, stats: Statistics.compute(fixture, groupBy: .function), groupBy: .function)
        XCTAssertFalse(exact.contains("estimated"), exact)
    }

    func testADiffOfSampledAndExactSaysSoInOneLine() {
        let diffs = Comparison.compute(new: sampled, old: fixture, groupBy: .function)
        let text = TextReport.diff(old: fixture, new: sampled, diffs: diffs, groupBy: .function)
        let notes = text.split(separator: "\n").filter { $0.hasPrefix("estimated") }
        XCTAssertEqual(notes, ["estimated: the new snapshot is sampled (one allocation per 64.0 KiB on average, --sample-bytes) and the old one exact: its figures are estimates, and the differences mix estimates with exact counts"])
    }

    func testHTMLCarriesTheNote() {
        let html = HTMLReport.live(sampled, groupBy: .function)
        XCTAssertTrue(html.contains(#""estimated":["estimated: one allocation sampled per 64.0 KiB"#), String(html.prefix(200)))
    }
}
