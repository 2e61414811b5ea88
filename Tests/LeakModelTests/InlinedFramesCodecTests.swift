@testable import LeakModel
import XCTest

/// The optional "inlined frames" section: inline levels are ordinary frames
/// and stacks, the section only marks them, so older readers still read
/// every level.
final class InlinedFramesCodecTests: XCTestCase {
    /// make_name and remember inlined into handle, at one return address.
    private let inlined: Snapshot = {
        let address: UInt64 = 0x5555_0000_1299
        let levels = [
            Frame(function: "make_name", file: "app.cpp", line: 5, module: "/app", address: address, isInlined: true),
            Frame(function: "remember", file: "app.cpp", line: 6, module: "/app", address: address, isInlined: true),
            Frame(function: "handle(int)", file: "app.cpp", line: 7, module: "/app", address: address),
            Frame(function: "main", file: "app.cpp", line: 8, module: "/app", address: 0x5555_0000_1400),
        ]
        return makeSnapshot([(levels, 493_200, 5000), (Array(levels[1...]), 64, 1)])
    }()

    func testInlinedLevelsRoundTrip() throws {
        let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(inlined))
        XCTAssertEqual(decoded, inlined)
        XCTAssertEqual(decoded.frames.map(\.isInlined), [true, true, false, false])
    }

    func testNoSectionWithoutInlinedFrames() throws {
        XCTAssertNil(try sections(of: fixture)[.inlinedFrames])
        XCTAssertNotNil(try sections(of: inlined)[.inlinedFrames])
    }

    /// What a reader that predates the section sees: every level, unmarked.
    func testReaderWithoutTheSectionSeesEveryLevelUnmarked() throws {
        var unmarked = inlined
        for index in unmarked.frames.indices { unmarked.frames[index].isInlined = false }
        XCTAssertEqual(try SnapshotCodec.decode(rewritten(inlined, payload: nil)), unmarked)
    }

    func testBadIndicesAreCorrupt() throws {
        var w = BinaryWriter()
        w.writeVarint(1)
        w.writeVarint(UInt64(inlined.frames.count))  // one past the end
        assertCorrupt(try rewritten(inlined, payload: w.bytes), mentioning: "inlined frame index out of range")
        w = BinaryWriter()
        w.writeVarint(2)
        w.writeVarint(UInt64(inlined.frames.count - 1))  // the last frame, then one past it
        w.writeVarint(0)
        assertCorrupt(try rewritten(inlined, payload: w.bytes), mentioning: "inlined frame index out of range")
        assertCorrupt(try rewritten(inlined, payload: [1, 0, 0]), mentioning: "stray bytes at the end of the inlined frames section")
    }

    private func sections(of snapshot: Snapshot) throws -> [SnapshotCodec.Tag: Range<Int>] {
        let bytes = SnapshotCodec.encode(snapshot)
        return try SnapshotCodec.readSections(bytes, body: try SnapshotCodec.checkHeader(bytes))
    }

    /// `snapshot`'s file with the inlined frames section's payload replaced
    /// (nil: the section left out), framed with a valid header.
    private func rewritten(_ snapshot: Snapshot, payload: [UInt8]?) throws -> [UInt8] {
        let bytes = SnapshotCodec.encode(snapshot)
        var body = BinaryWriter()
        for (tag, range) in try sections(of: snapshot).sorted(by: { $0.value.lowerBound < $1.value.lowerBound }) {
            if tag == .inlinedFrames {
                if let payload { SnapshotCodec.appendSection(tag, payload, to: &body) }
            } else {
                SnapshotCodec.appendSection(tag, Array(bytes[range]), to: &body)
            }
        }
        var file = BinaryWriter()
        file.writeBytes(Array(bytes[..<(SnapshotCodec.headerSize - 12)]))
        file.writeUInt64(UInt64(body.count))
        file.writeUInt32(CRC32.checksum(body.bytes))
        file.writeBytes(body.bytes)
        return file.bytes
    }

    private func assertCorrupt(_ bytes: [UInt8], mentioning needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SnapshotCodec.decode(bytes), file: file, line: line) { error in
            guard case let .corrupt(detail)? = error as? SnapshotFormatError else {
                return XCTFail("expected corrupt, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(detail.contains(needle), "\(detail) lacks \(needle)", file: file, line: line)
        }
    }
}
