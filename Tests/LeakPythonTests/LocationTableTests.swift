import XCTest
@testable import LeakPython

/// The location table decoder against tables CPython itself wrote: the
/// expected lines are what `co_lines()` says for the same code.
final class LocationTableTests: XCTestCase {
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
