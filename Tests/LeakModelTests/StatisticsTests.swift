import XCTest
import LeakModel

final class StatisticsTests: XCTestCase {
    private func summary(_ groupBy: GroupBy, _ options: AnalysisOptions = AnalysisOptions()) -> [String] {
        Statistics.compute(fixture, groupBy: groupBy, options: options).map { stat in
            let f = stat.traceback[0]
            let name = f.file.map { "\($0):\(f.line)" } ?? f.function ?? f.module ?? "?"
            return "\(name) \(stat.size)/\(stat.count)"
        }
    }

    func testLineno() {
        let stats = Statistics.compute(fixture, groupBy: .lineno, options: AnalysisOptions())
        // Cache.swift:12 and Parser.swift:40 tie on 500 bytes / 5 blocks: the
        // file name breaks the tie. strdup was folded into parse.
        XCTAssertEqual(stats.map(\.traceback), [[F.cache10], [F.cache12], [F.parse], [F.inflate], [F.anonymous]])
        XCTAssertEqual(stats.map(\.size), [1000, 500, 500, 64, 32])
        XCTAssertEqual(stats.map(\.count), [10, 5, 5, 1, 4])
    }

    func testFunction() {
        XCTAssertEqual(summary(.function), ["/src/Cache.swift:10 1500/15", "/src/Parser.swift:40 500/5", "inflate 64/1", "/lib/libz.so.1 32/4"])
    }

    func testFilenameFallsBackToModule() {
        XCTAssertEqual(summary(.filename), ["/src/Cache.swift:10 1500/15", "/src/Parser.swift:40 500/5", "inflate 96/5"])
    }

    func testModule() {
        XCTAssertEqual(summary(.module), ["/src/Cache.swift:10 2000/20", "inflate 96/5"])
        let stats = Statistics.compute(fixture, groupBy: .module, options: AnalysisOptions())
        XCTAssertEqual(stats.map { $0.traceback[0].module }, ["/app/server", "/lib/libz.so.1"])
    }

    func testTraceback() {
        let stats = Statistics.compute(fixture, groupBy: .traceback, options: AnalysisOptions())
        XCTAssertEqual(stats.map(\.traceback), [
            [F.cache10, F.main], [F.cache12, F.main], [F.parse, F.main],
            [F.inflate, F.parse, F.main], [F.anonymous, F.inflate, F.main],
        ])
        // The strdup stack folds onto the direct one: 300 + 200 bytes.
        XCTAssertEqual(stats.map(\.size), [1000, 500, 500, 64, 32])
        XCTAssertEqual(stats.map(\.count), [10, 5, 5, 1, 4])
    }

    func testSortsByCountWhenSizesTie() {
        let snapshot = makeSnapshot([([F.parse], 100, 1), ([F.cache10], 100, 9), ([F.main], 200, 1)])
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .lineno, options: AnalysisOptions()).map(\.traceback),
                       [[F.main], [F.cache10], [F.parse]])
    }

    func testLinenoWithoutLineInfoUsesFunctionAndAddress() {
        let a = Frame(function: "f", file: "/x.c", line: 0, module: "/m", address: 1)
        let b = Frame(function: "f", file: "/x.c", line: 0, module: "/m", address: 2)
        let snapshot = makeSnapshot([([a], 1, 1), ([b], 2, 1), ([a], 4, 1)])
        let lineno = Statistics.compute(snapshot, groupBy: .lineno, options: AnalysisOptions())
        XCTAssertEqual(lineno.map(\.size), [5, 2])
        let function = Statistics.compute(snapshot, groupBy: .function, options: AnalysisOptions())
        XCTAssertEqual(function.map(\.size), [7])
    }

    func testCumulative() {
        let options = AnalysisOptions(cumulative: true)
        let stats = Statistics.compute(fixture, groupBy: .function, options: options)
        XCTAssertEqual(stats.map { $0.traceback[0] }, [F.main, F.cache10, F.parse, F.inflate, F.anonymous])
        XCTAssertEqual(stats.map(\.size), [2096, 1500, 564, 96, 32])
        XCTAssertEqual(stats.map(\.count), [25, 15, 6, 5, 4])
        // Modules: every trace reaches /app/server; libz once per trace even with two libz frames.
        let modules = Statistics.compute(fixture, groupBy: .module, options: options)
        XCTAssertEqual(modules.map(\.size), [2096, 96])
        XCTAssertEqual(modules.map(\.count), [25, 5])
    }

    func testCumulativeCountsRecursionOnce() {
        let snapshot = makeSnapshot([([F.parse, F.parse, F.parse, F.main], 10, 1)])
        let stats = Statistics.compute(snapshot, groupBy: .lineno, options: AnalysisOptions(cumulative: true))
        XCTAssertEqual(stats.map(\.size), [10, 10])
        XCTAssertEqual(stats.map { $0.traceback[0] }, [F.parse, F.main])
    }

    func testCumulativeIsIgnoredForTraceback() {
        XCTAssertEqual(Statistics.compute(fixture, groupBy: .traceback, options: AnalysisOptions(cumulative: true)),
                       Statistics.compute(fixture, groupBy: .traceback, options: AnalysisOptions()))
    }
}
