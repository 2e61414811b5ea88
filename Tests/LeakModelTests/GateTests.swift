import XCTest
import LeakModel

final class GateTests: XCTestCase {
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
        XCTAssertEqual(failed.violations, [.peak(bytes: UInt64(61.2 * 1048576), limit: 50 << 20)])
    }

    func testGrowthGate() {
        let gate = MemoryGate(maxGrowthBytes: 1 << 20)
        let baseline = snapshot(current: 10 << 20, peak: 10 << 20, sequence: 1)
        XCTAssertTrue(gate.evaluate(final: snapshot(current: 11 << 20, peak: 12 << 20), baseline: baseline).passed)
        // Shrinking is never a violation.
        XCTAssertTrue(gate.evaluate(final: snapshot(current: 1 << 20, peak: 12 << 20), baseline: baseline).passed)
        let failed = gate.evaluate(final: snapshot(current: 13 << 20, peak: 13 << 20), baseline: baseline)
        XCTAssertEqual(failed.violations, [.growth(bytes: 3 << 20, sinceSequence: 1, limit: 1 << 20)])
        // Without a baseline everything live counts as growth.
        XCTAssertEqual(gate.evaluate(final: snapshot(current: 2 << 20, peak: 2 << 20), baseline: nil).violations,
                       [.growth(bytes: 2 << 20, sinceSequence: nil, limit: 1 << 20)])
    }

    func testBothGatesAndNoGates() {
        let both = MemoryGate(maxPeakBytes: 1000, maxGrowthBytes: 10)
        let result = both.evaluate(final: snapshot(current: 2000, peak: 3000), baseline: snapshot(current: 0, peak: 0, sequence: 1))
        XCTAssertEqual(result.violations.count, 2)
        XCTAssertTrue(MemoryGate().evaluate(final: snapshot(current: .max, peak: .max), baseline: nil).passed)
    }
}
