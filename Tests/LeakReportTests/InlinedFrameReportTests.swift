import Foundation
import XCTest
import LeakModel
import LeakReport

/// Inline levels read as the optimized program was written: each level on
/// its own line, marked "(inlined)" in text and `"inlined": true` in JSON.
final class InlinedFrameReportTests: XCTestCase {
    private let snapshot: Snapshot = {
        let handle: UInt64 = 0x5555_0000_1299
        return makeSnapshot([([
            Frame(function: "operator new(unsigned long)", module: "/usr/lib/libstdc++.so.6", address: 0x7f00_0000_1000),
            Frame(function: "make_name", file: "app.cpp", line: 5, module: "/app", address: handle, isInlined: true),
            Frame(function: "remember", file: "app.cpp", line: 6, module: "/app", address: handle, isInlined: true),
            Frame(function: "handle(int)", file: "app.cpp", line: 7, module: "/app", address: handle),
            Frame(function: "main", file: "app.cpp", line: 8, module: "/app", address: 0x5555_0000_1400),
        ], 505_000, 5000)])
    }()

    func testTracebackMarksEveryInlinedLevel() {
        let stats = Statistics.compute(snapshot, groupBy: .traceback)
        let lines = TextReport.top(snapshot: snapshot, stats: stats, groupBy: .traceback).split(separator: "\n")
        XCTAssertEqual(lines.dropFirst(2).map { $0.trimmingCharacters(in: .whitespaces) }, [
            "493.2 KiB   5000  app.cpp:5 make_name (inlined)",
            "app.cpp:6 remember (inlined)",
            "app.cpp:7 handle(int)",
            "app.cpp:8 main",
        ])
    }

    func testLinenoGroupsOnTheInnermostLevel() {
        let stats = Statistics.compute(snapshot, groupBy: .lineno)
        let text = TextReport.top(snapshot: snapshot, stats: stats, groupBy: .lineno)
        XCTAssertTrue(text.hasSuffix("493.2 KiB   5000  app.cpp:5 make_name (inlined)\n"), text)
    }

    func testJSONMarksOnlyInlinedFrames() throws {
        let stats = Statistics.compute(snapshot, groupBy: .traceback)
        let json = try JSONSerialization.jsonObject(with: Data(JSONReport.top(snapshot: snapshot, stats: stats, groupBy: .traceback).utf8))
        let rows = try XCTUnwrap((json as? [String: Any])?["stats"] as? [[String: Any]])
        let frames = try XCTUnwrap(rows.first?["traceback"] as? [[String: Any]])
        XCTAssertEqual(frames.map { $0["function"] as? String }, ["make_name", "remember", "handle(int)", "main"])
        XCTAssertEqual(frames.map { $0["inlined"] as? Bool }, [true, true, nil, nil])
        XCTAssertEqual(frames.map { $0["address"] as? String }, ["0x555500001299", "0x555500001299", "0x555500001299", "0x555500001400"])
    }
}
