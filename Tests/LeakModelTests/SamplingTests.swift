import Foundation
import XCTest
import LeakModel
import LeakTestSupport

/// The sampled mode's estimator and its snapshot section (14).
final class SamplingTests: XCTestCase {
    func testWeightsAreTheInverseOfTheSamplingProbability() {
        let r: UInt64 = 65536
        // s = R: p = 1 - 1/e.
        let one = Sampling.weight(size: r, meanBytes: r)
        XCTAssertEqual(one.blocks, 1 / (1 - exp(-1)), accuracy: 1e-12)
        XCTAssertEqual(one.bytes, Double(r) / (1 - exp(-1)), accuracy: 1e-6)
        // A block far smaller than R stands for about R/s blocks and R bytes.
        let small = Sampling.weight(size: 16, meanBytes: r)
        XCTAssertEqual(small.blocks, 4096.5, accuracy: 0.01)
        XCTAssertEqual(small.bytes, 65544, accuracy: 0.2)
        // A block far larger than R is always sampled: it stands for itself.
        let large = Sampling.weight(size: 64 * r, meanBytes: r)
        XCTAssertEqual(large.blocks, 1, accuracy: 1e-12)
        XCTAssertEqual(large.bytes, Double(64 * r), accuracy: 1e-6)
        // A block of 0 bytes is never sampled.
        XCTAssertEqual(Sampling.weight(size: 0, meanBytes: r).blocks, 0)
    }

    /// Blocks kept with p(s) = 1 - exp(-s/R), as the agent keeps them, and
    /// weighed: the sums land on the truth (a fixed seed, so the test is
    /// the same every run). Standard errors at 200,000 blocks: about 0.4%
    /// for bytes, 5% for blocks (a 16-byte sample stands for 4,096 blocks).
    func testWeightedSamplesEstimateTheTrueTotals() {
        var random = SplitMix(seed: 42)
        let r: UInt64 = 65536
        var trueBytes = 0.0, trueBlocks = 0.0, estimatedBytes = 0.0, estimatedBlocks = 0.0
        for _ in 0..<200_000 {
            let size = UInt64(exp(log(16.0) + random.unit() * (log(262_144.0) - log(16.0))))
            trueBytes += Double(size)
            trueBlocks += 1
            if random.unit() < -expm1(-Double(size) / Double(r)) {
                let w = Sampling.weight(size: size, meanBytes: r)
                estimatedBytes += w.bytes
                estimatedBlocks += w.blocks
            }
        }
        XCTAssertEqual(estimatedBytes / trueBytes, 1, accuracy: 0.02)
        XCTAssertEqual(estimatedBlocks / trueBlocks, 1, accuracy: 0.15)
    }

    func testSamplingSectionRoundTripsAndExactSnapshotsHaveNone() throws {
        var snapshot = makeSnapshot(fixtureTraces)
        let exact = SnapshotCodec.encode(snapshot)
        XCTAssertNil(try SnapshotCodec.decode(exact).sampling)
        XCTAssertFalse(try SnapshotCodec.decode(exact).isEstimated)
        snapshot.sampling = Sampling(meanBytes: 524_288, sampledLiveBlocks: 300)
        let sampled = SnapshotCodec.encode(snapshot)
        let decoded = try SnapshotCodec.decode(sampled)
        XCTAssertEqual(decoded, snapshot)
        XCTAssertTrue(decoded.isEstimated)
        // 12 bytes of section header; 524288 and 300 as varints (3 and 2 bytes).
        XCTAssertEqual(sampled.count, exact.count + 12 + 3 + 2)
    }

    func testFilesFromBeforeSampledModeReadAsExact() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: ReferenceSnapshotTests.path)))
        XCTAssertNil(try SnapshotCodec.decode(bytes).sampling)
    }

    func testARateOfZeroIsRejectedInOneLine() throws {
        var snapshot = makeSnapshot(fixtureTraces)
        snapshot.sampling = Sampling(meanBytes: 0, sampledLiveBlocks: 1)
        XCTAssertThrowsError(try SnapshotCodec.decode(SnapshotCodec.encode(snapshot))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("sampling rate out of range in the sampling section"), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }
}

extension SplitMix {
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992 }
}
