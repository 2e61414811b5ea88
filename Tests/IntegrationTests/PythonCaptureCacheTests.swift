import Foundation
import XCTest

/// The capture cache (Sources/Agent/python_capture_cache.c) answers most
/// Python allocations with a stack id it remembered; these are the cases it
/// must still tell apart (Tests/Fixtures/py_twins.py): one allocating line
/// whose frame, instruction and C call site are the same every time, reached
/// from three caller lines, two of which differ only in the caller's line and
/// one also in the C path below the allocating line. Each caller line must
/// get exactly its own strings, with its own native frames under --raw.
final class PythonCaptureCacheTests: XCTestCase {
    static let strings = 3000

    func testCallersAndNativePathsToldApartUnderCPython311() throws { try callersToldApart(try pyenv("3.11")) }
    func testCallersAndNativePathsToldApartUnderCPython312() throws { try callersToldApart(try pyenv("3.12")) }
    func testCallersAndNativePathsToldApartUnderCPython313() throws { try callersToldApart(try pyenv("3.13")) }

    private var fixture: String { TestEnvironment.packageRoot + "/Tests/Fixtures/py_twins.py" }

    private func callersToldApart(_ python: String) throws {
        try TestEnvironment.requireBuilt()
        let session = try startRunSession(python, [fixture])
        try snapshotRunSession(session, total: 1)
        session.send("make \(Self.strings)")
        try session.waitForLine(containing: "done make \(Self.strings)", timeout: 60)
        let paths = try snapshotRunSession(session, total: 2)
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0, session.stderr)

        let makeLine = try sourceLine(containing: "# the allocating line")
        let callers = [("int", "long_to_decimal"), ("float", "float_repr"), ("int again", "long_to_decimal")]
        let traces = try SwiftLeakCLI.diff(paths[0], paths[1], groupBy: "traceback")
        let made = traces.filter { SwiftLeakCLI.function($0) == "make" }
        XCTAssertEqual(made.count, callers.count, "one traceback a caller line: \(made)")
        let raw = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["diff", paths[0], paths[1], "--group-by", "traceback", "--raw"]))
        for (comment, native) in callers {
            let callerLine = Int64(try sourceLine(containing: "# \(comment)\n"))
            let lines: ([String: Any]) -> [Int64?] = { stat in
                (stat["traceback"] as? [[String: Any]] ?? []).filter { ["make", "make_all"].contains($0["function"] as? String) }.map { SwiftLeakCLI.int($0["line"]) }
            }
            let mine = made.filter { lines($0) == [Int64(makeLine), callerLine] }
            XCTAssertEqual(mine.count, 1, "\(comment): \(made)")
            XCTAssertEqual(SwiftLeakCLI.int(mine.first?["count_diff"]), Int64(Self.strings / 3), "\(comment): \(mine)")
            let rawMine = raw.filter { lines($0) == [Int64(makeLine), callerLine] }
            XCTAssertEqual(rawMine.count, 1, "\(comment): \(rawMine)")
            let functions = (rawMine.first?["traceback"] as? [[String: Any]] ?? []).map { $0["function"] as? String ?? "?" }
            XCTAssertTrue(functions.contains { $0.hasPrefix(native) }, "\(comment): \(functions)")
            XCTAssertEqual(SwiftLeakCLI.int(rawMine.first?["count_diff"]), Int64(Self.strings / 3), "\(comment): \(rawMine)")
        }
    }

    /// The 1-based number of the fixture's line ending with `text`.
    private func sourceLine(containing text: String) throws -> Int {
        let source = try String(contentsOfFile: fixture, encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map { $0 + "\n" }
        return try XCTUnwrap(lines.firstIndex { $0.contains(text) }, "no line with \(text)") + 1
    }
}
