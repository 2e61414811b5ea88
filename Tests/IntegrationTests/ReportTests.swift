import Foundation
import XCTest

/// `swiftleak report` on real snapshots of leaky.c (every unit of work leaks
/// one 4001-byte block from make_session_record), rendered in a headless
/// browser: the page names the leak, draws its flame graph, logs no error
/// and requests nothing.
final class ReportTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    /// Four snapshots: after 100 units, then after 201, 202 and 203 more (the last one final).
    func takeSeries(_ output: String) throws -> [String] {
        let session = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "interactive", "2"])
        defer { if session.process.isRunning { session.process.terminate() } }
        try session.waitForLine(containing: "ready")
        for (index, units) in [100, 201, 202].enumerated() {
            session.send("work \(units)")
            try session.waitForLine(containing: "done \(units)")
            session.signal(SIGUSR1)
            try session.waitForLines(containing: "snapshot written: ", count: index + 1, onStderr: true)
        }
        session.send("work 203")
        try session.waitForLine(containing: "done 203")
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0)
        let paths = SwiftLeakCLI.snapshotPaths(in: session.stderr)
        XCTAssertEqual(paths.count, 4, session.stderr)
        return paths
    }

    func report(_ arguments: [String], to html: String) throws -> String {
        let result = try runCommand(TestEnvironment.binary, ["report"] + arguments + ["-o", html])
        XCTAssertEqual(result.status, 0, result.stderr)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        for external in ["http://", "https://", " src=", " href="] {
            XCTAssertFalse(page.contains(external), "\(external) in \(html)")
        }
        return page
    }

    func assertRenderedCleanly(_ page: HeadlessChromium, kind: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(page.attribute("data-ready"), "1", "the script ran to the end", file: file, line: line)
        XCTAssertEqual(page.attribute("data-errors"), "0", "errors shown on the page", file: file, line: line)
        XCTAssertEqual(page.consoleLines, [], file: file, line: line)
        XCTAssertEqual(page.pageRequests, [], "requests that left the file", file: file, line: line)
        XCTAssertEqual(page.attribute("data-kind"), kind, file: file, line: line)
        // The leak's chain alone is all, __clone3, start_thread, worker, do_unit,
        // handle_request, store_session, make_session_record.
        XCTAssertGreaterThanOrEqual(Int(page.attribute("data-drawn-nodes") ?? "") ?? 0, 8, "flame graph nodes drawn", file: file, line: line)
    }

    func testSeriesGrowthAndLiveReportsNameTheLeakInABrowser() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let snapshots = scratch + "/snaps"
        let paths = try takeSeries(snapshots)

        // A directory: a series; the leak is the steadily growing site.
        _ = try report([snapshots], to: scratch + "/series.html")
        let series = try HeadlessChromium.render(scratch + "/series.html", scratch: scratch + "/series")
        assertRenderedCleanly(series, kind: "series")
        XCTAssertTrue(series.dom.contains(#"make_session_record</td><td class="kind-steady_growth">steady growth</td>"#),
                      "the plot's legend names the leak as steady growth")
        XCTAssertGreaterThanOrEqual(Int(series.attribute("data-lines") ?? "") ?? 0, 1, "series lines drawn")

        // Two snapshots, newer first (SNAP OLD): what grew in between, diff's columns.
        _ = try report([paths[3], paths[1]], to: scratch + "/growth.html")
        let growth = try HeadlessChromium.render(scratch + "/growth.html", scratch: scratch + "/growth")
        assertRenderedCleanly(growth, kind: "growth")
        let table = try XCTUnwrap(growth.dom.components(separatedBy: #"<table id="table">"#).last)
        let firstRow = try XCTUnwrap(table.components(separatedBy: "<tbody>").dropFirst().first?.components(separatedBy: "</tr>").first)
        XCTAssertTrue(firstRow.contains("make_session_record"), firstRow)
        XCTAssertTrue(firstRow.contains(#"<td>706</td><td class="grow">+405</td>"#), "count and count diff of the leak: \(firstRow)")

        // One snapshot: live memory, top's columns; opened searching, allocator frames shown.
        _ = try report([paths[3]], to: scratch + "/live.html")
        let live = try HeadlessChromium.render(scratch + "/live.html", fragment: "search=make_session_record&raw=1", scratch: scratch + "/live")
        assertRenderedCleanly(live, kind: "live")
        XCTAssertTrue(live.dom.contains("<td>706</td>"), "706 live leaked blocks")
        XCTAssertTrue(live.dom.contains(#"<span id="match">1 matching nodes: "#), "the search found the leak's frame")
        XCTAssertTrue(live.dom.contains("Live memory by call path (all frames)"), "the raw view is shown")
    }

    func testBadInputIsOneLineAndNonZero() throws {
        let scratch = try TestEnvironment.temporaryDirectory()
        let missing = try runCommand(TestEnvironment.binary, ["report", scratch + "/none.swleak", "-o", scratch + "/r.html"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        let empty = try runCommand(TestEnvironment.binary, ["report", scratch, "-o", scratch + "/r.html"])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("no *.swleak snapshot"), empty.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/r.html"))
        let unwritable = try runCommand(TestEnvironment.binary, ["report", TestEnvironment.packageRoot + "/Tests/Fixtures/snapshots", "-o", scratch + "/no/such/dir/r.html"])
        XCTAssertNotEqual(unwritable.status, 0)
        XCTAssertEqual(unwritable.stderr.split(separator: "\n").count, 1, unwritable.stderr)
        XCTAssertTrue(unwritable.stderr.contains("cannot write"), unwritable.stderr)
    }
}
