import XCTest
import LeakModel

final class GateTests: XCTestCase {
    func testByteSizes() throws {
        XCTAssertEqual(try ByteSize.parse("123"), 123)
        XCTAssertEqual(try ByteSize.parse("123B"), 123)
        XCTAssertEqual(try ByteSize.parse("512KiB"), 512 * 1024)
        XCTAssertEqual(try ByteSize.parse("1MiB"), 1 << 20)
        XCTAssertEqual(try ByteSize.parse("50MiB"), 50 << 20)
        XCTAssertEqual(try ByteSize.parse("50mib"), 50 << 20)
        XCTAssertEqual(try ByteSize.parse("2GiB"), 2 << 30)
        XCTAssertEqual(try ByteSize.parse("100MB"), 100_000_000)
        XCTAssertEqual(try ByteSize.parse("100mb"), 100_000_000)
        XCTAssertEqual(try ByteSize.parse("1kb"), 1000)
        XCTAssertEqual(try ByteSize.parse("64M"), 64 << 20)
        XCTAssertEqual(try ByteSize.parse(" 10 MiB "), 10 << 20)
        XCTAssertEqual(try ByteSize.parse("1.5KiB"), 1536)
        for bad in ["", "MiB", "-5MiB", "5 XB", "1.2.3MiB", "99999999999999999999", "20000000TiB", "5MiBs"] {
            XCTAssertThrowsError(try ByteSize.parse(bad), bad) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains("'\(bad)'"), text)
                XCTAssertFalse(text.contains("\n"))
            }
        }
    }

    func testHumanSizes() {
        XCTAssertEqual(ByteSize.human(0), "0 B")
        XCTAssertEqual(ByteSize.human(1536), "1.5 KiB")
        XCTAssertEqual(ByteSize.human(50 << 20), "50.0 MiB")
        XCTAssertEqual(ByteSize.human(1_048_575), "1.0 MiB")
    }

    func testDurations() throws {
        XCTAssertEqual(try DurationText.parse("30s"), 30)
        XCTAssertEqual(try DurationText.parse("10m"), 600)
        XCTAssertEqual(try DurationText.parse("2h"), 7200)
        XCTAssertEqual(try DurationText.parse("1d"), 86400)
        XCTAssertEqual(try DurationText.parse("500ms"), 0.5)
        XCTAssertEqual(try DurationText.parse("1.5H"), 5400)
        XCTAssertEqual(try DurationText.parse("90 S"), 90)
        for bad in ["", "10", "s", "5w", "-1s", "1.5.2s", "10 minutes"] {
            XCTAssertThrowsError(try DurationText.parse(bad), bad) { error in
                XCTAssertTrue(String(describing: error).contains("'\(bad)'"))
            }
        }
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

    private func snapshot(current: UInt64, peak: UInt64, sequence: UInt32 = 2) -> Snapshot {
        var s = makeSnapshot([], sequence: sequence)
        s.metadata.currentBytes = current
        s.metadata.peakBytes = peak
        return s
    }

    func testPeakGate() {
        let gate = MemoryGate(maxPeakBytes: 50 << 20)
        XCTAssertTrue(gate.evaluate(final: snapshot(current: 1, peak: 50 << 20), baseline: nil).passed)
        let failed = gate.evaluate(final: snapshot(current: 1, peak: UInt64(61.2 * 1048576)), baseline: nil)
        XCTAssertFalse(failed.passed)
        XCTAssertEqual(failed.violations, ["peak 61.2 MiB exceeds --max-peak 50.0 MiB"])
    }

    func testGrowthGate() {
        let gate = MemoryGate(maxGrowthBytes: 1 << 20)
        let baseline = snapshot(current: 10 << 20, peak: 10 << 20, sequence: 1)
        XCTAssertTrue(gate.evaluate(final: snapshot(current: 11 << 20, peak: 12 << 20), baseline: baseline).passed)
        // Shrinking is never a violation.
        XCTAssertTrue(gate.evaluate(final: snapshot(current: 1 << 20, peak: 12 << 20), baseline: baseline).passed)
        let failed = gate.evaluate(final: snapshot(current: 13 << 20, peak: 13 << 20), baseline: baseline)
        XCTAssertEqual(failed.violations, ["growth 3.0 MiB since snapshot 1 exceeds --max-growth 1.0 MiB"])
        // Without a baseline everything live counts as growth.
        XCTAssertEqual(gate.evaluate(final: snapshot(current: 2 << 20, peak: 2 << 20), baseline: nil).violations,
                       ["growth 2.0 MiB since tracing started exceeds --max-growth 1.0 MiB"])
    }

    func testBothGatesAndNoGates() {
        let both = MemoryGate(maxPeakBytes: 1000, maxGrowthBytes: 10)
        let result = both.evaluate(final: snapshot(current: 2000, peak: 3000), baseline: snapshot(current: 0, peak: 0, sequence: 1))
        XCTAssertEqual(result.violations.count, 2)
        XCTAssertTrue(MemoryGate().evaluate(final: snapshot(current: .max, peak: .max), baseline: nil).passed)
    }
}
