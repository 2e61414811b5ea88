import Foundation

/// How a sampled snapshot was taken (`--sample-bytes`), and the estimator
/// that turns its samples into figures for the whole heap.
///
/// The agent samples allocations as a Poisson process over allocated bytes
/// with mean `meanBytes` (R): a block of s bytes is sampled with probability
/// p(s) = 1 - exp(-s/R), independently of every other block. Each sampled
/// block therefore stands for 1/p(s) blocks and s/p(s) bytes
/// (Horvitz-Thompson), and the sum of those weights over the sampled blocks
/// of a site is an unbiased estimate of the site's blocks and bytes. A snapshot
/// stores the estimates where an exact one stores counts, so every analysis
/// reads them unchanged; this records that they are estimates.
public struct Sampling: Hashable, Sendable {
    /// Mean bytes between samples (R).
    public var meanBytes: UInt64
    /// Sampled blocks alive at the snapshot: how many observations the live
    /// estimates rest on (few samples, wide error).
    public var sampledLiveBlocks: UInt64

    public init(meanBytes: UInt64, sampledLiveBlocks: UInt64) {
        self.meanBytes = meanBytes
        self.sampledLiveBlocks = sampledLiveBlocks
    }

    /// What one sampled block of `size` bytes stands for: 1/p(s) blocks and
    /// s/p(s) bytes. A block of 0 bytes is never sampled; it weighs nothing.
    public static func weight(size: UInt64, meanBytes: UInt64) -> (blocks: Double, bytes: Double) {
        guard size > 0, meanBytes > 0 else { return (size > 0 ? 1 : 0, Double(size)) }
        // -expm1(-x) is 1 - exp(-x) without cancellation for small blocks.
        let probability = -expm1(-Double(size) / Double(meanBytes))
        return (1 / probability, Double(size) / probability)
    }

    /// An estimate as a snapshot stores it.
    public static func rounded(_ estimate: Double) -> UInt64 {
        estimate > 0 ? UInt64(estimate.rounded()) : 0
    }
}

extension Snapshot {
    /// True when the snapshot's figures are estimates from samples.
    public var isEstimated: Bool { sampling != nil }
}
