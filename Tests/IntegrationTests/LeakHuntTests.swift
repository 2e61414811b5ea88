import Foundation
import XCTest

/// The leak-hunting workflow end to end: a retain-cycle leak next to a
/// bounded cache (attach, diff by traceback, trend), a warming cache next to
/// a slow leak (run, SIGUSR1 series, trend, periodic snapshots), CI gates,
/// stats and ages, and the CLI's errors. Every expected number comes from a
/// fixture's documented ground truth (Tests/Fixtures/RetainCycles.swift,
/// warming.c, leaky.c).
final class LeakHuntTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    // MARK: RetainCycles.swift ground truth

    /// Blocks leakCycle(_:) leaks per call: an Owner, a Partner, the Owner's [UInt8] buffer.
    let blocksPerCall = 3
    /// Entries the fixture's bounded cache holds at most.
    let cacheCapacity = 32

    // MARK: warming.c ground truth

    let leakPerBatch = 5
    let leakSize = 100
    let cachePerBatch = 20
    let cacheSlots = 60

    // MARK: 1. retain cycles under attach

    func testRetainCycleLeakGrowsExactlyAndTheBoundedCacheDoesNot() throws {
        let target = try startTarget(TestEnvironment.fixture("RetainCycles"), [])
        defer { if target.process.isRunning { target.process.terminate() } }
        let session = try AttachedSession(target)
        defer { if session.process.process.isRunning { session.kill9() } }

        // Warm-up: more calls than the cache holds, so it is full before the first snapshot.
        let warmup = cacheCapacity + 8
        try call(target, warmup)
        let first = try session.snapshot()
        let calls = 300
        try call(target, calls)
        let second = try session.snapshot()

        let diff = try SwiftLeakCLI.json(["diff", first, second, "--group-by", "traceback", "--limit", "0"])
        let stats = SwiftLeakCLI.stats(diff)
        let leakGroups = stats.filter { Self.passes(through: "leakCycle", $0) }
        let countDiffs = leakGroups.compactMap { SwiftLeakCLI.int($0["count_diff"]) }
        XCTAssertEqual(countDiffs.reduce(0, +), Int64(calls * blocksPerCall), "leak groups: \(Self.describe(leakGroups))")
        // One group per allocation in leakCycle, each one block per call, all
        // of one size (one object type): size_diff / count_diff is exact and
        // holds for the blocks allocated during the warm-up too.
        XCTAssertEqual(leakGroups.count, blocksPerCall, Self.describe(leakGroups))
        var blockSizes: Set<Int64> = []
        for group in leakGroups {
            let count = try XCTUnwrap(SwiftLeakCLI.int(group["count"]))
            let size = try XCTUnwrap(SwiftLeakCLI.int(group["size"]))
            let countDiff = try XCTUnwrap(SwiftLeakCLI.int(group["count_diff"]))
            let sizeDiff = try XCTUnwrap(SwiftLeakCLI.int(group["size_diff"]))
            XCTAssertEqual(countDiff, Int64(calls), Self.describe([group]))
            XCTAssertEqual(count, Int64(warmup + calls), Self.describe([group]))
            guard countDiff > 0 else { continue }
            XCTAssertEqual(sizeDiff % countDiff, 0, "blocks of one type have one size: \(Self.describe([group]))")
            XCTAssertEqual(size, count * (sizeDiff / countDiff), "blocks of one type have one size: \(Self.describe([group]))")
            blockSizes.insert(sizeDiff / countDiff)
        }
        // The buffer holds 256 bytes plus the array header: the biggest of the three.
        XCTAssertGreaterThan(blockSizes.max() ?? 0, 256)

        // Names are demangled: no mangled Swift symbol in the top 5 rows.
        for row in stats.prefix(5) {
            for frame in row["traceback"] as? [[String: Any]] ?? [] {
                let name = frame["function"] as? String ?? ""
                XCTAssertFalse(name.hasPrefix("$s") || name.hasPrefix("_$s"), "mangled name \(name) in \(Self.describe([row]))")
            }
        }
        XCTAssertTrue(leakGroups.allSatisfy { Self.functions($0).contains { $0.contains("RetainCycles.leakCycle(") } },
                      "the leak site reads as a Swift name: \(Self.describe(leakGroups))")

        // The bounded cache was full before the first snapshot: it does not grow.
        let cacheGroups = stats.filter { Self.passes(through: "cachePut", $0) }
        XCTAssertFalse(cacheGroups.isEmpty, "the cache's blocks were allocated after the attach: \(Self.describe(stats))")
        for group in cacheGroups {
            XCTAssertEqual(SwiftLeakCLI.int(group["count_diff"]), 0, Self.describe([group]))
        }

        // Three more snapshots, each after a batch of 100 calls; the trend
        // over the session's directory (5 snapshots, taken before the detach).
        var expectedCalls = [warmup, warmup + calls]
        for _ in 0..<3 {
            try call(target, 100)
            _ = try session.snapshot()
            expectedCalls.append(expectedCalls.last! + 100)
        }
        let trend = try SwiftLeakCLI.json(["trend", session.output, "--group-by", "traceback", "--limit", "0"])
        let trends = trend["trends"] as? [[String: Any]] ?? []
        XCTAssertEqual((trend["snapshots"] as? [Any])?.count, 5)
        let top = try XCTUnwrap(trends.first)
        XCTAssertTrue(Self.passes(through: "leakCycle", top), "first trend: \(Self.describe([top]))")
        XCTAssertEqual(top["kind"] as? String, "steady_growth", Self.describe([top]))
        let leakTrends = trends.filter { Self.passes(through: "leakCycle", $0) }
        XCTAssertEqual(leakTrends.count, blocksPerCall)
        for leak in leakTrends {
            XCTAssertEqual(leak["kind"] as? String, "steady_growth", Self.describe([leak]))
            XCTAssertEqual((leak["counts"] as? [NSNumber])?.map(\.intValue), expectedCalls, Self.describe([leak]))
        }
        // Every group under cachePut (its entries, and the runtime's one-time
        // metadata its first call instantiated) is not a leak.
        let cacheTrends = trends.filter { Self.passes(through: "cachePut", $0) }
        for cache in cacheTrends {
            XCTAssertNotEqual(cache["kind"] as? String, "steady_growth", Self.describe([cache]))
        }
        let entries = cacheTrends.filter { Self.passes(through: "CacheEntry.__allocating_init", $0) || Self.functions($0).first?.contains("BoundedCache.put(") == true }
        XCTAssertFalse(entries.isEmpty, Self.describe(cacheTrends))
        // The entries themselves stay at the capacity; the dictionary's own
        // storage (charged to the same line of put, the standard library's
        // frames folded) stays constant too.
        let series = entries.compactMap { ($0["counts"] as? [NSNumber])?.map(\.intValue) }
        XCTAssertTrue(series.contains(Array(repeating: cacheCapacity, count: 5)), Self.describe(entries))
        for counts in series {
            XCTAssertEqual(Set(counts).count, 1, "a cache group changed size: \(Self.describe(entries))")
        }

        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 30), 0)
        XCTAssertTrue(target.stdout.contains("leaked \(expectedCalls.last!) cycles"), target.stdout)
    }

    // MARK: 2. a warming cache and a slow leak under run

    func testTrendTellsTheSlowLeakFromTheWarmingCache() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try RunDriver(output: output)
        let batches = 6
        for batch in 1...batches {
            try run.batch(batch)
            try run.snapshot()
        }
        run.target.send("quit")
        XCTAssertEqual(try run.target.wait(), 0, run.target.stderr)
        let paths = SwiftLeakCLI.snapshotPaths(in: run.target.stderr)
        XCTAssertEqual(paths.count, batches + 1, run.target.stderr)

        let trend = try SwiftLeakCLI.json(["trend", output, "--group-by", "function", "--limit", "0"])
        let trends = trend["trends"] as? [[String: Any]] ?? []
        let first = try XCTUnwrap(trends.first)
        XCTAssertEqual(SwiftLeakCLI.function(first), "leak_record", Self.describe(Array(trends.prefix(3))))
        XCTAssertEqual(first["kind"] as? String, "steady_growth")
        // The final snapshot (after "quit") repeats the last batch's numbers.
        let leakCounts = (1...batches).map { $0 * leakPerBatch } + [batches * leakPerBatch]
        XCTAssertEqual((first["counts"] as? [NSNumber])?.map(\.intValue), leakCounts)
        XCTAssertEqual((first["sizes"] as? [NSNumber])?.map(\.intValue), leakCounts.map { $0 * leakSize })

        let cache = try XCTUnwrap(trends.first { SwiftLeakCLI.function($0) == "cache_insert" }, Self.describe(trends))
        XCTAssertEqual(cache["kind"] as? String, "plateau", Self.describe([cache]))
        let cacheCounts = (1...batches).map { min($0 * cachePerBatch, cacheSlots) } + [cacheSlots]
        XCTAssertEqual((cache["counts"] as? [NSNumber])?.map(\.intValue), cacheCounts)
    }

    func testPeriodicSnapshotsKeepOnlyTheLastK() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let keep = 3
        let run = try RunDriver(output: output, options: ["--every", "200ms", "--keep", "\(keep)"])
        try run.batch(1)
        // Wait until more periodic snapshots were written than are kept.
        try run.target.waitForLines(containing: "periodic snapshot written", count: keep + 2, onStderr: true, timeout: 30)
        run.target.send("quit")
        XCTAssertEqual(try run.target.wait(), 0, run.target.stderr)

        let names = try FileManager.default.contentsOfDirectory(atPath: output).filter { $0.hasSuffix(".swleak") }.sorted()
        let finals = names.filter { $0.contains("-final") }
        let periodic = names.filter { !$0.contains("-final") }
        XCTAssertEqual(finals.count, 1, "\(names)")
        XCTAssertLessThanOrEqual(periodic.count, keep, "\(names)")
        XCTAssertGreaterThanOrEqual(periodic.count, 1, "\(names)")
        // The ones kept are the last ones written.
        let reported = SwiftLeakCLI.snapshotPaths(in: run.target.stderr).filter { !$0.contains("-final") }
        XCTAssertEqual(periodic.map { output + "/" + $0 }, Array(reported.suffix(periodic.count)))
        // Names sort by time (and by sequence), the final one last.
        XCTAssertEqual(names.last, finals.first)
        var previous: (time: Int64, sequence: Int64)?
        for name in names {
            let snapshot = try XCTUnwrap(try SwiftLeakCLI.json(["stats", output + "/" + name])["snapshot"] as? [String: Any])
            let time = try XCTUnwrap(SwiftLeakCLI.int(snapshot["time_ns"]))
            let sequence = try XCTUnwrap(SwiftLeakCLI.int(snapshot["sequence"]))
            if let previous {
                XCTAssertGreaterThanOrEqual(time, previous.time, "\(names)")
                XCTAssertGreaterThan(sequence, previous.sequence, "\(names)")
            }
            previous = (time, sequence)
        }
    }

    // MARK: 3. gates

    func testMaxPeakGate() throws {
        let units = 1000  // leaky.c: one block of 4001 bytes per unit, about 4 MB
        let over = try runCommand(TestEnvironment.binary, ["run", "--output", try TestEnvironment.temporaryDirectory(), "--max-peak", "1MiB",
                                                           "--", TestEnvironment.fixture("leaky"), "batch", "\(units)", "2"])
        XCTAssertEqual(over.status, 97, over.stderr)
        XCTAssertTrue(over.stderr.contains("gate failed: peak"), over.stderr)
        XCTAssertTrue(over.stderr.contains("--max-peak"), over.stderr)
        XCTAssertTrue(over.stderr.contains("make_session_record"), over.stderr)
        XCTAssertEqual(over.stdout, "leaked \(units) blocks of 4001 bytes\n", "the target's own output is unchanged")

        let under = try runCommand(TestEnvironment.binary, ["run", "--output", try TestEnvironment.temporaryDirectory(), "--max-peak", "64MiB",
                                                            "--", TestEnvironment.fixture("leaky"), "batch", "\(units)", "2"])
        XCTAssertEqual(under.status, 0, under.stderr)
        XCTAssertTrue(under.stderr.contains("memory gates passed"), under.stderr)
        XCTAssertFalse(under.stderr.contains("gate failed"), under.stderr)
    }

    func testMaxGrowthGateAfterASignalledWarmup() throws {
        // warming.c: "hog K" leaks K blocks of 1 KiB in hog(); the warm-up fills the cache first.
        for (kib, broken) in [(200, true), (50, false)] {
            let run = try RunDriver(output: try TestEnvironment.temporaryDirectory(), options: ["--max-growth", "100KiB", "--warmup", "signal"])
            for batch in 1...(cacheSlots / cachePerBatch) { try run.batch(batch) }
            try run.snapshot()
            try run.hog(kib)
            run.target.send("quit")
            let status = try run.target.wait()
            let stderr = run.target.stderr
            if broken {
                XCTAssertEqual(status, 97, stderr)
                XCTAssertTrue(stderr.contains("gate failed: "), stderr)
                XCTAssertTrue(stderr.contains("--max-growth"), stderr)
                // The diff from the warm-up snapshot: its first (biggest) row is the growing site.
                let lines = stderr.split(separator: "\n").map(String.init)
                let header = try XCTUnwrap(lines.firstIndex { $0.contains("size diff") }, stderr)
                XCTAssertTrue(lines.indices.contains(header + 1) && lines[header + 1].hasSuffix(" hog"), "the growing site is shown first: \(stderr)")
                XCTAssertTrue(lines.indices.contains(header + 1) && lines[header + 1].contains("+\(kib).0 KiB"), stderr)
            } else {
                XCTAssertEqual(status, 0, stderr)
                XCTAssertTrue(stderr.contains("memory gates passed"), stderr)
            }
        }
    }

    func testATargetThatFailsKeepsItsOwnExitStatus() throws {
        let run = try RunDriver(output: try TestEnvironment.temporaryDirectory(), options: ["--max-peak", "1MiB"])
        try run.hog(2048)  // over the limit...
        run.target.send("exit 3")  // ...and failing on its own
        XCTAssertEqual(try run.target.wait(), 3, run.target.stderr)
    }

    // MARK: 4. stats and ages

    func testStatsMatchesTopAndOlderThanCountsOnlyOldBlocks() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try RunDriver(output: output)
        try run.batch(1)
        // Wait on the clock until the first batch's blocks are over a second old.
        let firstDone = Date()
        let age = 1.0
        usleep(useconds_t((age + 0.3 - Date().timeIntervalSince(firstDone)) * 1_000_000))
        try run.batch(2)
        let snapshot = try run.snapshot()
        run.target.send("quit")
        XCTAssertEqual(try run.target.wait(), 0, run.target.stderr)

        let stats = try SwiftLeakCLI.json(["stats", snapshot])
        let top = try SwiftLeakCLI.json(["top", snapshot, "--group-by", "function"])
        XCTAssertEqual(stats["snapshot"] as? NSDictionary, top["snapshot"] as? NSDictionary)
        XCTAssertEqual(stats["has_ages"] as? Bool, true)

        let all = SwiftLeakCLI.stats(top)
        XCTAssertEqual(SwiftLeakCLI.int(SwiftLeakCLI.stat(all, function: "leak_record")?["count"]), Int64(2 * leakPerBatch))
        XCTAssertEqual(SwiftLeakCLI.int(SwiftLeakCLI.stat(all, function: "cache_insert")?["count"]), Int64(2 * cachePerBatch))
        let old = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--group-by", "function", "--older-than", "1s"]))
        XCTAssertEqual(SwiftLeakCLI.int(SwiftLeakCLI.stat(old, function: "leak_record")?["count"]), Int64(leakPerBatch), Self.describe(old))
        XCTAssertEqual(SwiftLeakCLI.int(SwiftLeakCLI.stat(old, function: "leak_record")?["size"]), Int64(leakPerBatch * leakSize))
        XCTAssertEqual(SwiftLeakCLI.int(SwiftLeakCLI.stat(old, function: "cache_insert")?["count"]), Int64(cachePerBatch), Self.describe(old))
    }

    // MARK: 5. CLI errors

    func testUsageErrorsAreShortAndDoNotCrash() throws {
        // Two real snapshots, for trend's "fewer than 3".
        let output = try TestEnvironment.temporaryDirectory()
        let run = try RunDriver(output: output)
        try run.batch(1)
        let snapshot = try run.snapshot()
        run.target.send("quit")
        XCTAssertEqual(try run.target.wait(), 0, run.target.stderr)
        let final = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.target.stderr).last)

        let usageErrors: [[String]] = [
            ["top"],
            ["top", snapshot, "--group-by", "bogus"],
            ["top", snapshot, "--older-than", "ten"],
            ["run", "--keep", "3", "--", TestEnvironment.fixture("warming")],
        ]
        for arguments in usageErrors {
            let result = try runCommand(TestEnvironment.binary, arguments, timeout: 30)
            Self.assertCleanError(result, arguments)
            // ArgumentParser adds its Help/Usage lines to a usage error; nothing else.
            for line in result.stderr.split(separator: "\n").dropFirst() {
                XCTAssertTrue(line.hasPrefix("Help:") || line.hasPrefix("Usage:") || line.hasPrefix("  See '"),
                              "swiftleak \(arguments.joined(separator: " ")): unexpected line \"\(line)\"")
            }
        }
        // `run` passes everything after its options to the program: --help
        // must still be help, not a program named --help.
        let help = try runCommand(TestEnvironment.binary, ["run", "--help"], timeout: 30)
        XCTAssertEqual(help.status, 0, help.stderr)
        XCTAssertTrue(help.stdout.contains("USAGE: swiftleak run"), help.stdout + help.stderr)

        let fewSnapshots = try runCommand(TestEnvironment.binary, ["trend", snapshot, final], timeout: 30)
        Self.assertCleanError(fewSnapshots, ["trend", snapshot, final])
        XCTAssertEqual(fewSnapshots.stderr.split(separator: "\n").count, 1, fewSnapshots.stderr)
        XCTAssertTrue(fewSnapshots.stderr.contains("at least 3"), fewSnapshots.stderr)
    }

    // MARK: helpers

    /// Sends `call N` to RetainCycles and waits for its `done N`.
    private func call(_ target: ChildProcess, _ count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let previous = target.stdout.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        target.send("call \(count)")
        try target.waitForLine(containing: "done \(count)", after: max(previous, 0), file: file, line: line)
    }

    static func functions(_ stat: [String: Any]) -> [String] {
        (stat["traceback"] as? [[String: Any]] ?? []).compactMap { $0["function"] as? String }
    }

    /// Whether a group's traceback has a frame in the fixture function `name`
    /// (matched in the demangled Swift name, e.g. "RetainCycles.leakCycle(Swift.Int) -> ()").
    static func passes(through name: String, _ stat: [String: Any]) -> Bool {
        functions(stat).contains { $0 == name || $0.contains("." + name + "(") }
    }

    static func describe(_ stats: [[String: Any]]) -> String {
        stats.map { stat in
            let numbers = ["count", "count_diff", "size", "size_diff", "kind", "counts"].compactMap { key in stat[key].map { "\(key)=\($0)" } }
            return numbers.joined(separator: " ") + " " + functions(stat).prefix(6).joined(separator: " <- ")
        }.joined(separator: "\n")
    }

    static func assertCleanError(_ result: (status: Int32, stdout: String, stderr: String), _ arguments: [String],
                                 file: StaticString = #filePath, line: UInt = #line) {
        let command = "swiftleak " + arguments.joined(separator: " ")
        XCTAssertNotEqual(result.status, 0, command, file: file, line: line)
        XCTAssertLessThan(result.status, 128, "\(command) died of a signal: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: "), "\(command): \(result.stderr)", file: file, line: line)
        for crash in ["Fatal error", "Stack dump", "Current stack trace", "Illegal instruction", "Segmentation fault"] {
            XCTAssertFalse(result.stderr.contains(crash), "\(command): \(result.stderr)", file: file, line: line)
        }
    }
}

/// `swiftleak run [options] --output DIR -- warming`, driven over stdin,
/// with snapshots by SIGUSR1 to swiftleak; every step waits for its line.
private final class RunDriver {
    let target: ChildProcess

    init(output: String, options: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        target = try ChildProcess(TestEnvironment.binary, ["run", "--output", output] + options + ["--", TestEnvironment.fixture("warming")])
        try target.waitForLine(containing: "ready", file: file, line: line)
    }

    private var stdoutLines: Int { target.stdout.split(separator: "\n", omittingEmptySubsequences: false).count - 1 }
    private var stderrLines: Int { target.stderr.split(separator: "\n", omittingEmptySubsequences: false).count - 1 }

    /// One "batch"; waits for its "done N" (N counts batches from 1).
    func batch(_ number: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let previous = max(stdoutLines, 0)
        target.send("batch")
        try target.waitForLine(containing: "done \(number)", after: previous, file: file, line: line)
    }

    func hog(_ kib: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let previous = max(stdoutLines, 0)
        target.send("hog \(kib)")
        try target.waitForLine(containing: "hogged \(kib)", after: previous, file: file, line: line)
    }

    /// SIGUSR1 to swiftleak; returns the path of the snapshot it wrote.
    @discardableResult
    func snapshot(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let previous = max(stderrLines, 0)
        target.signal(SIGUSR1)
        let written = try target.waitForLine(containing: "swiftleak: snapshot written: ", onStderr: true, after: previous, file: file, line: line)
        let range = try XCTUnwrap(written.range(of: "written: "), file: file, line: line)
        let path = String(written[range.upperBound...])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), path, file: file, line: line)
        return path
    }
}
