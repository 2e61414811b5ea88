/// The first words of one live block, as read from the target: all that
/// `BlockTypeNamer` needs to name the block's type. Stored inline (no
/// array per block): a scan holds a million of them.
public struct BlockHead: Equatable, Sendable {
    /// How many bytes of a block are read: 48 reaches a Python object's
    /// `ob_type` behind a GC header and a 3.11+ pre-header (word 5).
    public static let byteCount = 48
    public static let wordCount = byteCount / 8

    /// The block's address (malloc's result).
    public var address: UInt64
    /// How many words were read: fewer than six when the block is smaller
    /// or the read stopped short, none when it could not be read.
    public private(set) var count = 0
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, w4: UInt64 = 0, w5: UInt64 = 0

    public init(address: UInt64, words: [UInt64]) {
        self.address = address
        for word in words.prefix(Self.wordCount) { append(word) }
    }

    /// Its first words, little-endian.
    public var words: [UInt64] { (0..<count).map { word($0)! } }

    /// Word `index`, or nil past what was read.
    public func word(_ index: Int) -> UInt64? {
        guard index < count else { return nil }
        switch index {
        case 0: return w0
        case 1: return w1
        case 2: return w2
        case 3: return w3
        case 4: return w4
        default: return w5
        }
    }

    /// Adds the next word read (ignored past six).
    mutating func append(_ word: UInt64) {
        switch count {
        case 0: w0 = word
        case 1: w1 = word
        case 2: w2 = word
        case 3: w3 = word
        case 4: w4 = word
        case 5: w5 = word
        default: return
        }
        count += 1
    }
}
