/// The first words of one live block, as read from the target: all that
/// `BlockTypeNamer` needs to name the block's type.
public struct BlockHead: Equatable, Sendable {
    /// How many bytes of a block are read: 48 reaches a Python object's
    /// `ob_type` behind a GC header and a 3.11+ pre-header (word 5).
    public static let byteCount = 48

    /// The block's address (malloc's result).
    public var address: UInt64
    /// Its first words, little-endian; fewer than six when the block is
    /// smaller or the read stopped short, none when it could not be read.
    public var words: [UInt64]

    public init(address: UInt64, words: [UInt64]) {
        self.address = address
        self.words = words
    }

    /// Word `index`, or nil past what was read.
    public func word(_ index: Int) -> UInt64? {
        index < words.count ? words[index] : nil
    }
}
