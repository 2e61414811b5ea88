import Foundation
import XCTest
import LeakModel
import LeakReport

final class TextReportTests: XCTestCase {
    private let header = "snapshot 2 of pid 4242 (/app/server --port 8080) at 2024-05-01 12:00:00 UTC: current 2.0 KiB in 25 blocks, peak 4.1 KiB in 50 blocks"

    func testTopLineno() {
        let stats = Statistics.compute(fixture, groupBy: .lineno)
        let text = TextReport.top(snapshot: fixture, stats: stats, groupBy: .lineno, limit: 3, useColor: false)
        XCTAssertEqual(text, """
        \(header)
          size  count  line
        1000 B     10  /src/Cache.swift:10 makeCache
         500 B      5  /src/Cache.swift:12 makeCache
         500 B      5  /src/Parser.swift:40 parse
        2 other groups: 96 B in 5 blocks

        """)
    }

    func testTopWithoutLimitHasNoFooterAndShowsFallbacks() {
        let stats = Statistics.compute(fixture, groupBy: .function)
        let text = TextReport.top(snapshot: fixture, stats: stats, groupBy: .function)
        XCTAssertEqual(text, """
        \(header)
           size  count  function
        1.5 KiB     15  makeCache
          500 B      5  parse
           64 B      1  inflate
           32 B      4  0x8100 in libz.so.1

        """)
    }

    func testTopTraceback() {
        let stats = Statistics.compute(fixture, groupBy: .traceback)
        let text = TextReport.top(snapshot: fixture, stats: stats, groupBy: .traceback, limit: 2)
        XCTAssertEqual(text, """
        \(header)
          size  count  traceback
        1000 B     10  /src/Cache.swift:10 makeCache
                         /src/main.swift:5 main
         500 B      5  /src/Cache.swift:12 makeCache
                         /src/main.swift:5 main
        3 other groups: 596 B in 10 blocks

        """)
    }

    func testDiff() {
        let diffs = Comparison.compute(new: fixture, old: oldFixture, groupBy: .lineno)
        let text = TextReport.diff(old: oldFixture, new: fixture, diffs: diffs, groupBy: .lineno, limit: 4)
        XCTAssertEqual(text, """
        new: \(header)
        old: snapshot 1 of pid 4242 (/app/server --port 8080) at 2024-05-01 12:00:00 UTC: current 860 B in 13 blocks, peak 1.7 KiB in 26 blocks
          size  size diff  count  count diff  line
        1000 B     +600 B     10          +6  /src/Cache.swift:10 makeCache
         500 B     +500 B      5          +5  /src/Cache.swift:12 makeCache
         500 B     +200 B      5          +2  /src/Parser.swift:40 parse
           0 B     -128 B      0          -2  /src/Old.swift:7 gone
        2 other groups: 96 B (+64 B) in 5 blocks (+1)

        """)
    }

    func testLostEventsWarningAndFinalAttach() {
        var snapshot = fixture
        snapshot.metadata.lostEvents = 12
        snapshot.metadata.isFinal = true
        snapshot.metadata.mode = .attach
        snapshot.metadata.command = []
        let text = TextReport.top(snapshot: snapshot, stats: [], groupBy: .lineno)
        XCTAssertEqual(text, """
        snapshot 2 (final) of attached pid 4242 at 2024-05-01 12:00:00 UTC: current 2.0 KiB in 25 blocks, peak 4.1 KiB in 50 blocks
        warning: snapshot 2 lost 12 events; sizes and counts are approximate
        no live memory

        """)
    }

    func testColourOnlyWhenAsked() {
        let diffs = Comparison.compute(new: fixture, old: oldFixture, groupBy: .lineno)
        let plain = TextReport.diff(old: oldFixture, new: fixture, diffs: diffs, groupBy: .lineno, useColor: false)
        XCTAssertFalse(plain.contains("\u{1B}"))
        let coloured = TextReport.diff(old: oldFixture, new: fixture, diffs: diffs, groupBy: .lineno, useColor: true)
        XCTAssertTrue(coloured.contains("\u{1B}[31m   +600 B\u{1B}[0m"))  // growth in red, padding inside
        XCTAssertTrue(coloured.contains("\u{1B}[32m   -128 B\u{1B}[0m"))  // shrinkage in green
        // Stripping the escapes gives back the plain layout.
        let stripped = coloured.replacingOccurrences(of: "\u{1B}\\[[0-9]+m", with: "", options: .regularExpression)
        XCTAssertEqual(stripped, plain)
    }
}
