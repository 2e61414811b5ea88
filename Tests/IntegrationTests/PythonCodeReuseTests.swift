import Foundation
import XCTest

/// A code object freed and another born at its address
/// (Tests/Fixtures/py_code_reuse.py): the second one's allocations must
/// carry its own file and line, not those of the first one read from that
/// address (the reading cached by address alone did that: CPython hands a
/// freed code object's block to the next object of its size).
final class PythonCodeReuseTests: XCTestCase {
    static let second = 2000

    func testASecondCodeObjectAtAFreedOnesAddressKeepsItsOwnLinesUnderCPython311() throws { try secondKeepsItsLines(try pyenv("3.11")) }
    func testASecondCodeObjectAtAFreedOnesAddressKeepsItsOwnLinesUnderCPython312() throws { try secondKeepsItsLines(try pyenv("3.12")) }
    func testASecondCodeObjectAtAFreedOnesAddressKeepsItsOwnLinesUnderCPython313() throws { try secondKeepsItsLines(try pyenv("3.13")) }

    private func secondKeepsItsLines(_ python: String) throws {
        try TestEnvironment.requireBuilt()
        let fixture = TestEnvironment.packageRoot + "/Tests/Fixtures/py_code_reuse.py"
        let session = try startRunSession(python, [fixture])
        let first = try XCTUnwrap(session.stdout.split(separator: "\n").first { $0.hasPrefix("ready first ") }?.split(separator: " ").last)
        // Snapshot 1 reads the first code object while it lives.
        try snapshotRunSession(session, total: 1)
        session.send("second")
        let answer = try session.waitForLine(containing: "second", timeout: 60)
        XCTAssertEqual(answer, "second \(first)", "the second code object took the first one's block")
        let paths = try snapshotRunSession(session, total: 2)
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0, session.stderr)

        let lines = try SwiftLeakCLI.diff(paths[0], paths[1], groupBy: "lineno")
        func group(_ file: String, _ line: Int64) -> [String: Any]? {
            lines.first { SwiftLeakCLI.frame0($0)["file"] as? String == file && SwiftLeakCLI.int(SwiftLeakCLI.frame0($0)["line"]) == line }
        }
        // The kept strings: bytes(100 + i % 7), a 33-byte header and the text.
        var strings: Int64 = 0
        for i in 0..<Self.second { strings += Int64(33 + 100 + i % 7) }
        let mine = try XCTUnwrap(group("second_code.py", 4), "no group at second_code.py:4 in \(lines.prefix(5))")
        let count = try XCTUnwrap(SwiftLeakCLI.int(mine["count_diff"]))
        // The list that keeps them grows on that line too: a few blocks more.
        XCTAssertTrue((Int64(Self.second)...Int64(Self.second + 20)).contains(count), "count at second_code.py:4: \(mine)")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(SwiftLeakCLI.int(mine["size_diff"])), strings, "\(mine)")
        // What still lands at the first's line: only entries of the second
        // whose instruction offset the first also had (an entry is the code
        // object's address and the offset; see the README's Python limits).
        let theirs = group("first_code.py", 3).flatMap { SwiftLeakCLI.int($0["count_diff"]) } ?? 0
        XCTAssertLessThan(theirs, Int64(Self.second / 20), "the second code object's strings went to the first one's line: \(group("first_code.py", 3) ?? [:])")
    }
}
