/// Live blocks and bytes of one site by age, in fixed buckets, so "what is
/// still alive after ten minutes" can be answered from a snapshot file
/// without a list of every block.
///
/// Buckets: 0 is younger than `boundsSeconds[0]` (1 s); bucket i (1...n-1)
/// is `[boundsSeconds[i-1], boundsSeconds[i])`; the last is at least
/// `boundsSeconds.last` (1 day) old.
public struct AgeHistogram: Hashable, Sendable {
    /// Bucket boundaries in seconds. Written into no file: the codec stores
    /// bucket counts, and a change here needs a new section tag.
    public static let boundsSeconds: [UInt64] = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 21600, 86400]
    /// `boundsSeconds.count + 1`.
    public static var bucketCount: Int { boundsSeconds.count + 1 }

    /// Live blocks per bucket.
    public var blocks: [UInt64]
    /// Live bytes per bucket.
    public var bytes: [UInt64]

    /// An empty histogram with every bucket present.
    public init() {
        blocks = Array(repeating: 0, count: Self.bucketCount)
        bytes = Array(repeating: 0, count: Self.bucketCount)
    }

    /// The bucket an age falls in; negative ages and NaN (clock steps) count as new.
    public static func bucket(ageSeconds: Double) -> Int {
        guard ageSeconds > 0 else { return 0 }  // also false for NaN
        var index = 0
        while index < boundsSeconds.count, ageSeconds >= Double(boundsSeconds[index]) { index += 1 }
        return index
    }

    /// The youngest age bucket `index` holds, in seconds.
    public static func lowerBound(ofBucket index: Int) -> UInt64 {
        index <= 0 ? 0 : boundsSeconds[min(index, boundsSeconds.count) - 1]
    }

    /// Counts one live block of `size` bytes that is `ageSeconds` old.
    public mutating func add(ageSeconds: Double, size: UInt64) {
        let i = Self.bucket(ageSeconds: ageSeconds)
        blocks[i] &+= 1
        bytes[i] &+= size
    }

    /// Blocks and bytes at least `seconds` old. Exact when `seconds` is 0 or
    /// one of `boundsSeconds`; otherwise the threshold is rounded UP to the
    /// next bound (only buckets whose lower bound is >= `seconds` count), so
    /// the answer never includes a block younger than asked for.
    public func olderThan(seconds: Double) -> (blocks: UInt64, bytes: UInt64) {
        var total: (blocks: UInt64, bytes: UInt64) = (0, 0)
        for i in 0..<min(blocks.count, bytes.count) where Double(Self.lowerBound(ofBucket: i)) >= seconds {
            total.blocks &+= blocks[i]
            total.bytes &+= bytes[i]
        }
        return total
    }
}
