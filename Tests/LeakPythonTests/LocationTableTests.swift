import XCTest
@testable import LeakPython

/// The location table decoder: hand-built tables in the documented format,
/// and tables CPython itself wrote, checked code unit by code unit against
/// what that CPython's `co_positions()` says.
final class LocationTableTests: XCTestCase {
    /// Comprehensions, a try, a multi-line return: every entry form appears.
    static let program = #"""
    import json, sys
    def f(a):
        x = [i
             for i in range(a)]
        if a > 3:
            try:
                y = {k: v for k, v in zip(x, x)}
            except Exception:
                y = None
        return (x,
                y)
    c = f.__code__
    json.dump({"first": c.co_firstlineno, "table": list(c.co_linetable),
               "lines": [p[0] for p in c.co_positions()]}, sys.stdout)
    """#

    func testTablesWrittenByEachCPythonHere() throws {
        let pyenv = "/root/.pyenv/versions"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: pyenv)) ?? []
        var interpreters = ["/usr/bin/python3.11"]
        for minor in ["3.11", "3.12", "3.13"] {
            let version = try XCTUnwrap(versions.filter { $0.hasPrefix(minor + ".") }.sorted().last, "no CPython \(minor) under \(pyenv)")
            interpreters.append("\(pyenv)/\(version)/bin/python3")
        }
        for python in interpreters {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-c", Self.program]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, python)
            let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], python)
            let table = try XCTUnwrap(answer["table"] as? [Int]).map(UInt8.init)
            let first = try XCTUnwrap(answer["first"] as? Int)
            let expected = try XCTUnwrap(answer["lines"] as? [Any]).map { $0 as? Int }
            let decoded = expected.indices.map { LocationTable.line(table: table, firstLine: first, lastInstruction: $0) }
            XCTAssertEqual(decoded, expected, python)
        }
    }

    func testShortOneLineLongAndNoLocationForms() {
        // first line 10: a short form over 2 units (line 10), a one-line form
        // +1 over 1 unit (11), a no-column form -3 over 3 units (8), a long
        // form +20 over 1 unit (28), then no location over 1 unit.
        let table: [UInt8] = [
            0x80 | (0 << 3) | 1, 0x05,
            0x80 | (11 << 3) | 0, 0x01, 0x02,
            0x80 | (13 << 3) | 2, 0x07,
            0x80 | (14 << 3) | 0, 0x28, 0x00, 0x01, 0x02,
            0x80 | (15 << 3) | 0,
        ]
        let lines = (-1..<9).map { LocationTable.line(table: table, firstLine: 10, lastInstruction: $0) }
        XCTAssertEqual(lines, [10, 10, 10, 11, 8, 8, 8, 28, nil, nil])
    }

    func testVarintsSpanSeveralBytes() {
        // +100 as a signed varint: 200 = 0b11_001000 -> 0x48 (more), 0x03.
        let table: [UInt8] = [0x80 | (13 << 3) | 0, 0x48, 0x03]
        XCTAssertEqual(LocationTable.line(table: table, firstLine: 1, lastInstruction: 0), 101)
    }
}
