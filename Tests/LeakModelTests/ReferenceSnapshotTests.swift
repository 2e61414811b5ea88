import Foundation
import XCTest
import LeakModel

/// Tests/Fixtures/snapshots/v1-reference.swleak was written once, by `SnapshotCodec.encode`
/// at format version 1 (commit a34267b), from `expected` below, and is never
/// regenerated: whatever the writer becomes, the reader must keep reading
/// files people already have, to exactly these contents. It has every kind
/// of field: a mangled name, a frame with nothing known, sites with ages,
/// with only the oldest age, with only a histogram, and without ages.
final class ReferenceSnapshotTests: XCTestCase {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/snapshots/v1-reference.swleak").path

    func testVersion1FileDecodesToItsKnownContents() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        XCTAssertEqual(Array(bytes.prefix(12)), Array("SWLKSNAP".utf8) + [1, 0, 0, 0], "the magic, then format version 1")
        let snapshot = try SnapshotCodec.decode(bytes)
        XCTAssertEqual(snapshot.metadata, Self.expected.metadata)
        XCTAssertEqual(snapshot.frames, Self.expected.frames)
        XCTAssertEqual(snapshot.stacks, Self.expected.stacks)
        XCTAssertEqual(snapshot.sites, Self.expected.sites)
        XCTAssertEqual(snapshot, Self.expected)
    }

    /// Age buckets as `AgeHistogram` has them: < 1 s, [1, 5), [5, 10), [10, 30),
    /// [30, 60), [60, 300), ... , >= 1 day.
    private static func ages(blocks: [UInt64], bytes: [UInt64]) -> AgeHistogram {
        var histogram = AgeHistogram()
        histogram.blocks = blocks
        histogram.bytes = bytes
        return histogram
    }

    static let expected = Snapshot(
        metadata: SnapshotMetadata(
            pid: 31337, command: ["/srv/checkout", "--region", "eu-west", "caf\u{e9} \u{2615}", ""],
            timeNanoseconds: 1_760_000_000_123_456_789, startNanoseconds: 1_759_999_000_000_000_000,
            mode: .attach, framesDepth: 48, sequence: 3, isFinal: true,
            currentBytes: 48_299, currentBlocks: 30, peakBytes: 65_536, peakBlocks: 64,
            allocations: 1000, frees: 970, unknownFrees: 12, lostEvents: 2),
        frames: [
            Frame(function: "malloc", module: "/usr/lib/swiftleak/libswiftleak-agent.so", address: 0x7F00_0000_1000),
            Frame(function: "$s8Checkout7SessionC6recordyyF", file: "/src/Checkout/Session.swift", line: 42,
                  module: "/srv/checkout", address: 0x55_0000_4242),
            Frame(function: "main", file: "/src/Checkout/main.swift", line: 7, module: "/srv/checkout", address: 0x55_0000_1007),
            Frame(function: "cache_put", file: "/src/cache.c", line: 88, module: "/usr/lib/libcache.so.2", address: 0x7F10_0000_2088),
            Frame(function: "_Znwm", module: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", address: 0x7F20_0000_0100),
            Frame(address: 0xDEAD_BEEF),
        ],
        stacks: [[0, 1, 2], [0, 3, 2], [0, 4, 5, 2], [0, 5]],
        sites: [
            Site(stack: 0, size: 40_010, count: 10, oldestAgeSeconds: 125.5,
                 ages: ages(blocks: [0, 0, 0, 0, 4, 6, 0, 0, 0, 0, 0, 0],
                            bytes: [0, 0, 0, 0, 16_004, 24_006, 0, 0, 0, 0, 0, 0])),
            Site(stack: 1, size: 8192, count: 16, oldestAgeSeconds: 0.25),
            Site(stack: 2, size: 96, count: 3,
                 ages: ages(blocks: [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], bytes: [96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
            Site(stack: 3, size: 1, count: 1),
        ])
}
