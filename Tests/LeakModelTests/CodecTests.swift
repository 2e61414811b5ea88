import XCTest
import LeakModel

final class CodecTests: XCTestCase {
    /// Wraps a hand-made body in a valid header, so tests can forge content
    /// that passes the checksum and reaches the section decoders.
    private func file(body: [UInt8], version: UInt32 = SnapshotCodec.currentVersion) -> [UInt8] {
        var w = BinaryWriter()
        w.writeBytes(SnapshotCodec.magic)
        w.writeUInt32(version)
        w.writeUInt32(UInt32(SnapshotCodec.headerSize))
        w.writeUInt64(UInt64(body.count))
        w.writeUInt32(CRC32.checksum(body))
        w.writeBytes(body)
        return w.bytes
    }

    private func body(of bytes: [UInt8]) -> [UInt8] { Array(bytes[SnapshotCodec.headerSize...]) }

    private func section(_ tag: UInt32, _ payload: [UInt8]) -> [UInt8] {
        var w = BinaryWriter()
        w.writeUInt32(tag)
        w.writeUInt64(UInt64(payload.count))
        w.writeBytes(payload)
        return w.bytes
    }

    /// The encoded sections of `snapshot` as (tag, payload), in file order.
    private func sections(of snapshot: Snapshot) throws -> [(UInt32, [UInt8])] {
        let b = body(of: SnapshotCodec.encode(snapshot))
        var r = BinaryReader(b)
        var result: [(UInt32, [UInt8])] = []
        while !r.isAtEnd {
            let tag = try r.readUInt32()
            let length = try r.readUInt64()
            result.append((tag, Array(try r.readBytes(Int(length)))))
        }
        return result
    }

    private func assertError(_ bytes: [UInt8], _ expected: SnapshotFormatError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SnapshotCodec.decode(bytes), file: file, line: line) { error in
            XCTAssertEqual(error as? SnapshotFormatError, expected, file: file, line: line)
        }
    }

    private func assertCorrupt(_ bytes: [UInt8], mentioning needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SnapshotCodec.decode(bytes), file: file, line: line) { error in
            guard case let .corrupt(detail)? = error as? SnapshotFormatError else {
                return XCTFail("expected corrupt, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(detail.contains(needle), "\(detail) lacks \(needle)", file: file, line: line)
        }
    }

    func testRoundTrip() throws {
        var snapshot = fixture
        snapshot.metadata.pid = -3  // zigzag path
        snapshot.metadata.mode = .attach
        snapshot.metadata.isFinal = true
        snapshot.metadata.lostEvents = UInt64.max
        snapshot.metadata.command = ["caf\u{e9}", "", "a\nb"]
        snapshot.frames.append(Frame(function: "", file: nil, line: UInt32.max, module: nil, address: UInt64.max))
        snapshot.stacks.append([])
        snapshot.stacks.append([snapshot.frames.count - 1])
        let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(snapshot))
        XCTAssertEqual(decoded, snapshot)
        XCTAssertEqual(decoded.frames.count, 11)
        XCTAssertEqual(decoded.sites.map(\.size), [1000, 500, 300, 200, 64, 32])
    }

    func testEmptySnapshotRoundTrips() throws {
        let empty = makeSnapshot([])
        XCTAssertEqual(try SnapshotCodec.decode(SnapshotCodec.encode(empty)), empty)
    }

    func testEncodingIsDeterministicAndDeduplicatesStrings() {
        let bytes = SnapshotCodec.encode(fixture)
        XCTAssertEqual(bytes, SnapshotCodec.encode(fixture))
        XCTAssertEqual(Array(bytes[0..<8]), Array("SWLKSNAP".utf8))
        // "/app/server" appears in six frames and the command but is stored
        // once in the string table and once in the metadata.
        let needle = Array("/app/server".utf8)
        let occurrences = (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<$0 + needle.count]) == needle }
        XCTAssertEqual(occurrences.count, 2)
    }

    func testEmptyFile() {
        assertError([], .empty)
        XCTAssertEqual(SnapshotFormatError.empty.description, "empty file; pass a snapshot written by swiftleak")
    }

    func testBadMagic() {
        var bytes = SnapshotCodec.encode(fixture)
        bytes[0] = UInt8(ascii: "X")
        assertError(bytes, .badMagic)
        assertError(Array("hello".utf8), .badMagic)
        assertError(Array("{\"snapshot\": 1}".utf8) + [UInt8](repeating: 0, count: 40), .badMagic)
        XCTAssertEqual(SnapshotFormatError.badMagic.description,
                       "not a swiftleak snapshot (bad magic); pass a file written by swiftleak")
    }

    func testNewerVersion() {
        var bytes = file(body: body(of: SnapshotCodec.encode(fixture)), version: 7)
        assertError(bytes, .newerVersion(found: 7, supported: 1))
        // Even a newer file cut inside its header says "upgrade", not "truncated".
        bytes = Array(bytes[0..<14])
        assertError(bytes, .newerVersion(found: 7, supported: 1))
        XCTAssertEqual(SnapshotFormatError.newerVersion(found: 7, supported: 1).description,
                       "snapshot version 7 is newer than this swiftleak understands (1); upgrade swiftleak")
    }

    func testVersionZeroIsCorrupt() {
        assertCorrupt(file(body: [], version: 0), mentioning: "version 0")
    }

    func testTruncatedAtEveryCutPoint() {
        let bytes = SnapshotCodec.encode(fixture)
        let total = UInt64(bytes.count)
        for cut in 1..<bytes.count {
            let expected: SnapshotFormatError = cut < SnapshotCodec.headerSize
                ? .truncated(expected: UInt64(SnapshotCodec.headerSize), found: UInt64(cut))
                : .truncated(expected: total, found: UInt64(cut))
            assertError(Array(bytes[0..<cut]), expected)
        }
        XCTAssertEqual(SnapshotFormatError.truncated(expected: 100, found: 40).description,
                       "snapshot is truncated (expected 100 bytes, found 40); the file was cut short")
    }

    func testFlippedBodyByteIsChecksumError() {
        let bytes = SnapshotCodec.encode(fixture)
        for position in stride(from: SnapshotCodec.headerSize, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[position] ^= 0x10
            XCTAssertThrowsError(try SnapshotCodec.decode(damaged)) { error in
                guard case .checksumMismatch? = error as? SnapshotFormatError else {
                    return XCTFail("byte \(position): expected checksum mismatch, got \(error)")
                }
                XCTAssertTrue("\(error)".hasPrefix("snapshot is corrupt (checksum mismatch)"))
            }
        }
    }

    func testTrailingBytesAreCorrupt() {
        assertCorrupt(SnapshotCodec.encode(fixture) + [0, 0], mentioning: "2 unexpected bytes")
    }

    func testUnknownSectionIsSkipped() throws {
        let original = body(of: SnapshotCodec.encode(fixture))
        // Before, between and after the known sections.
        let extra = section(0xABCD, [1, 2, 3, 4, 5])
        let parts = try sections(of: fixture)
        let middle = parts.prefix(2).flatMap { section($0.0, $0.1) } + extra + parts.dropFirst(2).flatMap { section($0.0, $0.1) }
        for forged in [extra + original, middle, original + extra + section(99, [])] {
            XCTAssertEqual(try SnapshotCodec.decode(file(body: forged)), fixture)
        }
    }

    func testSectionsMayComeInAnyOrder() throws {
        let reversed = try sections(of: fixture).reversed().flatMap { section($0.0, $0.1) }
        XCTAssertEqual(try SnapshotCodec.decode(file(body: reversed)), fixture)
    }

    func testMissingAndDuplicateSections() throws {
        let parts = try sections(of: fixture)
        let withoutFrames = parts.filter { $0.0 != 3 }.flatMap { section($0.0, $0.1) }
        assertCorrupt(file(body: withoutFrames), mentioning: "missing frames section")
        let doubled = parts.flatMap { section($0.0, $0.1) } + section(parts[0].0, parts[0].1)
        assertCorrupt(file(body: doubled), mentioning: "duplicate metadata section")
    }

    func testSectionLongerThanBody() {
        var w = BinaryWriter()
        w.writeUInt32(2)
        w.writeUInt64(1 << 40)
        assertCorrupt(file(body: w.bytes + [0, 0]), mentioning: "claims 1099511627776 bytes")
        assertCorrupt(file(body: [1, 0, 0]), mentioning: "section header cut short")
    }

    /// Replaces one section's payload and re-frames the file with a valid CRC.
    private func replacing(_ tag: UInt32, with payload: [UInt8]) throws -> [UInt8] {
        file(body: try sections(of: fixture).flatMap { section($0.0, $0.0 == tag ? payload : $0.1) })
    }

    func testHugeCountsAreRejectedBeforeAllocating() throws {
        var w = BinaryWriter()
        w.writeVarint(1 << 60)  // a string count no file could hold
        assertCorrupt(try replacing(2, with: w.bytes), mentioning: "string count out of range")
        w = BinaryWriter()
        w.writeVarint(1)
        w.writeVarint(UInt64(Int.max))  // a stack depth
        assertCorrupt(try replacing(4, with: w.bytes), mentioning: "stack depth out of range")
        assertCorrupt(try replacing(3, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
                      mentioning: "bad number in the frames section")
    }

    func testIndicesOutOfRange() throws {
        var w = BinaryWriter()
        w.writeVarint(1)
        w.writeVarint(1)
        w.writeVarint(UInt64(fixture.frames.count))  // one past the end
        assertCorrupt(try replacing(4, with: w.bytes), mentioning: "frame index out of range")

        w = BinaryWriter()
        w.writeVarint(1)
        for value: UInt64 in [99, 0, 0, 0, 0] { w.writeVarint(value) }  // function ref 99 of 12 strings
        assertCorrupt(try replacing(3, with: w.bytes), mentioning: "function name reference out of range")

        w = BinaryWriter()
        w.writeVarint(1)
        for value: UInt64 in [UInt64(fixture.stacks.count), 1, 1] { w.writeVarint(value) }
        assertCorrupt(try replacing(5, with: w.bytes), mentioning: "stack index out of range")

        w = BinaryWriter()
        w.writeVarint(2)
        for value: UInt64 in [0, 1, 1, 0, 1, 1] { w.writeVarint(value) }
        assertCorrupt(try replacing(5, with: w.bytes), mentioning: "duplicate stack index")
    }

    func testBadStringsAndStrayBytes() throws {
        var w = BinaryWriter()
        w.writeVarint(1)
        w.writeVarint(2)
        w.writeBytes([0xC3, 0x28])  // invalid UTF-8
        assertCorrupt(try replacing(2, with: w.bytes), mentioning: "invalid UTF-8 in the string table")

        let sites = try sections(of: fixture).first { $0.0 == 5 }!.1
        assertCorrupt(try replacing(5, with: sites + [0]), mentioning: "1 stray bytes at the end of the sites section")
        assertCorrupt(try replacing(5, with: Array(sites.dropLast())), mentioning: "sites section ends early")
    }

    /// A metadata payload written field by field, to plant one bad value.
    private func metadataPayload(pid: Int64 = 1, mode: UInt8 = 0, final: UInt8 = 0) -> [UInt8] {
        var w = BinaryWriter()
        w.writeSignedVarint(pid)
        w.writeVarint(1)
        w.writeString("prog")
        w.writeUInt64(10)
        w.writeUInt64(5)
        w.writeUInt8(mode)
        w.writeVarint(64)
        w.writeVarint(1)
        w.writeUInt8(final)
        for _ in 0..<8 { w.writeVarint(3) }
        return w.bytes
    }

    func testBadMetadataValues() throws {
        let good = try SnapshotCodec.decode(try replacing(1, with: metadataPayload()))
        XCTAssertEqual(good.metadata.command, ["prog"])
        XCTAssertEqual(good.metadata.lostEvents, 3)
        assertCorrupt(try replacing(1, with: metadataPayload(pid: Int64(Int32.max) + 1)), mentioning: "pid out of range")
        assertCorrupt(try replacing(1, with: metadataPayload(mode: 2)), mentioning: "mode out of range")
        assertCorrupt(try replacing(1, with: metadataPayload(final: 5)), mentioning: "final flag out of range")
    }

    /// Random damage with the checksum fixed up so it reaches the section
    /// decoders: decode must throw or succeed, never crash or hang.
    func testRandomDamageNeverCrashes() {
        let original = body(of: SnapshotCodec.encode(fixture))
        var generator = SplitMix(seed: 42)
        var failures = 0
        for _ in 0..<3000 {
            var damaged = original
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let position = Int(generator.next() % UInt64(damaged.count))
                damaged[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            if generator.next() % 4 == 0 {
                damaged = Array(damaged.prefix(Int(generator.next() % UInt64(damaged.count))))
            }
            do {
                _ = try SnapshotCodec.decode(file(body: damaged))
            } catch is SnapshotFormatError {
                failures += 1
            } catch {
                XCTFail("unexpected error type \(error)")
            }
        }
        XCTAssertGreaterThan(failures, 1000)
    }

    func testCRC32KnownValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
    }
}

/// Deterministic pseudo-random numbers for the damage test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
