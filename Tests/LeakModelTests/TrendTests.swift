import XCTest
@testable import LeakModel

final class TrendTests: XCTestCase {
    static let leak = Frame(function: "remember", file: "/src/Sessions.swift", line: 21, module: "/app/server", address: 0x100)
    static let cache = Frame(function: "warm", file: "/src/Cache.swift", line: 8, module: "/app/server", address: 0x200)
    static let churn = Frame(function: "handle", file: "/src/Handler.swift", line: 50, module: "/app/server", address: 0x300)
    static let shrink = Frame(function: "drain", file: "/src/Queue.swift", line: 3, module: "/app/server", address: 0x400)
    static let steady = Frame(function: "config", file: "/src/Config.swift", line: 1, module: "/app/server", address: 0x500)

    /// Ten snapshots, one per "iteration", with 64-byte blocks:
    /// a leak (+5 blocks each time), a cache that fills in 3 snapshots then
    /// stays, churn, a draining queue and constant configuration.
    static func series() -> [Snapshot] {
        let churnCounts: [UInt64] = [40, 12, 35, 8, 44, 15, 38, 9, 41, 14]
        return (0..<10).map { i -> Snapshot in
            let n = UInt64(i)
            let traces: [(frames: [Frame], size: UInt64, count: UInt64)] = [
                ([F.agentMalloc, leak, F.main], 64 * (10 + 5 * n), 10 + 5 * n),
                ([F.agentMalloc, cache, F.main], 64 * 20 * min(n + 1, 3), 20 * min(n + 1, 3)),
                ([F.agentMalloc, churn, F.main], 64 * churnCounts[i], churnCounts[i]),
                ([F.agentMalloc, shrink, F.main], 64 * (100 - 9 * n), 100 - 9 * n),
                ([F.agentMalloc, steady, F.main], 640, 10),
            ]
            var s = makeSnapshot(traces, sequence: UInt32(i + 1))
            s.metadata.timeNanoseconds += n * 60_000_000_000
            return s
        }
    }

    func testClassifiesAndRanksTheLeakFirst() throws {
        // Given out of order: the analysis sorts by time.
        let trends = TrendAnalysis.analyze(Self.series().reversed(), groupBy: .function, options: AnalysisOptions())
        XCTAssertEqual(trends.count, 5)
        let leak = trends[0]
        XCTAssertEqual(leak.traceback.first?.function, "remember")
        XCTAssertEqual(leak.kind, .steadyGrowth)
        XCTAssertEqual(leak.slopeBlocksPerSnapshot, 5, accuracy: 1e-9)
        XCTAssertEqual(leak.slopeBytesPerSnapshot, 320, accuracy: 1e-9)
        XCTAssertEqual(leak.rSquared, 1, accuracy: 1e-9)
        XCTAssertFalse(leak.growthStopped)
        XCTAssertEqual(leak.counts, (0..<10).map { 10 + 5 * UInt64($0) })
        XCTAssertEqual(leak.points.map(\.sequence), Array(1...10))

        func kind(_ name: String) -> SiteTrend? { trends.first { $0.traceback.first?.function == name } }
        XCTAssertEqual(kind("warm")?.kind, .plateau)
        XCTAssertEqual(kind("warm")?.growthStopped, true)
        XCTAssertEqual(kind("handle")?.kind, .churn)
        XCTAssertEqual(kind("drain")?.kind, .shrinking)
        XCTAssertEqual(kind("config")?.kind, .flat)
        XCTAssertEqual(trends.map(\.kind), [.steadyGrowth, .plateau, .churn, .shrinking, .flat])
    }

    func testSteepestLeakFirstAmongLeaks() {
        let snapshots = (0..<4).map { i -> Snapshot in
            let n = UInt64(i)
            return makeSnapshot([
                ([Self.leak], 100 * n + 1, n + 1),
                ([Self.cache], 1000 * n + 1, n + 1),
            ], sequence: UInt32(i + 1))
        }
        let trends = TrendAnalysis.analyze(snapshots, groupBy: .lineno, options: AnalysisOptions())
        XCTAssertEqual(trends.map(\.kind), [.steadyGrowth, .steadyGrowth])
        XCTAssertEqual(trends.map { $0.traceback.first?.function }, ["warm", "remember"])
        XCTAssertEqual(trends[0].slopeBytesPerSnapshot, 1000, accuracy: 1e-9)
    }

    func testGroupsMissingFromSomeSnapshotsCountAsZero() {
        let a = makeSnapshot([([Self.leak], 10, 1)], sequence: 1)
        let b = makeSnapshot([([Self.cache], 10, 1)], sequence: 2)
        var c = makeSnapshot([([Self.leak], 30, 3)], sequence: 3)
        c.metadata.timeNanoseconds += 1
        let trends = TrendAnalysis.analyze([a, b, c], groupBy: .function, options: AnalysisOptions())
        let leak = trends.first { $0.traceback.first?.function == "remember" }
        XCTAssertEqual(leak?.sizes, [10, 0, 30])
        XCTAssertEqual(trends.first { $0.traceback.first?.function == "warm" }?.sizes, [0, 10, 0])
    }

    func testShortAndEmptySeries() {
        XCTAssertTrue(TrendAnalysis.analyze([], groupBy: .function, options: AnalysisOptions()).isEmpty)
        let one = TrendAnalysis.analyze([makeSnapshot([([Self.leak], 10, 1)])], groupBy: .function, options: AnalysisOptions())
        XCTAssertEqual(one.map(\.kind), [.flat])
        XCTAssertEqual(one.first?.slopeBytesPerSnapshot, 0)
    }

    func testLinearFit() {
        let fit = LinearFit([1, 3, 5, 7])
        XCTAssertEqual(fit.slope, 2, accuracy: 1e-12)
        XCTAssertEqual(fit.intercept, 1, accuracy: 1e-12)
        XCTAssertEqual(fit.rSquared, 1)
        let noisy = LinearFit([0, 10, 0, 10])
        XCTAssertLessThan(noisy.rSquared, 0.5)
        XCTAssertEqual(LinearFit([4, 4, 4]).slope, 0)
    }
}
