import XCTest
import LeakEvents
@testable import LeakAggregator

/// Sampled mode: the aggregator sums what each sampled block stands for.
final class SampledWeightsTests: XCTestCase {
    func testWeightsFollowTheLiveSetAndTheAllocatedTotals() {
        let aggregator = Aggregator()
        // Any weight function will do here: 10 blocks and 3x the bytes each.
        aggregator.weigh = { size in (10, Double(size) * 3) }
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.alloc(address: 0xA0, size: 100, stack: 1))
        aggregator.apply(.alloc(address: 0xB0, size: 50, stack: 1))
        aggregator.apply(.free(address: 0xA0))
        aggregator.apply(.free(address: 0xFFFF))   // never sampled: ignored

        let stack = aggregator.stacks[0]
        XCTAssertEqual(stack.liveBytes, 50, "the samples themselves are still counted")
        XCTAssertEqual(stack.estimated.liveBlocks, 10)
        XCTAssertEqual(stack.estimated.liveBytes, 150)
        XCTAssertEqual(stack.estimated.allocatedBlocks, 20)
        XCTAssertEqual(stack.estimated.allocatedBytes, 450)
        XCTAssertEqual(aggregator.counters.estimatedBytes, 150)
        XCTAssertEqual(aggregator.counters.estimatedPeakBytes, 450)
        XCTAssertEqual(aggregator.counters.estimatedPeakBlocks, 20)
        aggregator.resetPeak()
        XCTAssertEqual(aggregator.counters.estimatedPeakBytes, 150)
    }

    func testExactModeKeepsNoWeights() {
        let aggregator = Aggregator()
        aggregator.apply(.stack(id: 1, ips: [0x10]))
        aggregator.apply(.alloc(address: 0xA0, size: 100, stack: 1))
        XCTAssertEqual(aggregator.stacks[0].estimated, WeightedTotals())
        XCTAssertEqual(aggregator.counters.estimatedBytes, 0)
    }
}
