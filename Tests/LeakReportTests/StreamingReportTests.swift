import XCTest
import LeakModel
import LeakReport
import LeakTestSupport

/// A stream that keeps every write apart.
private struct RecordingStream: TextOutputStream {
    var writes: [String] = []
    mutating func write(_ string: String) { writes.append(string) }
}

/// `top` and `diff` are written piece by piece, and the pieces are exactly
/// the text the String functions return.
final class StreamingReportTests: XCTestCase {
    /// 2000 distinct stacks of 11 frames over 22 distinct frames (level j
    /// takes one of two frames by bit j of the stack's number).
    private func manyStacks(salt: Int = 0) -> Snapshot {
        let frames = (0..<22).map { Frame(function: "f\($0)", file: "/src/f\($0 % 7).swift", line: UInt32($0 + 1), module: "/app", address: UInt64(0x1000 + $0)) }
        let traces = (0..<2000).map { i in
            (frames: (0..<11).map { j in frames[2 * j + ((i >> j) & 1)] }, size: UInt64(16 + (i + salt) % 64), count: UInt64(1))
        }
        return makeSnapshot(traces)
    }

    func testJSONTopIsWrittenOneFrameAtATime() {
        let snapshot = manyStacks()
        let stats = Statistics.compute(snapshot, groupBy: .traceback)
        var stream = RecordingStream()
        JSONReport.writeTop(snapshot: snapshot, stats: stats, groupBy: .traceback, to: &stream)
        let whole = JSONReport.top(snapshot: snapshot, stats: stats, groupBy: .traceback)
        XCTAssertEqual(stream.writes.joined(), whole)
        // opening; per stat its head with the first frame, each other frame, its close; closing
        XCTAssertEqual(stream.writes.count, stats.reduce(2) { $0 + $1.frames.count + 1 })
        XCTAssertLessThan(stream.writes.map(\.utf8.count).max() ?? 0, whole.utf8.count / 100)
    }

    func testJSONDiffIsWrittenOneFrameAtATime() {
        let new = manyStacks(), old = manyStacks(salt: 3)
        let diffs = Comparison.compute(new: new, old: old, groupBy: .traceback)
        var stream = RecordingStream()
        JSONReport.writeDiff(old: old, new: new, diffs: diffs, groupBy: .traceback, to: &stream)
        XCTAssertEqual(stream.writes.joined(), JSONReport.diff(old: old, new: new, diffs: diffs, groupBy: .traceback))
        XCTAssertEqual(stream.writes.count, diffs.reduce(2) { $0 + $1.frames.count + 1 })
    }

    func testTextTopAndDiffAreWrittenLineByLine() {
        let new = manyStacks(), old = manyStacks(salt: 3)
        let stats = Statistics.compute(new, groupBy: .traceback)
        var top = RecordingStream()
        TextReport.writeTop(snapshot: new, stats: stats, groupBy: .traceback, limit: 1500, to: &top)
        let whole = TextReport.top(snapshot: new, stats: stats, groupBy: .traceback, limit: 1500)
        XCTAssertEqual(top.writes.joined(), whole)
        XCTAssertLessThan(top.writes.map(\.utf8.count).max() ?? 0, 300)

        let diffs = Comparison.compute(new: new, old: old, groupBy: .traceback)
        var diff = RecordingStream()
        TextReport.writeDiff(old: old, new: new, diffs: diffs, groupBy: .traceback, limit: 1500, useColor: true, to: &diff)
        XCTAssertEqual(diff.writes.joined(), TextReport.diff(old: old, new: new, diffs: diffs, groupBy: .traceback, limit: 1500, useColor: true))
        XCTAssertLessThan(diff.writes.map(\.utf8.count).max() ?? 0, 300)
    }
}
