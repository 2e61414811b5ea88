import XCTest
import LeakModel
import LeakReport

/// Ages, stats and trends in the text and JSON reports.
final class LeakHuntReportTests: XCTestCase {
    private let header = "snapshot 2 of pid 4242 (/app/server --port 8080) at 2024-05-01 12:00:00 UTC: current 2.0 KiB in 25 blocks, peak 4.1 KiB in 50 blocks"

    /// The fixture with ages on two sites: makeCache:10 over an hour, parse 12.5 s.
    private func aged() -> Snapshot {
        var s = fixture
        var h = AgeHistogram()
        h.add(ageSeconds: 4000, size: 1000)
        s.sites[0].ages = h
        s.sites[0].oldestAgeSeconds = 4000
        s.sites[2].oldestAgeSeconds = 12.5
        return s
    }

    func testTopShowsOldestColumnOnlyWithAges() {
        let s = aged()
        let text = TextReport.top(snapshot: s, stats: Statistics.compute(s, groupBy: .function), groupBy: .function)
        XCTAssertEqual(text, """
        \(header)
           size  count  oldest  function
        1.5 KiB     15      1h  makeCache
          500 B      5     12s  parse
           64 B      1       -  inflate
           32 B      4       -  0x8100 in libz.so.1

        """)
        let plain = TextReport.top(snapshot: fixture, stats: Statistics.compute(fixture, groupBy: .function), groupBy: .function)
        XCTAssertFalse(plain.contains("oldest"))
    }

    func testDiffShowsOldestColumn() {
        let s = aged()
        let diffs = Comparison.compute(new: s, old: oldFixture, groupBy: .lineno)
        let text = TextReport.diff(old: oldFixture, new: s, diffs: diffs, groupBy: .lineno, limit: 3)
        XCTAssertTrue(text.contains("""
          size  size diff  count  count diff  oldest  line
        1000 B     +600 B     10          +6      1h  /src/Cache.swift:10 makeCache
         500 B     +500 B      5          +5       -  /src/Cache.swift:12 makeCache
         500 B     +200 B      5          +2     12s  /src/Parser.swift:40 parse
        """), text)
    }

    func testJSONHasOldestAgeOnlyWhenKnown() {
        let s = aged()
        let json = JSONReport.top(snapshot: s, stats: Statistics.compute(s, groupBy: .function), groupBy: .function)
        XCTAssertTrue(json.contains(#"{"size":1500,"count":15,"oldest_age_s":4000,"traceback":"#), json)
        XCTAssertTrue(json.contains(#"{"size":500,"count":5,"oldest_age_s":12.5,"traceback":"#), json)
        XCTAssertTrue(json.contains(#"{"size":64,"count":1,"traceback":"#), json)
        let diff = JSONReport.diff(old: oldFixture, new: s, diffs: Comparison.compute(new: s, old: oldFixture, groupBy: .function), groupBy: .function)
        XCTAssertTrue(diff.contains(#""count_diff":11,"oldest_age_s":4000,"traceback""#), diff)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.utf8)))
    }

    func testStatsText() {
        var s = fixture
        s.metadata.lostEvents = 3
        let text = TextReport.stats(snapshot: s)
        XCTAssertEqual(text, """
        snapshot:       2
        pid:            4242
        command:        /app/server --port 8080
        time:           2024-05-01 12:00:00 UTC
        traced for:     1m, since 2024-05-01 11:58:20 UTC
        mode:           run
        frames depth:   64
        current:        2.0 KiB in 25 blocks
        peak:           4.1 KiB in 50 blocks
        allocations:    75
        frees:          50
        unknown frees:  7
        lost events:    3
        sites:          6
        ages:           not recorded
        warning: snapshot 2 lost 3 events; sizes and counts are approximate

        """)
        // Highlighted only with colour, and only when non-zero.
        let coloured = TextReport.stats(snapshot: s, useColor: true)
        XCTAssertTrue(coloured.contains("\u{1B}[33mlost events:    3\u{1B}[0m"), coloured)
        XCTAssertFalse(TextReport.stats(snapshot: fixture, useColor: true).contains("\u{1B}[33m"))
        XCTAssertFalse(TextReport.stats(snapshot: fixture).contains("warning"))
    }

    func testStatsJSON() throws {
        let json = JSONReport.stats(snapshot: aged())
        XCTAssertTrue(json.hasPrefix(#"{"snapshot":{"pid":4242,"#), json)
        XCTAssertTrue(json.hasSuffix(#""lost_events":0},"sites":6,"has_ages":true}"#), json)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.utf8)))
    }

    /// Four snapshots a second apart: makeCache:10 leaks 10 blocks (1000 B)
    /// per snapshot, parse goes up and down.
    private func trends() -> [SiteTrend] {
        let series = (0..<4).map { i -> Snapshot in
            let n = UInt64(i)
            var x = makeSnapshot([
                ([F.cache10, F.main], 1000 * n + 24, 10 * n + 1),
                ([F.parse, F.main], [300, 10, 500, 20][i], 3),
            ], sequence: UInt32(i + 1))
            x.metadata.timeNanoseconds += n * 1_000_000_000
            return x
        }
        return TrendAnalysis.analyze(series, groupBy: .traceback)
    }

    func testTrendText() {
        XCTAssertEqual(TextReport.trend(trends(), groupBy: .traceback), """
        4 snapshots, 2 groups
        kind           bytes/snap  blocks/snap    R²  traceback
        steady_growth     +1000 B        +10.0  1.00  /src/Cache.swift:10 makeCache
                                                        /src/main.swift:5 main
                                                        sizes: 24 B → 1.0 KiB → 2.0 KiB → 3.0 KiB
        churn               -35 B         +0.0  0.04  /src/Parser.swift:40 parse
                                                        /src/main.swift:5 main
                                                        sizes: 300 B → 10 B → 500 B → 20 B

        """)
        let short = TextReport.trend(trends(), groupBy: .lineno, limit: 1, useColor: true)
        XCTAssertTrue(short.contains("\u{1B}[31msteady_growth\u{1B}[0m"), short)
        XCTAssertTrue(short.hasSuffix("1 other group\n"), short)
        XCTAssertEqual(TextReport.trend([], limit: 3), "no live memory in any snapshot\n")
    }

    func testTrendJSON() throws {
        let json = JSONReport.trend(trends(), groupBy: .traceback, limit: 1)
        XCTAssertTrue(json.hasPrefix(#"{"group_by":"traceback","snapshots":[{"sequence":1,"time":"2024-05-01T12:00:00.123Z","time_ns":1714564800123000000},"#), json)
        XCTAssertTrue(json.contains(#""trends":[{"kind":"steady_growth","slope_blocks_per_snapshot":10,"slope_bytes_per_snapshot":1000,"r_squared":1,"growth_stopped":false,"score":1000,"counts":[1,11,21,31],"sizes":[24,1024,2024,3024],"traceback":[{"function":"makeCache""#), json)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual((object?["trends"] as? [Any])?.count, 1)
        XCTAssertEqual((object?["snapshots"] as? [Any])?.count, 4)
    }
}
