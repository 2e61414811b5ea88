import Foundation
import XCTest

/// Every Python object, as tracemalloc sees it: the seeds' programs
/// (Tests/Fixtures/py_seeds.py) attached to after warm-up and run from the
/// start must give, line by line, what tracemalloc gives when the test runs
/// the same steps under it: the same lines, sizes within 10 %, counts
/// within 5 %. Then `snapshot --collect`, and attach/detach cycles under load.
final class PythonObjectTests: XCTestCase {
    static let cacheRequests = 2000
    static let listRounds = 20
    static let cyclePairs = 1000
    static let reuseRequests = 2000

    func testSeedsMatchTracemallocAttachedToCPython311() throws { try attachedMatchesTracemalloc(try pyenv("3.11")) }
    func testSeedsMatchTracemallocAttachedToCPython312() throws { try attachedMatchesTracemalloc(try pyenv("3.12")) }
    func testSeedsMatchTracemallocAttachedToCPython313() throws { try attachedMatchesTracemalloc(try pyenv("3.13")) }

    /// 3.12: a launched 3.11's snapshots hold more distinct start-up stacks
    /// (measured: 8.7 MB against 3.4 MB) and take seconds more to compare;
    /// PythonTests runs 3.11.
    func testSeedMatchesTracemallocUnderRun() throws {
        try TestEnvironment.requireBuilt()
        let python = try pyenv("3.12")
        let expected = try tracemalloc(python, "cache", Self.cacheRequests)
        let session = try startRunSession(python, [fixture])
        try snapshotRunSession(session, total: 1)
        try command(session, "cache \(Self.cacheRequests)")
        let paths = try snapshotRunSession(session, total: 2)
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0, session.stderr)
        XCTAssertEqual(session.stdout, "ready\ndone cache \(Self.cacheRequests)\n", "the interpreter's output is its own")
        try assertSameLines(try lines(paths[0], paths[1]), expected.lines, "run, cache")
    }

    /// Lists CPython hands out again from its free list (no allocator call)
    /// are counted where they were taken, as tracemalloc counts them: 3.13's
    /// reference tracer tells the agent. Attached and launched.
    func testReusedObjectsMatchTracemallocAttachedToCPython313() throws {
        try TestEnvironment.requireBuilt()
        let python = try pyenv("3.13")
        let expected = try tracemalloc(python, "reuse", Self.reuseRequests)
        let target = try startTarget(python, [fixture])
        let session = try AttachedSession(target)
        // The free list's lists from before the attach are blocks swiftleak
        // never saw: a first round uses them up.
        try command(target, "reuse 300")
        let before = try session.snapshot()
        try command(target, "reuse \(Self.reuseRequests)")
        let after = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone reuse 300\ndone reuse \(Self.reuseRequests)\n", "the interpreter's output is its own")
        try assertSameLines(try lines(before, after), expected.lines, "attached, reuse")
    }

    /// Sampled, a reused block moves only when it was sampled: each block is
    /// drawn once, independently, so the ones that reach a line by reuse
    /// estimate it as fairly as the ones allocated there. 20,000 kept lists
    /// of 56 bytes at one per 2 KiB are about 540 samples: a standard error
    /// near 4%, and 20% is five of them.
    func testReusedObjectsAreEstimatedWhenSampledOnCPython313() throws {
        try TestEnvironment.requireBuilt()
        let python = try pyenv("3.13")
        let requests = 10 * Self.reuseRequests
        let expected = try tracemalloc(python, "reuse", requests)
        let target = try startTarget(python, [fixture])
        let session = try AttachedSession(target, options: ["--sample-bytes", "2KiB"])
        try command(target, "reuse 300")
        let before = try session.snapshot()
        try command(target, "reuse \(requests)")
        let after = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        let keeping = try XCTUnwrap(expected.lines.max { $0.value.count < $1.value.count }, "\(expected.lines)")
        XCTAssertEqual(keeping.value.count, requests, "tracemalloc: \(expected.lines)")
        let estimated = try lines(before, after)[keeping.key] ?? LineDiff(size: 0, count: 0)
        XCTAssertLessThanOrEqual(abs(estimated.size - keeping.value.size) * 5, keeping.value.size,
                                 "line \(keeping.key): estimated \(estimated), tracemalloc \(keeping.value)")
        XCTAssertLessThanOrEqual(abs(estimated.count - keeping.value.count) * 5, keeping.value.count,
                                 "line \(keeping.key): estimated \(estimated), tracemalloc \(keeping.value)")
    }

    func testReusedObjectsMatchTracemallocUnderRunOnCPython313() throws {
        try TestEnvironment.requireBuilt()
        let python = try pyenv("3.13")
        let expected = try tracemalloc(python, "reuse", Self.reuseRequests)
        let session = try startRunSession(python, [fixture])
        try snapshotRunSession(session, total: 1)
        try command(session, "reuse \(Self.reuseRequests)")
        let paths = try snapshotRunSession(session, total: 2)
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0, session.stderr)
        XCTAssertEqual(session.stdout, "ready\ndone reuse \(Self.reuseRequests)\n", "the interpreter's output is its own")
        try assertSameLines(try lines(paths[0], paths[1]), expected.lines, "run, reuse")
    }

    /// A target that runs tracemalloc itself keeps its own figures: while
    /// attached, swiftleak's reference tracer calls tracemalloc's on (both
    /// count the kept lists at the keeping line), and the detach puts
    /// tracemalloc's back (it counts the next ones there too).
    func testTracemallocInTheTargetIsCalledOnAndPutBackOnCPython313() throws {
        try TestEnvironment.requireBuilt()
        let fixture = TestEnvironment.packageRoot + "/Tests/Fixtures/py_own_tracemalloc.py"
        let target = try startTarget(try pyenv("3.13"), [fixture])
        try command(target, "snap")
        let session = try AttachedSession(target)
        let before = try session.snapshot()
        try command(target, "keep 1000")
        let after = try session.snapshot()
        try command(target, "snap")
        _ = try session.detach()
        try command(target, "keep 700")
        try command(target, "snap")
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout.split(separator: "\n").filter { $0.hasPrefix("kept") }, ["kept 1000", "kept 700"],
                       "tracemalloc in the target, attached and after the detach")
        let stats = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["diff", before, after, "--group-by", "lineno", "--limit", "0"]))
        let keeping = stats.first { SwiftLeakCLI.frame0($0)["file"] as? String == fixture && SwiftLeakCLI.int(SwiftLeakCLI.frame0($0)["line"]) == 24 }
        XCTAssertEqual(keeping.flatMap { SwiftLeakCLI.int($0["count_diff"]) }, 1000, "swiftleak at the keeping line: \(stats)")
    }

    /// Garbage in reference cycles shows in a plain snapshot and is gone
    /// after `snapshot --collect`, as tracemalloc says around gc.collect().
    func testSnapshotCollectFreesCycleGarbage() throws {
        try TestEnvironment.requireBuilt()
        let python = try pyenv("3.12")
        let expected = try tracemalloc(python, "cycles", Self.cyclePairs)
        let target = try startTarget(python, [fixture])
        let session = try AttachedSession(target)
        let before = try session.snapshot()
        try command(target, "cycles \(Self.cyclePairs)")
        let plain = try session.snapshot()
        let collect = try runToCompletion(TestEnvironment.binary, ["snapshot", "\(target.pid)", "--collect"])
        XCTAssertEqual(collect.status, 0, collect.stderr)
        let collectedPath = collect.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let note = try XCTUnwrap(collect.stderr.split(separator: "\n").first { $0.contains("gc.collect() in pid \(target.pid) collected ") }, collect.stderr)
        let count = Int(note.split(separator: " ").dropLast().last ?? "") ?? -1
        XCTAssertGreaterThanOrEqual(count, 2 * Self.cyclePairs, String(note))
        XCTAssertGreaterThanOrEqual(expected.collected ?? 0, 2 * Self.cyclePairs)
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone cycles \(Self.cyclePairs)\n")

        try assertSameLines(try lines(before, plain), expected.lines, "cycles, plain snapshot")
        let kept = try lines(before, collectedPath)
        for line in expected.lines.keys {
            XCTAssertLessThanOrEqual(abs(kept[line]?.count ?? 0), 2, "line \(line) after --collect: \(kept)")
        }
        XCTAssertTrue(expected.afterCollect.keys.allSatisfy { expected.lines[$0] == nil || abs(expected.afterCollect[$0]!.count) <= 2 },
                      "tracemalloc after gc.collect(): \(expected.afterCollect)")
    }

    /// 20 attach/detach cycles while four Python threads serve requests:
    /// every cycle wraps and unwraps the allocators with the GIL; the
    /// interpreter neither crashes nor hangs, and its output is its own.
    func testTwentyAttachDetachCyclesUnderLoad() throws { try attachDetachCyclesUnderLoad("3.12") }

    /// The same on 3.13, where every cycle also sets and takes out the
    /// reference tracer (free-list reuse) with the GIL.
    func testTwentyAttachDetachCyclesUnderLoadOnCPython313() throws { try attachDetachCyclesUnderLoad("3.13") }

    private func attachDetachCyclesUnderLoad(_ minor: String) throws {
        try TestEnvironment.requireBuilt()
        let target = try startTarget(try pyenv(minor), [fixture])
        try command(target, "load 4")
        for cycle in 1...20 {
            let session = try AttachedSession(target)
            XCTAssertTrue(session.process.stderr.contains("object allocators are wrapped"), "cycle \(cycle): \(session.process.stderr)")
            _ = try session.detach()
            TargetProc.waitUntilAgentIdle(target.pid)
            XCTAssertFalse(TargetProc.threadNames(target.pid).contains("swiftleak-py"), "cycle \(cycle): the helper thread outlived the detach")
        }
        target.send("quit")
        XCTAssertEqual(try target.wait(timeout: 30), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone load 4\n")
    }

    /// A `kill -9` of swiftleak mid-session: the agent puts the allocators
    /// back (or leaves wrappers that pass through); the interpreter serves on,
    /// and a new attach wraps them again and counts the same objects.
    func testInterpreterServesOnAfterKill9OfSwiftleak() throws {
        try TestEnvironment.requireBuilt()
        let target = try startTarget(try pyenv("3.13"), [fixture])
        let first = try AttachedSession(target)
        try command(target, "cache 100")
        first.kill9()
        TargetProc.waitUntilAgentIdle(target.pid)
        try command(target, "cache 100")
        let second = try AttachedSession(target)
        XCTAssertTrue(second.process.stderr.contains("object allocators are wrapped"), second.process.stderr)
        try command(target, "cache 500")   // the dict's table grows to a size that holds what follows
        let before = try second.snapshot()
        try command(target, "cache 500")
        let after = try second.snapshot()
        _ = try second.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone cache 100\ndone cache 100\ndone cache 500\ndone cache 500\n")
        let handler = try XCTUnwrap(try lines(before, after).first { $0.value.size > 500 * 1024 }, "no line holds the 500 bytes(1024)")
        XCTAssertEqual(handler.value.count, 500)
    }

    /// An interpreter that is not initialised (libpython loaded, no
    /// Py_Initialize) is left alone with one line saying why; malloc is
    /// still traced, and `--collect` fails with one line and a non-zero exit.
    func testUninitializedInterpreterIsLeftAloneWithOneLine() throws {
        try TestEnvironment.requireBuilt()
        let library = try XCTUnwrap(URL(fileURLWithPath: try pyenv("3.12")).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("lib/libpython3.12.so.1.0").path)
        let target = try startTarget(TestEnvironment.fixture("py_uninitialized"), [library])
        try assertLeftAlone(target, minor: "3.12", because: "the interpreter is not initialised yet")
    }

    /// An interpreter that is finalizing (Py_FinalizeEx running, here held
    /// inside a __del__ that waits on stdin) is left alone with one line
    /// saying so, not taken for one that is not initialised (the flag
    /// CPython clears as it starts to finalize); `--collect` is refused the
    /// same way, and the process ends as it would have.
    func testFinalizingInterpreterIsLeftAloneWithOneLine() throws {
        try TestEnvironment.requireBuilt()
        let lingering = TestEnvironment.packageRoot + "/Tests/Fixtures/py_finalizing.py"
        for minor in ["3.11", "3.12", "3.13"] {
            let target = try startTarget(try pyenv(minor), [lingering])
            try assertLeftAlone(target, minor: minor, because: "the interpreter is shutting down")
        }
    }

    // MARK: -

    /// Attached to `target` (which printed only "ready" and ends on "quit"),
    /// swiftleak leaves its allocators alone with one line giving `reason`,
    /// refuses `--collect` with one line and a non-zero exit, still takes
    /// snapshots and detaches; the process then exits 0 with its own output.
    private func assertLeftAlone(_ target: ChildProcess, minor: String, because reason: String) throws {
        let session = try AttachedSession(target)
        let notes = session.process.stderr.split(separator: "\n").filter { $0.contains("object allocators") }
        XCTAssertEqual(notes, ["swiftleak: pid \(target.pid) runs CPython \(minor), but its object allocators were left alone (\(reason)): only blocks from malloc are traced"])
        let collect = try runToCompletion(TestEnvironment.binary, ["snapshot", "\(target.pid)", "--collect"])
        XCTAssertNotEqual(collect.status, 0)
        XCTAssertEqual(collect.stdout, "")
        XCTAssertEqual(collect.stderr.split(separator: "\n").count, 1, collect.stderr)
        XCTAssertTrue(collect.stderr.contains("gc.collect() did not run in pid \(target.pid): \(reason)"), collect.stderr)
        _ = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\n")
        XCTAssertEqual(target.stderr, "")
    }

    private var fixture: String { TestEnvironment.packageRoot + "/Tests/Fixtures/py_seeds.py" }

    private func attachedMatchesTracemalloc(_ python: String) throws {
        try TestEnvironment.requireBuilt()
        let cache = try tracemalloc(python, "cache", Self.cacheRequests)
        let lists = try tracemalloc(python, "lists", Self.listRounds)
        let target = try startTarget(python, [fixture])
        let session = try AttachedSession(target)
        XCTAssertTrue(session.process.stderr.contains("object allocators are wrapped"), session.process.stderr)
        // Blocks from before the attach are unknown: a first round makes the
        // growing dict's and list's tables blocks swiftleak saw allocated.
        try command(target, "cache 300")
        try command(target, "lists 1")
        let before = try session.snapshot()
        try command(target, "cache \(Self.cacheRequests)")
        let middle = try session.snapshot()
        try command(target, "lists \(Self.listRounds)")
        let after = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone cache 300\ndone lists 1\ndone cache \(Self.cacheRequests)\ndone lists \(Self.listRounds)\n",
                       "the interpreter's output is its own")
        try assertSameLines(try lines(before, middle), cache.lines, "attached, cache")
        try assertSameLines(try lines(middle, after), lists.lines, "attached, lists")
    }

    private struct LineDiff: CustomStringConvertible {
        var size: Int
        var count: Int
        var description: String { "\(size) B, \(count) blocks" }
    }

    /// What tracemalloc says, line by line of the fixture, about N of KIND.
    private func tracemalloc(_ python: String, _ kind: String, _ count: Int) throws
        -> (lines: [Int: LineDiff], collected: Int?, afterCollect: [Int: LineDiff]) {
        let result = try runCommand(python, [fixture, "--tracemalloc", kind, "\(count)"])
        XCTAssertEqual(result.status, 0, result.stderr)
        var lines: [Int: LineDiff] = [:], afterCollect: [Int: LineDiff] = [:]
        var collected: Int?
        for text in result.stdout.split(separator: "\n") {
            let words = text.split(separator: " ").map(String.init)
            if words.first == "collected" {
                collected = Int(words[1])
                continue
            }
            guard words.count == 3, let line = Int(words[0]), let size = Int(words[1]), let blocks = Int(words[2]) else {
                XCTFail("unexpected tracemalloc line: \(text)")
                continue
            }
            if collected == nil { lines[line] = LineDiff(size: size, count: blocks) } else { afterCollect[line] = LineDiff(size: size, count: blocks) }
        }
        return (lines, collected, afterCollect)
    }

    /// `diff --group-by lineno` between two snapshots: lines of the fixture's
    /// work, not of its main(), whose reading of commands tracemalloc's run has not.
    private func lines(_ old: String, _ new: String) throws -> [Int: LineDiff] {
        let source = try String(contentsOfFile: fixture, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let main = try XCTUnwrap(source.firstIndex { $0.hasPrefix("def main(") }) + 1
        let stats = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["diff", old, new, "--group-by", "lineno", "--limit", "0"]))
        var lines: [Int: LineDiff] = [:]
        for stat in stats {
            let frame = SwiftLeakCLI.frame0(stat)
            guard frame["file"] as? String == fixture, let line = SwiftLeakCLI.int(frame["line"]), line < main else { continue }
            lines[Int(line)] = LineDiff(size: Int(SwiftLeakCLI.int(stat["size_diff"]) ?? 0), count: Int(SwiftLeakCLI.int(stat["count_diff"]) ?? 0))
        }
        return lines
    }

    /// The lines that hold at least 1 % of the change name the same lines on
    /// both sides, with sizes within 10 % and counts within 5 %.
    private func assertSameLines(_ ours: [Int: LineDiff], _ theirs: [Int: LineDiff], _ what: String,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        func significant(_ lines: [Int: LineDiff]) -> Set<Int> {
            let total = lines.values.map { abs($0.size) }.reduce(0, +)
            return Set(lines.filter { abs($0.value.size) * 100 >= total }.keys)
        }
        XCTAssertFalse(theirs.isEmpty, "tracemalloc saw nothing (\(what))", file: file, line: line)
        XCTAssertEqual(significant(ours), significant(theirs), "\(what): swiftleak \(ours), tracemalloc \(theirs)", file: file, line: line)
        for number in significant(theirs) {
            let expected = theirs[number]!, got = ours[number] ?? LineDiff(size: 0, count: 0)
            XCTAssertLessThanOrEqual(abs(got.size - expected.size) * 10, abs(expected.size),
                                     "\(what), line \(number): swiftleak \(got), tracemalloc \(expected)", file: file, line: line)
            XCTAssertLessThanOrEqual(abs(got.count - expected.count) * 20, abs(expected.count),
                                     "\(what), line \(number): swiftleak \(got), tracemalloc \(expected)", file: file, line: line)
        }
    }

    /// Sends one command and waits for its "done" line.
    private func command(_ target: ChildProcess, _ text: String) throws {
        let previous = target.stdout.split(separator: "\n").count
        target.send(text)
        try target.waitForLine(containing: "done \(text)", after: previous, timeout: 60)
    }
}
