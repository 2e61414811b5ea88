import Foundation
import XCTest

/// `swiftleak types` on real processes: Swift class instances (optimized
/// build, a generic class among them), C++ polymorphic objects and CPython
/// objects are counted under their type, and counts grow between two
/// snapshots by exactly the objects added.
final class TypesTests: XCTestCase {
    func testSwiftInstancesAreCountedByClassAndGrowByTheObjectsAdded() throws {
        try TestEnvironment.requireBuilt()
        let target = try startTarget(TestEnvironment.fixture("TypedObjects"), [])
        let session = try AttachedSession(target)
        try work(target, 300)
        let (first, firstTypes) = try types(pid: target.pid)
        XCTAssertEqual(firstTypes["TypedObjects.Session"], 300, "\(firstTypes)")
        XCTAssertEqual(firstTypes["TypedObjects.Box"], 300, "\(firstTypes)")
        try work(target, 200)
        let (second, secondTypes) = try types(pid: target.pid)
        XCTAssertEqual(secondTypes["TypedObjects.Session"], 500, "\(secondTypes)")
        XCTAssertEqual(secondTypes["TypedObjects.Box"], 500, "\(secondTypes)")

        // objgraph's show_growth, and the same through diff --group-by type.
        let grown = try growth(first, second)
        XCTAssertEqual(grown["TypedObjects.Session"], 200, "\(grown)")
        XCTAssertEqual(grown["TypedObjects.Box"], 200, "\(grown)")
        let diff = try SwiftLeakCLI.diff(first, second, groupBy: "type")
        XCTAssertEqual(SwiftLeakCLI.int(SwiftLeakCLI.stat(diff, function: "TypedObjects.Session")?["count_diff"]), 200)

        // A snapshot without types says so in one line.
        let plain = try session.snapshot()
        let top = try runToCompletion(TestEnvironment.binary, ["top", plain, "--group-by", "type"])
        XCTAssertNotEqual(top.status, 0)
        XCTAssertEqual(top.stderr, "Error: \(plain) has no block types; write a snapshot with them by `swiftleak types PID` while attached\n")

        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        XCTAssertEqual(target.stdout, "ready\ndone 300\ndone 200\n")
    }

    func testCxxObjectsAreCountedByTheirPolymorphicClass() throws {
        try TestEnvironment.requireBuilt()
        let target = try startTarget(TestEnvironment.fixture("shapes"), [])
        let session = try AttachedSession(target)
        try work(target, 150)
        let (_, counts) = try types(pid: target.pid)
        XCTAssertEqual(counts["shapes::Circle"], 150, "\(counts)")
        XCTAssertEqual(counts["shapes::Square"], 300, "\(counts)")
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
    }

    func testPythonObjectsOfCPython311() throws { try pythonObjectsAreCountedByType("3.11") }
    func testPythonObjectsOfCPython312() throws { try pythonObjectsAreCountedByType("3.12") }
    func testPythonObjectsOfCPython313() throws { try pythonObjectsAreCountedByType("3.13") }

    // MARK: -

    /// `swiftleak types PID --format json`: the snapshot's path and blocks per type.
    private func types(pid: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> (String, [String: Int64]) {
        let document = try SwiftLeakCLI.json(["types", "\(pid)", "--limit", "0"], file: file, line: line)
        let path = document["snapshot"] as? String ?? ""
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(document)", file: file, line: line)
        let rows = document["types"] as? [[String: Any]] ?? []
        return (path, Dictionary(uniqueKeysWithValues: rows.map { ($0["type"] as? String ?? "", SwiftLeakCLI.int($0["count"]) ?? 0) }))
    }

    /// `swiftleak types OLD NEW --format json`: blocks added per type.
    private func growth(_ first: String, _ second: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Int64] {
        let document = try SwiftLeakCLI.json(["types", first, second], file: file, line: line)
        let rows = document["types"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["type"] as? String ?? "", SwiftLeakCLI.int($0["count_diff"]) ?? 0) })
    }

    /// With PYTHONMALLOC=malloc every object is a malloc'ed block (pymalloc's
    /// small objects are not seen until the agent wraps Python's allocator):
    /// plain objects (bytes), GC objects (tuple) and instances with a
    /// pre-header before their GC header (Node, 3.11+).
    private func pythonObjectsAreCountedByType(_ minor: String) throws {
        try TestEnvironment.requireBuilt()
        let script = TestEnvironment.packageRoot + "/Tests/Fixtures/py_objects.py"
        let target = try startTarget("/usr/bin/env", ["PYTHONMALLOC=malloc", try pyenv(minor), script])
        let session = try AttachedSession(target)
        try work(target, 40)
        let (first, counts) = try types(pid: target.pid)
        XCTAssertEqual(counts["Node"], 40, "\(counts)")
        XCTAssertGreaterThanOrEqual(counts["bytes"] ?? 0, 40, "\(counts)")
        XCTAssertGreaterThanOrEqual(counts["tuple"] ?? 0, 40, "\(counts)")
        try work(target, 60)
        let (second, _) = try types(pid: target.pid)
        let grown = try growth(first, second)
        XCTAssertEqual(grown["Node"], 60, "\(grown)")
        XCTAssertEqual(grown["bytes"], 60, "\(grown)")
        XCTAssertEqual(grown["tuple"], 60, "\(grown)")
        _ = try session.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
    }
}
