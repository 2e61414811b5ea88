import XCTest
import LeakModel

final class ComparisonTests: XCTestCase {
    private let old = makeSnapshot([
        ([F.agentMalloc, F.slowAlloc, F.allocObject, F.cache10, F.main], 400, 4),
        ([F.agentMalloc, F.parse, F.main], 300, 3),
        ([F.agentMalloc, F.gone, F.main], 128, 2),
        ([F.agentMalloc, F.anonymous, F.inflate, F.main], 32, 4),
    ], sequence: 1)

    func testLinenoDiff() {
        let diffs = Comparison.compute(new: fixture, old: old, groupBy: .lineno, options: AnalysisOptions())
        XCTAssertEqual(diffs.map { $0.traceback[0] }, [F.cache10, F.cache12, F.parse, F.gone, F.inflate, F.anonymous])
        XCTAssertEqual(diffs.map(\.size), [1000, 500, 500, 0, 64, 32])
        XCTAssertEqual(diffs.map(\.sizeDiff), [600, 500, 200, -128, 64, 0])
        XCTAssertEqual(diffs.map(\.count), [10, 5, 5, 0, 1, 4])
        XCTAssertEqual(diffs.map(\.countDiff), [6, 5, 2, -2, 1, 0])
    }

    func testReverseDiffNegatesAndKeepsGroupsOnlyInOld() {
        let diffs = Comparison.compute(new: old, old: fixture, groupBy: .function, options: AnalysisOptions())
        // makeCache: 400 now vs 1500 before; Cache.swift:12 is gone but grouped with line 10 by function.
        XCTAssertEqual(diffs.map { $0.traceback[0].function }, ["makeCache", "parse", "gone", "inflate", nil])
        XCTAssertEqual(diffs.map(\.sizeDiff), [-1100, -200, 128, -64, 0])
        XCTAssertEqual(diffs.map(\.countDiff), [-11, -2, 2, -1, 0])
        XCTAssertEqual(diffs.map(\.size), [400, 300, 128, 0, 32])
    }

    func testTieOnSizeDiffSortsByCountDiffThenSize() {
        let a = makeSnapshot([([F.cache10], 100, 1), ([F.parse], 100, 1), ([F.main], 500, 1)])
        let b = makeSnapshot([([F.cache10], 200, 5), ([F.parse], 200, 2), ([F.main], 600, 1), ([F.gone], 900, 9)])
        let diffs = Comparison.compute(new: b, old: a, groupBy: .lineno, options: AnalysisOptions())
        XCTAssertEqual(diffs.map { $0.traceback[0] }, [F.gone, F.cache10, F.parse, F.main])
        XCTAssertEqual(diffs.map(\.sizeDiff), [900, 100, 100, 100])
        XCTAssertEqual(diffs.map(\.countDiff), [9, 4, 1, 0])
    }

    func testIdenticalSnapshotsGiveZeroDiffsInStatisticsOrder() {
        let diffs = Comparison.compute(new: fixture, old: fixture, groupBy: .traceback, options: AnalysisOptions())
        XCTAssertEqual(diffs.map(\.sizeDiff), [0, 0, 0, 0, 0])
        XCTAssertEqual(diffs.map(\.size), [1000, 500, 500, 64, 32])
    }

    func testFiltersApplyToBothSnapshots() {
        let options = AnalysisOptions(filters: [TraceFilter(inclusive: true, field: .function, pattern: "gone")])
        let diffs = Comparison.compute(new: fixture, old: old, groupBy: .lineno, options: options)
        XCTAssertEqual(diffs.map(\.sizeDiff), [-128])
    }
}
