import Foundation
import XCTest
import LeakModel
import LeakReport
import LeakTestSupport

/// Swift async callers read as awaited: marked "(async)" in text and
/// `"async": true` in JSON, after the allocating function, executor folded.
final class AsyncFrameReportTests: XCTestCase {
    private let snapshot = makeSnapshot([(AsyncStackFixture.frames, 214_800, 300)])

    func testTracebackMarksTheAwaitingCallers() {
        let stats = Statistics.compute(snapshot, groupBy: .traceback)
        let lines = TextReport.top(snapshot: snapshot, stats: stats, groupBy: .traceback).split(separator: "\n")
        XCTAssertEqual(lines.dropFirst(2).map { $0.trimmingCharacters(in: .whitespaces) }, [
            "209.8 KiB    300  /src/app.swift:15 app.makeRecord(Swift.Int) async -> app.Record",
            "/src/app.swift:20 app.handleRequest(Swift.Int) async -> () (async)",
            "/src/app.swift:27 app.serve(Swift.Int) async -> () (async)",
            "/src/app.swift:31 main (async)",
        ])
    }

    func testJSONMarksOnlyAsyncFrames() throws {
        let stats = Statistics.compute(snapshot, groupBy: .traceback)
        let json = try JSONSerialization.jsonObject(with: Data(JSONReport.top(snapshot: snapshot, stats: stats, groupBy: .traceback).utf8))
        let rows = try XCTUnwrap((json as? [String: Any])?["stats"] as? [[String: Any]])
        let frames = try XCTUnwrap(rows.first?["traceback"] as? [[String: Any]])
        XCTAssertEqual(frames.map { $0["line"] as? Int }, [15, 20, 27, 31])
        XCTAssertEqual(frames.map { $0["async"] as? Bool }, [nil, true, true, true])
        XCTAssertEqual(frames.map { $0["address"] as? String }, ["0x555500001dde", "0x555500001e60", "0x555500001b10", "0x5555000018b0"])
    }
}
