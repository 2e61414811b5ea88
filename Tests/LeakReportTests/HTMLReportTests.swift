import Foundation
import XCTest
import LeakModel
@testable import LeakReport
import LeakTestSupport

/// The HTML report's data: escaping that keeps frame names inside the data
/// element, the flame trees (folding, growth, pruning) and the table.
final class HTMLReportTests: XCTestCase {
    /// The data element's JSON, parsed, plus the page's text.
    private func data(_ html: String) throws -> [String: Any] {
        let open = #"<script type="application/json" id="data">"#
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let object = try JSONSerialization.jsonObject(with: Data(html[start..<end].utf8))
        return try XCTUnwrap(object as? [String: Any])
    }

    /// A flame view as (label path from the root, bytes) per node.
    private func nodes(_ document: [String: Any], view: String) throws -> [(path: [String], bytes: Int)] {
        let labels = try XCTUnwrap(document["labels"] as? [String])
        let flame = try XCTUnwrap((document["flame"] as? [String: Any])?[view] as? [String: Any])
        let flat = try XCTUnwrap(flame["nodes"] as? [Int])
        var path: [String] = []
        var result: [(path: [String], bytes: Int)] = []
        for i in stride(from: 0, to: flat.count, by: 3) {
            let depth = flat[i + 1]
            path = Array(path.prefix(max(depth - 1, 0)))
            if depth > 0 { path.append(labels[flat[i]]) }
            result.append((path, flat[i + 2]))
        }
        return result
    }

    private func bytes(_ nodes: [(path: [String], bytes: Int)], _ path: [String]) -> Int? {
        nodes.first { $0.path == path }?.bytes
    }

    func testEscapingKeepsEveryCharacterInsideTheScriptElement() throws {
        let hostile = "</script><script>alert(1)</script><!-- & \u{2028}\u{2029} >"
        let escaped = ScriptEmbedding.escape(JSONValue.string(hostile).render())
        for forbidden in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            XCTAssertFalse(escaped.contains(forbidden), "\(forbidden) left in \(escaped)")
        }
        // The escapes read back as the same string.
        let back = try JSONSerialization.jsonObject(with: Data("[\(escaped)]".utf8)) as? [String]
        XCTAssertEqual(back, [hostile])
    }

    func testHostileFrameNamesStayData() throws {
        let evil = Frame(function: "</script><script>document.title='owned'</script>", file: "/src/a\u{2028}b.c", line: 3, module: "/app/x", address: 0x10)
        let snapshot = makeSnapshot([([F.agentMalloc, evil, F.main], 4096, 1)])
        let html = HTMLReport.live(snapshot, groupBy: .lineno)
        // Exactly the page's two script elements: the data and the code.
        XCTAssertEqual(html.components(separatedBy: "<script").count - 1, 2)
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, 2)
        XCTAssertFalse(html.contains("\u{2028}"))
        let document = try data(html)
        let label = "/src/a\u{2028}b.c:3 </script><script>document.title='owned'</script>"
        XCTAssertTrue((document["labels"] as? [String] ?? []).contains(label))
        let rows = try XCTUnwrap((document["table"] as? [String: Any])?["rows"] as? [[Any]])
        XCTAssertEqual(rows.first?.first as? String, label)
    }

    func testNothingOnThePageNamesAnotherOrigin() {
        let html = HTMLReport.series([oldFixture, fixture, fixture], groupBy: .lineno)
        for external in ["http://", "https://", " src=", " href=", "@import", "url("] {
            XCTAssertFalse(html.contains(external), "\(external) in the page")
        }
        XCTAssertTrue(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
    }

    func testFoldedViewDropsAllocatorFramesAndRawKeepsThem() throws {
        let document = try data(HTMLReport.live(fixture, groupBy: .lineno))
        XCTAssertEqual(document["kind"] as? String, "live")
        let folded = try nodes(document, view: "folded")
        let raw = try nodes(document, view: "raw")
        let main = FrameText.describe(F.main), cache10 = FrameText.describe(F.cache10), parse = FrameText.describe(F.parse)
        XCTAssertEqual(bytes(folded, []), 2096)
        XCTAssertEqual(bytes(folded, [main]), 2096)
        XCTAssertEqual(bytes(folded, [main, cache10]), 1000, "folded: the line in makeCache is the leaf")
        XCTAssertEqual(folded.filter { $0.path == [main, cache10] }.count, 1)
        XCTAssertEqual(bytes(folded, [main, parse]), 300 + 200 + 64)
        XCTAssertFalse(folded.contains { $0.path.contains(FrameText.describe(F.agentMalloc)) })
        // strdup is folded: parse is where the 200 bytes end.
        XCTAssertNil(bytes(folded, [main, parse, FrameText.describe(F.strdup)]))

        let agent = FrameText.describe(F.agentMalloc)
        let allocPath = [main, cache10, FrameText.describe(F.allocObject), FrameText.describe(F.slowAlloc), agent]
        XCTAssertEqual(bytes(raw, allocPath), 1000)
        XCTAssertEqual(bytes(raw, [main, parse, FrameText.describe(F.strdup), agent]), 200)
        XCTAssertEqual(bytes(raw, []), 2096)
    }

    func testFoldedViewDropsExecutorFramesAsTopDoes() throws {
        typealias S = AsyncStackFixture
        let snapshot = makeSnapshot([(S.frames, 214_800, 300), ([S.slowAlloc, S.makeRecord, S.callers[2]], 4096, 1)])
        let document = try data(HTMLReport.live(snapshot, groupBy: .traceback))
        let folded = try nodes(document, view: "folded"), raw = try nodes(document, view: "raw")
        let awaited = (S.callers.reversed() + [S.makeRecord]).map(FrameText.describe)
        XCTAssertEqual(bytes(folded, []), 214_800 + 4096)
        XCTAssertEqual(bytes(folded, [awaited[0]]), 214_800 + 4096, "the task's and the plain call's main share one root")
        XCTAssertEqual(bytes(folded, awaited), 214_800, "folded: main is the root, makeRecord the leaf")
        XCTAssertEqual(bytes(folded, [awaited[0], awaited[3]]), 4096)
        for frame in S.executor + S.taskEntry + [S.slowAlloc] {
            XCTAssertFalse(folded.contains { $0.path.contains(FrameText.describe(frame)) }, "\(frame) in the folded view")
        }
        let rawPath = (S.frames.reversed()).map(FrameText.describe)
        XCTAssertEqual(bytes(raw, rawPath), 214_800, "raw keeps the executor and the allocator")
        XCTAssertEqual(bytes(raw, [FrameText.describe(S.executor.last!)]), 214_800)
        XCTAssertNil(bytes(raw, awaited), "the folded slice's own nodes are not drawn raw")
        XCTAssertEqual(bytes(raw, []), 214_800 + 4096)
    }

    func testGrowthCountsWhatGrewAndTheTableHasDiffColumns() throws {
        let document = try data(HTMLReport.growth(old: oldFixture, new: fixture, groupBy: .lineno))
        XCTAssertEqual(document["kind"] as? String, "growth")
        let folded = try nodes(document, view: "folded")
        let main = FrameText.describe(F.main)
        // cache10 +600, cache12 +500, strdup'd parse +200, inflate +64; gone -128 and the unchanged sites count 0.
        XCTAssertEqual(bytes(folded, [main, FrameText.describe(F.cache10)]), 600)
        XCTAssertEqual(bytes(folded, [main, FrameText.describe(F.cache12)]), 500)
        XCTAssertEqual(bytes(folded, [main, FrameText.describe(F.parse)]), 264)
        XCTAssertNil(bytes(folded, [main, FrameText.describe(F.gone)]))
        XCTAssertEqual(bytes(folded, []), 600 + 500 + 264)

        let table = try XCTUnwrap(document["table"] as? [String: Any])
        let rows = try XCTUnwrap(table["rows"] as? [[Any]])
        let expected = Comparison.compute(new: fixture, old: oldFixture, groupBy: .lineno)
        XCTAssertEqual(rows.count, expected.count)
        // [location, size, size diff, count, count diff, oldest, traceback], in diff's order.
        XCTAssertEqual(rows[0][0] as? String, FrameText.describe(expected[0].traceback[0]))
        XCTAssertEqual(rows[0][2] as? Int, Int(expected[0].sizeDiff))
        XCTAssertEqual(rows[0][4] as? Int, Int(expected[0].countDiff))
        XCTAssertEqual(rows.map { $0[2] as? Int }, expected.map { Int($0.sizeDiff) })
    }

    func testHugeTreesArePrunedIntoOtherNodesWithinTheCap() throws {
        // 2,000 sites under main: one big, the rest tiny.
        var traces: [(frames: [Frame], size: UInt64, count: UInt64)] = [([F.agentMalloc, F.cache10, F.main], 1_000_000, 1)]
        for i in 0..<2000 {
            let leaf = Frame(function: "f\(i)", file: "/src/gen.c", line: UInt32(i + 1), module: "/app/server", address: 0x10000 + UInt64(i))
            traces.append(([F.agentMalloc, leaf, F.parse, F.main], 10, 1))
        }
        let limits = HTMLReport.Limits(flameNodes: 40, flameMinimumFraction: 0.0005, tableRows: 25)
        let document = try data(HTMLReport.live(makeSnapshot(traces), groupBy: .lineno, limits: limits))
        for view in ["folded", "raw"] {
            let all = try nodes(document, view: view)
            XCTAssertLessThanOrEqual(all.count, 40, view)
            let main = FrameText.describe(F.main), parse = FrameText.describe(F.parse)
            XCTAssertEqual(bytes(all, [main, parse]), 20_000, view)
            XCTAssertEqual(bytes(all, [main, parse, FlameLabels.other]), 20_000, "\(view): the 2,000 tiny leaves merged into one node")
            XCTAssertEqual(bytes(all, []), 1_020_000, view)
        }
        let table = try XCTUnwrap(document["table"] as? [String: Any])
        XCTAssertEqual((table["rows"] as? [[Any]])?.count, 25)
        XCTAssertEqual(table["hidden_rows"] as? Int, 2001 - 25)
        // Only drawn labels travel: not the 2,000 leaf names.
        XCTAssertLessThan((document["labels"] as? [String])?.count ?? 0, 40)
    }

    func testSeriesCarriesTrendClassificationPerSite() throws {
        let growing = (1...4).map { step in
            var snapshot = makeSnapshot([([F.agentMalloc, F.cache10, F.main], UInt64(step) * 1000, UInt64(step)),
                                         ([F.agentMalloc, F.parse, F.main], 300, 3)], sequence: UInt32(step))
            snapshot.metadata.timeNanoseconds += UInt64(step) * 1_000_000_000
            return snapshot
        }
        let document = try data(HTMLReport.series(growing.reversed(), groupBy: .lineno))
        XCTAssertEqual(document["kind"] as? String, "series")
        let series = try XCTUnwrap(document["series"] as? [String: Any])
        let sites = try XCTUnwrap(series["sites"] as? [[String: Any]])
        XCTAssertEqual(sites.first?["name"] as? String, FrameText.describe(F.cache10))
        XCTAssertEqual(sites.first?["kind"] as? String, "steady_growth")
        XCTAssertEqual(sites.first?["sizes"] as? [Int], [1000, 2000, 3000, 4000], "put in time order")
        XCTAssertEqual(sites.last?["kind"] as? String, "flat")
        XCTAssertEqual((series["times_ns"] as? [Int])?.count, 4)
    }
}
