import XCTest
import LeakModel
@testable import LeakReport

final class FormatTests: XCTestCase {
    func testHumanSizes() {
        XCTAssertEqual(SizeFormat.human(0), "0 B")
        XCTAssertEqual(SizeFormat.human(1023), "1023 B")
        XCTAssertEqual(SizeFormat.human(1024), "1.0 KiB")
        XCTAssertEqual(SizeFormat.human(1536), "1.5 KiB")
        XCTAssertEqual(SizeFormat.human(1_048_575), "1.0 MiB")  // not "1024.0 KiB"
        XCTAssertEqual(SizeFormat.human(10 * 1_048_576 + 104_858), "10.1 MiB")
        XCTAssertEqual(SizeFormat.human(5 << 30), "5.0 GiB")
        XCTAssertEqual(SizeFormat.human(3 << 40), "3.0 TiB")
        XCTAssertEqual(SizeFormat.human(UInt64.max), "16.0 EiB")
    }

    func testSignedSizes() {
        XCTAssertEqual(SizeFormat.human(signed: 0), "+0 B")
        XCTAssertEqual(SizeFormat.human(signed: 2048), "+2.0 KiB")
        XCTAssertEqual(SizeFormat.human(signed: -512), "-512 B")
        XCTAssertEqual(SizeFormat.human(signed: Int64.min), "-8.0 EiB")
    }

    func testTimes() {
        XCTAssertEqual(TimeFormat.iso8601(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(TimeFormat.iso8601(1_714_564_800_123_999_999), "2024-05-01T12:00:00.123Z")
        XCTAssertEqual(TimeFormat.iso8601(951_782_400 * 1_000_000_000), "2000-02-29T00:00:00.000Z")
        XCTAssertEqual(TimeFormat.iso8601(1_709_251_199 * 1_000_000_000), "2024-02-29T23:59:59.000Z")
        XCTAssertEqual(TimeFormat.readable(1_704_067_199 * 1_000_000_000), "2023-12-31 23:59:59 UTC")
        // Snapshot file names: milliseconds truncated, like the other layouts.
        XCTAssertEqual(TimeFormat.compact(1_763_903_101_042_999_999), "20251123T130501.042Z")
        XCTAssertEqual(TimeFormat.compact(0), "19700101T000000.000Z")
    }

    func testHumanDurations() {
        XCTAssertEqual(DurationText.human(seconds: 0), "0s")
        XCTAssertEqual(DurationText.human(seconds: 0.25), "250ms")
        XCTAssertEqual(DurationText.human(seconds: 3.7), "3s")
        XCTAssertEqual(DurationText.human(seconds: 59.9), "59s")
        XCTAssertEqual(DurationText.human(seconds: 12 * 60 + 5), "12m")
        XCTAssertEqual(DurationText.human(seconds: 2 * 3600 + 59 * 60), "2h")
        XCTAssertEqual(DurationText.human(seconds: 3 * 86400), "3d")
        XCTAssertEqual(DurationText.human(seconds: .nan), "0s")
    }

    func testCommandQuoting() {
        XCTAssertEqual(FrameText.command(["./a.out", "--x=1", "two words", "it's", ""]), "./a.out --x=1 'two words' 'it'\\''s' ''")
    }

    func testFrameDescriptions() {
        XCTAssertEqual(FrameText.describe(F.cache10), "/src/Cache.swift:10 makeCache")
        XCTAssertEqual(FrameText.describe(F.inflate), "inflate at 0x8000 in libz.so.1")
        XCTAssertEqual(FrameText.describe(F.anonymous), "0x8100 in libz.so.1")
        XCTAssertEqual(FrameText.describe(Frame(address: 0xdead)), "0xdead")
        XCTAssertEqual(FrameText.describe(Frame(file: "/x.c", line: 3, address: 1)), "/x.c:3")
    }
}
