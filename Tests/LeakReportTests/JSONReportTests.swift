import Foundation
import XCTest
import LeakModel
import LeakReport

final class JSONReportTests: XCTestCase {
    private func parse(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any])
    }

    func testTopShapeAndValues() throws {
        let stats = Statistics.compute(fixture, groupBy: .lineno)
        let text = JSONReport.top(snapshot: fixture, stats: stats, groupBy: .lineno, limit: 5)
        let json = try parse(text)
        XCTAssertEqual(Set(json.keys), ["snapshot", "group_by", "stats"])
        XCTAssertEqual(json["group_by"] as? String, "lineno")

        let snapshot = try XCTUnwrap(json["snapshot"] as? [String: Any])
        XCTAssertEqual(snapshot["pid"] as? Int, 4242)
        XCTAssertEqual(snapshot["command"] as? [String], ["/app/server", "--port", "8080"])
        XCTAssertEqual(snapshot["time"] as? String, "2024-05-01T12:00:00.123Z")
        XCTAssertEqual((snapshot["time_ns"] as? NSNumber)?.uint64Value, 1_714_564_800_123_000_000)
        XCTAssertEqual(snapshot["mode"] as? String, "run")
        XCTAssertEqual(snapshot["frames_depth"] as? Int, 64)
        XCTAssertEqual(snapshot["sequence"] as? Int, 2)
        XCTAssertEqual(snapshot["final"] as? Bool, false)
        XCTAssertEqual(snapshot["current_bytes"] as? Int, 2096)
        XCTAssertEqual(snapshot["current_blocks"] as? Int, 25)
        XCTAssertEqual(snapshot["peak_bytes"] as? Int, 4192)
        XCTAssertEqual(snapshot["peak_blocks"] as? Int, 50)
        XCTAssertEqual(snapshot["allocations"] as? Int, 75)
        XCTAssertEqual(snapshot["frees"] as? Int, 50)
        XCTAssertEqual(snapshot["unknown_frees"] as? Int, 7)
        XCTAssertEqual(snapshot["lost_events"] as? Int, 0)

        let rows = try XCTUnwrap(json["stats"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["size"] as? Int }, [1000, 500, 500, 64, 32])
        XCTAssertEqual(rows.map { $0["count"] as? Int }, [10, 5, 5, 1, 4])
        let first = try XCTUnwrap((rows[0]["traceback"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["function"] as? String, "makeCache")
        XCTAssertEqual(first["file"] as? String, "/src/Cache.swift")
        XCTAssertEqual(first["line"] as? Int, 10)
        XCTAssertEqual(first["module"] as? String, "/app/server")
        XCTAssertEqual(first["address"] as? String, "0x4010")
        // Unknown fields are null, not missing.
        let anonymous = try XCTUnwrap((rows[4]["traceback"] as? [[String: Any]])?.first)
        XCTAssertTrue(anonymous["function"] is NSNull)
        XCTAssertTrue(anonymous["file"] is NSNull)
        XCTAssertTrue(anonymous["line"] is NSNull)
        XCTAssertEqual(anonymous["module"] as? String, "/lib/libz.so.1")
        XCTAssertEqual(anonymous["address"] as? String, "0x8100")
    }

    func testKeyOrderIsStable() {
        let stats = Statistics.compute(fixture, groupBy: .lineno)
        let text = JSONReport.top(snapshot: fixture, stats: stats, groupBy: .lineno, limit: 1)
        XCTAssertEqual(text, """
        {"snapshot":{"pid":4242,"command":["/app/server","--port","8080"],"time":"2024-05-01T12:00:00.123Z",\
        "time_ns":1714564800123000000,"mode":"run","frames_depth":64,"sequence":2,"final":false,\
        "current_bytes":2096,"current_blocks":25,"peak_bytes":4192,"peak_blocks":50,"allocations":75,"frees":50,\
        "unknown_frees":7,"lost_events":0},"group_by":"lineno","stats":[{"size":1000,"count":10,"traceback":\
        [{"function":"makeCache","file":"/src/Cache.swift","line":10,"module":"/app/server","address":"0x4010"}]}]}
        """)
    }

    func testDiffShape() throws {
        let diffs = Comparison.compute(new: fixture, old: oldFixture, groupBy: .traceback)
        let json = try parse(JSONReport.diff(old: oldFixture, new: fixture, diffs: diffs, groupBy: .traceback))
        XCTAssertEqual(Set(json.keys), ["snapshot", "old_snapshot", "group_by", "stats"])
        XCTAssertEqual((json["snapshot"] as? [String: Any])?["sequence"] as? Int, 2)
        XCTAssertEqual((json["old_snapshot"] as? [String: Any])?["sequence"] as? Int, 1)
        XCTAssertEqual((json["old_snapshot"] as? [String: Any])?["current_bytes"] as? Int, 860)
        XCTAssertEqual(json["group_by"] as? String, "traceback")
        let rows = try XCTUnwrap(json["stats"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["size_diff"] as? Int }, [600, 500, 200, -128, 64, 0])
        XCTAssertEqual(rows.map { $0["count_diff"] as? Int }, [6, 5, 2, -2, 1, 0])
        XCTAssertEqual(rows.map { $0["size"] as? Int }, [1000, 500, 500, 0, 64, 32])
        XCTAssertEqual(rows.map { ($0["traceback"] as? [Any])?.count }, [2, 2, 2, 2, 3, 3])
        XCTAssertEqual(Set(rows[0].keys), ["size", "size_diff", "count", "count_diff", "traceback"])
    }

    func testEscaping() throws {
        let nasty = "a\"b\\c\nd\te\u{01}f\u{1F}g/\u{e9}\u{1F600}"
        var snapshot = makeSnapshot([([Frame(function: nasty, file: nasty, line: 1, module: nil, address: 0)], 1, 1)])
        snapshot.metadata.command = [nasty]
        let text = JSONReport.top(snapshot: snapshot, stats: Statistics.compute(snapshot, groupBy: .traceback), groupBy: .traceback)
        XCTAssertTrue(text.contains(#""a\"b\\c\nd\te\u0001f\u001fg/\#u{e9}\#u{1F600}""#))
        let json = try parse(text)
        XCTAssertEqual((json["snapshot"] as? [String: Any])?["command"] as? [String], [nasty])
        let frame = try XCTUnwrap(((json["stats"] as? [[String: Any]])?.first?["traceback"] as? [[String: Any]])?.first)
        XCTAssertEqual(frame["function"] as? String, nasty)
        XCTAssertTrue(frame["module"] is NSNull)
        XCTAssertTrue(frame["address"] is NSNull)
    }

    func testEmptyAndZeroLimit() throws {
        let stats = Statistics.compute(fixture, groupBy: .module)
        let json = try parse(JSONReport.top(snapshot: fixture, stats: stats, groupBy: .module, limit: 0))
        XCTAssertEqual((json["stats"] as? [Any])?.count, 0)
    }
}
