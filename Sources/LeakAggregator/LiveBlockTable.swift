/// What the aggregator remembers of one live block.
public struct LiveBlock: Equatable, Sendable {
    public var size: UInt64
    /// Dense index of the block's stack in the aggregator.
    public var stackIndex: UInt32
    /// When the block was seen, in deciseconds since the aggregator started.
    public var birth: UInt32
}

/// Address -> live block, open addressing with linear probing.
///
/// Why not Dictionary: this table sees two operations per malloc+free pair of
/// the target, millions per second; Swift's seeded SipHash and generic storage
/// cost several times more than a multiplicative hash over flat arrays.
/// Address 0 marks an empty slot (no allocator returns 0 for a live block).
/// Deletion shifts later entries back, so no tombstones accumulate and the
/// table's memory follows the live set only.
struct LiveBlockTable {
    private var keys: [UInt64]
    private var values: [LiveBlock]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 16) {
        var size = 16
        while size < capacity { size <<= 1 }
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: LiveBlock(size: 0, stackIndex: 0, birth: 0), count: size)
        mask = size - 1
    }

    @inline(__always)
    private func home(_ address: UInt64) -> Int {
        // Fibonacci hashing: the high bits of the product mix all address bits,
        // so 16-byte-aligned addresses still spread.
        Int(truncatingIfNeeded: (address &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    func find(_ address: UInt64) -> LiveBlock? {
        var slot = home(address)
        while true {
            let key = keys[slot]
            if key == address { return values[slot] }
            if key == 0 { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Inserts or replaces; returns the block that was there before, if any.
    @discardableResult
    mutating func insert(_ address: UInt64, _ block: LiveBlock) -> LiveBlock? {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        var slot = home(address)
        while true {
            let key = keys[slot]
            if key == address {
                let old = values[slot]
                values[slot] = block
                return old
            }
            if key == 0 {
                keys[slot] = address
                values[slot] = block
                count += 1
                return nil
            }
            slot = (slot + 1) & mask
        }
    }

    /// Removes and returns the block at `address`, if known.
    mutating func remove(_ address: UInt64) -> LiveBlock? {
        var slot = home(address)
        while true {
            let key = keys[slot]
            if key == 0 { return nil }
            if key == address { break }
            slot = (slot + 1) & mask
        }
        let removed = values[slot]
        // Backward-shift deletion: move up any later entry whose home is at or
        // before the hole, so lookups never stop early at it.
        var hole = slot
        var next = (hole + 1) & mask
        while keys[next] != 0 {
            let wanted = home(keys[next])
            let distanceToNext = (next - wanted) & mask
            let distanceToHole = (hole - wanted) & mask
            if distanceToHole < distanceToNext || wanted == hole {
                keys[hole] = keys[next]
                values[hole] = values[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        keys[hole] = 0
        count -= 1
        if keys.count > 1 << 16 && count * 8 < keys.count { shrink() }
        return removed
    }

    func forEach(_ body: (UInt64, LiveBlock) -> Void) {
        for slot in 0..<keys.count where keys[slot] != 0 {
            body(keys[slot], values[slot])
        }
    }

    private mutating func grow() { rehash(to: keys.count * 2) }
    private mutating func shrink() { rehash(to: keys.count / 2) }

    private mutating func rehash(to size: Int) {
        let oldKeys = keys
        let oldValues = values
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: LiveBlock(size: 0, stackIndex: 0, birth: 0), count: size)
        mask = size - 1
        count = 0
        for slot in 0..<oldKeys.count where oldKeys[slot] != 0 {
            insert(oldKeys[slot], oldValues[slot])
        }
    }
}
