import Foundation
import XCTest

/// Bad snapshot files: one line that says what is wrong, a non-zero exit, never a crash dump.
final class SnapshotFileErrorTests: XCTestCase {
    private func assertOneLineError(_ bytes: [UInt8], mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = try TestEnvironment.temporaryDirectory()
        let path = directory + "/bad.swleak"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        for command in [["top", path], ["diff", path, path]] {
            let result = try runCommand(TestEnvironment.binary, command)
            XCTAssertNotEqual(result.status, 0, file: file, line: line)
            XCTAssertEqual(result.stdout, "", file: file, line: line)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "expected one line, got: \(result.stderr)", file: file, line: line)
            XCTAssertFalse(result.stderr.contains("Fatal error"), file: file, line: line)
            XCTAssertTrue(words.contains { result.stderr.lowercased().contains($0) }, "\(result.stderr) mentions none of \(words)", file: file, line: line)
        }
    }

    private func realSnapshot() throws -> [UInt8] {
        try TestEnvironment.requireBuilt()
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "batch", "10", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let path = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testEmptyFile() throws {
        try TestEnvironment.requireBuilt()
        try assertOneLineError([], mentions: ["empty"])
    }

    func testNotASnapshot() throws {
        try TestEnvironment.requireBuilt()
        try assertOneLineError(Array("hello, this is a text file\n".utf8), mentions: ["not a swiftleak snapshot", "magic"])
    }

    func testTruncatedSnapshots() throws {
        let good = try realSnapshot()
        for cut in [4, 12, good.count / 2, good.count - 1] {
            try assertOneLineError(Array(good.prefix(cut)), mentions: ["truncated", "cut short", "corrupt"])
        }
    }

    func testCorruptSnapshot() throws {
        var bytes = try realSnapshot()
        bytes[bytes.count - 3] ^= 0xFF
        try assertOneLineError(bytes, mentions: ["corrupt", "checksum"])
    }

    func testNewerVersion() throws {
        var bytes = try realSnapshot()
        bytes[8] = 0x7F  // the format version follows the 8-byte magic
        try assertOneLineError(bytes, mentions: ["version", "upgrade"])
    }

    func testMissingFile() throws {
        try TestEnvironment.requireBuilt()
        let result = try runCommand(TestEnvironment.binary, ["top", "/nonexistent/snapshot.swleak"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }
}
