import Foundation
import XCTest

/// Python frames in CPython targets: the seed's leak (a module-level dict
/// keeping bytes(1024) per request) attached to after warm-up, and run from
/// the start, must land on the line tracemalloc names for the same program,
/// with one block per request; a ctypes call's native leak lands under the
/// Python line that made it.
final class PythonTests: XCTestCase {
    static let requests = 1000
    static let nativeCalls = 40
    static let settle = 200
    static let threadRequests = 300

    func testAttachToCPython311() throws { try attachFindsTracemallocsLine(try pyenv("3.11")) }
    func testAttachToCPython312() throws { try attachFindsTracemallocsLine(try pyenv("3.12")) }
    func testAttachToCPython313() throws { try attachFindsTracemallocsLine(try pyenv("3.13")) }
    /// Debian's python3.11: the interpreter is in a non-PIE, stripped executable.
    func testAttachToDebianPython3() throws { try attachFindsTracemallocsLine(try installed("/usr/bin/python3.11")) }

    func testRunUnderCPython311() throws { try runFindsTracemallocsLine(try pyenv("3.11")) }
    func testRunUnderCPython312() throws { try runFindsTracemallocsLine(try pyenv("3.12")) }
    func testRunUnderCPython313() throws { try runFindsTracemallocsLine(try pyenv("3.13")) }
    func testRunUnderDebianPython3() throws { try runFindsTracemallocsLine(try installed("/usr/bin/python3.11")) }

    /// A version whose layout is not known: native frames, a note, no harm.
    func testAttachToCPython310KeepsNativeFramesWithANote() throws {
        try TestEnvironment.requireBuilt()
        let target = try startTarget(try pyenv("3.10"), [fixture])
        let session = try AttachedSession(target)
        try session.process.waitForLine(containing: "runs CPython 3.10: its stacks show the interpreter's native frames", onStderr: true, timeout: 10)
        try work(target, Self.settle)
        let before = try session.snapshot()
        try work(target, Self.requests)
        let after = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone \(Self.settle)\ndone \(Self.requests)\n")
        let traces = try SwiftLeakCLI.diff(before, after, groupBy: "traceback")
        let modules = traces.flatMap { ($0["traceback"] as? [[String: Any]] ?? []).map { $0["module"] as? String } }
        XCTAssertFalse(modules.contains("python"), "\(traces.prefix(2))")
        let grown = traces.map { SwiftLeakCLI.int($0["count_diff"]) ?? 0 }.reduce(0, +)
        XCTAssertGreaterThanOrEqual(grown, Int64(Self.requests))
    }

    // MARK: -

    private var fixture: String { TestEnvironment.packageRoot + "/Tests/Fixtures/py_cache.py" }

    private func attachFindsTracemallocsLine(_ python: String) throws {
        try TestEnvironment.requireBuilt()
        let expected = try tracemallocAnswer(python)
        let target = try startTarget(python, [fixture])
        let session = try AttachedSession(target)
        // Blocks from before the attach are unknown: one round first, so the
        // dict's table is a block swiftleak saw allocated and its later
        // resizes (free old, allocate new) change the count by nothing.
        try work(target, Self.settle)
        let before = try session.snapshot()
        try work(target, Self.requests)
        try leakNatively(target)
        let after = try session.snapshot()
        try serveOnAThread(target)
        let threaded = try session.snapshot()
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone \(Self.settle)\ndone \(Self.requests)\ndone native \(Self.nativeCalls)\ndone thread \(Self.threadRequests)\n", "the interpreter's output is its own")
        try checkDiff(before, after, expected: expected)

        // Another thread's allocations carry that thread's own Python frames.
        let traces = try SwiftLeakCLI.diff(after, threaded, groupBy: "traceback")
        let leak = try XCTUnwrap(traces.first { SwiftLeakCLI.function($0) == "handle_request" }, "\(traces.prefix(2))")
        XCTAssertEqual(SwiftLeakCLI.int(leak["count_diff"]), Int64(Self.threadRequests))
        let functions = (leak["traceback"] as? [[String: Any]] ?? []).map { $0["function"] as? String ?? "?" }
        XCTAssertEqual(Array(functions.prefix(3)), ["handle_request", "serve", "Thread.run"], "\(functions)")
        XCTAssertFalse(functions.contains("main"), "the main thread's frames are not this thread's: \(functions)")
    }

    private func serveOnAThread(_ target: ChildProcess) throws {
        let previous = target.stdout.split(separator: "\n").count
        target.send("thread \(Self.threadRequests)")
        try target.waitForLine(containing: "done thread \(Self.threadRequests)", after: previous, timeout: 30)
    }

    private func runFindsTracemallocsLine(_ python: String) throws {
        try TestEnvironment.requireBuilt()
        let expected = try tracemallocAnswer(python)
        let session = try startRunSession(python, [fixture])
        try snapshotRunSession(session, total: 1)
        try work(session, Self.requests)
        try leakNatively(session)
        let paths = try snapshotRunSession(session, total: 2)
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0, session.stderr)
        XCTAssertEqual(session.stdout, "ready\ndone \(Self.requests)\ndone native \(Self.nativeCalls)\n")
        try checkDiff(paths[0], paths[1], expected: expected)
    }

    private func leakNatively(_ target: ChildProcess) throws {
        let previous = target.stdout.split(separator: "\n").count
        target.send("native \(Self.nativeCalls)")
        try target.waitForLine(containing: "done native \(Self.nativeCalls)", after: previous, timeout: 30)
    }

    private func checkDiff(_ before: String, _ after: String, expected: (file: String, line: Int, count: Int)) throws {
        XCTAssertEqual(expected.count, Self.requests, "tracemalloc's own count")
        let stats = try SwiftLeakCLI.diff(before, after, groupBy: "lineno")
        let top = try XCTUnwrap(stats.first, "no stats")
        let frame = SwiftLeakCLI.frame0(top)
        XCTAssertEqual(frame["file"] as? String, expected.file, "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(frame["line"]), Int64(expected.line), "\(stats.prefix(3))")
        XCTAssertEqual(frame["function"] as? String, "handle_request")
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), Int64(Self.requests), "\(top)")

        let nativeLine = try sourceLine(containing: "_LIBC.strdup(_TEXT)")
        // The line holds the strdup'ed strings and the Python ints ctypes returned for them.
        let native = stats.first { SwiftLeakCLI.int(SwiftLeakCLI.frame0($0)["line"]) == Int64(nativeLine) }
        XCTAssertGreaterThanOrEqual(SwiftLeakCLI.int(native?["count_diff"]) ?? 0, Int64(2 * Self.nativeCalls), "\(stats.prefix(4))")
        XCTAssertGreaterThan(SwiftLeakCLI.int(native?["size_diff"]) ?? 0, Int64(Self.nativeCalls * 3001))

        // The whole Python traceback of the leak, innermost first, the allocator folded away.
        let traces = try SwiftLeakCLI.diff(before, after, groupBy: "traceback")
        // ctypes' native leak (tracemalloc cannot see it) under the Python line that called it.
        let strdup = try XCTUnwrap(traces.first { SwiftLeakCLI.int($0["size_diff"]) == Int64(Self.nativeCalls * 3001) }, "\(traces.prefix(4))")
        XCTAssertEqual(SwiftLeakCLI.int(strdup["count_diff"]), Int64(Self.nativeCalls))
        let strdupLines = (strdup["traceback"] as? [[String: Any]] ?? []).filter { $0["function"] as? String == "native_request" }.map { SwiftLeakCLI.int($0["line"]) }
        XCTAssertEqual(strdupLines, [Int64(nativeLine)], "\(strdup)")
        let leak = try XCTUnwrap(traces.first { SwiftLeakCLI.function($0) == "handle_request" }, "\(traces.prefix(2))")
        let functions = (leak["traceback"] as? [[String: Any]] ?? []).prefix(4).map { $0["function"] as? String ?? "?" }
        XCTAssertEqual(functions, ["handle_request", "serve", "main", "<module>"])

        // --raw keeps CPython's machinery above the Python line.
        let raw = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["diff", before, after, "--group-by", "traceback", "--raw"]))
        let rawLeak = try XCTUnwrap(raw.first { stat in
            (stat["traceback"] as? [[String: Any]] ?? []).contains { $0["function"] as? String == "handle_request" }
        })
        let rawFunctions = (rawLeak["traceback"] as? [[String: Any]] ?? []).map { $0["function"] as? String ?? "?" }
        let python = try XCTUnwrap(rawFunctions.firstIndex(of: "handle_request"))
        XCTAssertGreaterThan(python, 1, "\(rawFunctions)")
        XCTAssertTrue(rawFunctions[..<python].contains { $0.hasPrefix("_PyObject_") || $0.hasPrefix("PyObject_") }, "\(rawFunctions)")
    }

    /// What tracemalloc itself says about the same program: "FILE:LINE COUNT".
    private func tracemallocAnswer(_ python: String) throws -> (file: String, line: Int, count: Int) {
        let result = try runCommand(python, [fixture, "--tracemalloc", "\(Self.requests)"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let words = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard words.count == 2, let colon = words[0].lastIndex(of: ":"),
              let line = Int(words[0][words[0].index(after: colon)...]), let count = Int(words[1]) else {
            XCTFail("unexpected tracemalloc answer: \(result.stdout)")
            throw CancellationError()
        }
        return (String(words[0][..<colon]), line, count)
    }

    private func sourceLine(containing text: String) throws -> Int {
        let source = try String(contentsOfFile: fixture, encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        return try XCTUnwrap(lines.firstIndex { $0.contains(text) }) + 1
    }

}

/// Interpreters for tests of CPython targets (PythonTests, TypesTests).
extension XCTestCase {
    /// The pyenv interpreter of a minor version; its absence fails the test.
    func pyenv(_ minor: String) throws -> String {
        let root = "/root/.pyenv/versions"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        guard let version = versions.filter({ $0.hasPrefix(minor + ".") && $0.dropFirst(minor.count + 1).allSatisfy(\.isNumber) }).sorted().last else {
            XCTFail("no CPython \(minor) under \(root) (`pyenv install \(minor)`)")
            throw CancellationError()
        }
        return try installed("\(root)/\(version)/bin/python3")
    }

    func installed(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing")
            throw CancellationError()
        }
        return path
    }
}
