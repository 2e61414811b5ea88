/// What the aggregator remembers of one live block.
public struct LiveBlock: Equatable, Sendable {
    public var size: UInt64
    /// Dense index of the block's stack in the aggregator.
    public var stackIndex: UInt32
    /// When the block was seen, in deciseconds since the aggregator started.
    public var birth: UInt32
}

/// Address -> live block: 64 open-addressing segments with linear probing.
///
/// Why not Dictionary: this table sees two operations per malloc+free pair of
/// the target, millions per second; Swift's seeded SipHash and generic storage
/// cost several times more than a multiplicative hash over flat arrays.
/// Address 0 marks an empty slot (no allocator returns 0 for a live block).
/// Deletion shifts later entries back, so no tombstones accumulate.
///
/// Memory follows the live set closely: a slot is 20 bytes (address, size
/// and birth packed in one word, stack index), segments are filled up to
/// 80% and grow by a quarter, so a live block costs 25-31 bytes; and since
/// each segment grows on its own, a growth copies 1/64 of the table, never
/// the whole of it at once.
///
/// Raw buffers, not Arrays: every Array write checks that its buffer is not
/// shared, and a class per segment would be retained and released around
/// each call; the table writes several slots per event. So the table is a
/// class that owns its segments' memory.
final class LiveBlockTable {
    private let segments: UnsafeMutablePointer<LiveBlockSegment>

    /// Summed over the segments when asked (rarely): a second count kept
    /// here would cost every event a write.
    var count: Int {
        (0..<Self.segmentCount).reduce(0) { $0 + segments[$1].count }
    }

    private static let segmentBits = 6
    private static let segmentCount = 1 << segmentBits

    /// Starts small (64 slots a segment by default): a live set of a few
    /// thousand blocks then stays in the CPU's caches.
    init(capacity: Int = 1 << 12) {
        let perSegment = max(16, capacity >> Self.segmentBits)
        segments = .allocate(capacity: Self.segmentCount)
        for index in 0..<Self.segmentCount {
            (segments + index).initialize(to: LiveBlockSegment(capacity: perSegment))
        }
    }

    deinit {
        for index in 0..<Self.segmentCount { segments[index].deallocateBuffers() }
        segments.deinitialize(count: Self.segmentCount)
        segments.deallocate()
    }

    /// Fibonacci hashing: the high bits of the product mix all address bits,
    /// so 16-byte-aligned addresses still spread. The top bits pick the
    /// segment, the next ones the slot in it.
    @inline(__always)
    private static func hash(_ address: UInt64) -> (segment: Int, rest: UInt64) {
        let product = address &* 0x9E37_79B9_7F4A_7C15
        return (Int(truncatingIfNeeded: product >> UInt64(64 - segmentBits)), product << UInt64(segmentBits))
    }

    func find(_ address: UInt64) -> LiveBlock? {
        let (segment, rest) = Self.hash(address)
        return segments[segment].find(address, hash: rest)
    }

    /// Inserts or replaces; returns the block that was there before, if any.
    /// (Inlined, as `remove` is, into the aggregator's event loop: a call
    /// per event cost more than the probe.)
    @discardableResult
    @inline(__always)
    func insert(_ address: UInt64, _ block: LiveBlock) -> LiveBlock? {
        let (segment, rest) = Self.hash(address)
        return segments[segment].insert(address, hash: rest, block)
    }

    /// Removes and returns the block at `address`, if known.
    @inline(__always)
    func remove(_ address: UInt64) -> LiveBlock? {
        let (segment, rest) = Self.hash(address)
        return segments[segment].remove(address, hash: rest)
    }

    /// The block at `address`, if known, now belongs to the stack index
    /// `stackIndex()` gives (asked only then) and was born at `birth`; its
    /// size stays. Returns the block as it was: one probe where a free and
    /// an allocation again would take two and a shift.
    @inline(__always)
    func retag(_ address: UInt64, birth: UInt32, stackIndex: () -> UInt32) -> LiveBlock? {
        let (segment, rest) = Self.hash(address)
        return segments[segment].retag(address, hash: rest, birth: birth, stackIndex: stackIndex)
    }

    func forEach(_ body: (UInt64, LiveBlock) -> Void) {
        for index in 0..<Self.segmentCount { segments[index].forEach(body) }
    }
}

/// One segment of `LiveBlockTable`: any capacity (the slot is the hash
/// scaled to it, Lemire's multiply-shift), three parallel buffers that the
/// table frees (`deallocateBuffers`).
struct LiveBlockSegment {
    private var keys: UnsafeMutablePointer<UInt64>
    /// Low 32 bits the size (`UInt32.max`: the size is in `largeSizes`),
    /// high 32 bits the birth.
    private var sizeAndBirth: UnsafeMutablePointer<UInt64>
    private var stackIndexes: UnsafeMutablePointer<UInt32>
    private var capacity: Int
    /// The counts at which the segment grows and shrinks, kept with the
    /// capacity so each event compares once instead of multiplying.
    private var growAt = 0
    private var shrinkBelow = 0
    /// Sizes of 4 GiB and more, by address: rare enough for a Dictionary.
    private var largeSizes: [UInt64: UInt64] = [:]
    private let minimumCapacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        minimumCapacity = capacity
        self.capacity = capacity
        (keys, sizeAndBirth, stackIndexes) = Self.buffers(capacity)
        setLimits()
    }

    /// Grow past 80% full, by a quarter; shrink under 20% full, by half,
    /// never under the initial capacity.
    private mutating func setLimits() {
        growAt = capacity * 4 / 5
        shrinkBelow = capacity > minimumCapacity ? (capacity + 4) / 5 : 0
    }

    func deallocateBuffers() {
        keys.deallocate()
        sizeAndBirth.deallocate()
        stackIndexes.deallocate()
    }

    private static func buffers(_ capacity: Int) -> (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt32>) {
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        keys.initialize(repeating: 0, count: capacity)
        let packed = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        packed.initialize(repeating: 0, count: capacity)
        let stacks = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        stacks.initialize(repeating: 0, count: capacity)
        return (keys, packed, stacks)
    }

    @inline(__always)
    private func home(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(truncatingIfNeeded: capacity)).high)
    }

    @inline(__always)
    private func home(ofKey address: UInt64) -> Int {
        home((address &* 0x9E37_79B9_7F4A_7C15) << 6)
    }

    @inline(__always)
    private func after(_ slot: Int) -> Int {
        slot &+ 1 == capacity ? 0 : slot &+ 1
    }

    /// Probe distance from `from` forward to `to`, around the end.
    @inline(__always)
    private func distance(_ from: Int, _ to: Int) -> Int {
        to >= from ? to &- from : to &+ capacity &- from
    }

    @inline(__always)
    private func block(at slot: Int) -> LiveBlock {
        let packed = sizeAndBirth[slot]
        let small = UInt32(truncatingIfNeeded: packed)
        let size = small == .max ? largeSizes[keys[slot]] ?? 0 : UInt64(small)
        return LiveBlock(size: size, stackIndex: stackIndexes[slot], birth: UInt32(truncatingIfNeeded: packed >> 32))
    }

    @inline(__always)
    private mutating func store(_ block: LiveBlock, at slot: Int, address: UInt64) {
        let small: UInt32
        if block.size >= UInt64(UInt32.max) {
            small = .max
            largeSizes[address] = block.size
        } else {
            small = UInt32(block.size)
        }
        sizeAndBirth[slot] = UInt64(small) | UInt64(block.birth) << 32
        stackIndexes[slot] = block.stackIndex
    }

    /// The slot holding `address`, or nil.
    @inline(__always)
    private func slot(of address: UInt64, hash: UInt64) -> Int? {
        var slot = home(hash)
        while true {
            let key = keys[slot]
            if key == address { return slot }
            if key == 0 { return nil }
            slot = after(slot)
        }
    }

    func find(_ address: UInt64, hash: UInt64) -> LiveBlock? {
        slot(of: address, hash: hash).map(block(at:))
    }

    @inline(__always)
    mutating func insert(_ address: UInt64, hash: UInt64, _ block: LiveBlock) -> LiveBlock? {
        if count >= growAt {
            rehash(to: capacity + max(16, capacity / 4))
        }
        var slot = home(hash)
        while true {
            let key = keys[slot]
            if key == address {
                let old = self.block(at: slot)
                if old.size >= UInt64(UInt32.max) { largeSizes[address] = nil }
                store(block, at: slot, address: address)
                return old
            }
            if key == 0 {
                keys[slot] = address
                store(block, at: slot, address: address)
                count &+= 1
                return nil
            }
            slot = after(slot)
        }
    }

    @inline(__always)
    mutating func remove(_ address: UInt64, hash: UInt64) -> LiveBlock? {
        var slot = home(hash)
        while true {
            let key = keys[slot]
            if key == 0 { return nil }
            if key == address { break }
            slot = after(slot)
        }
        let removed = block(at: slot)
        if removed.size >= UInt64(UInt32.max) { largeSizes[address] = nil }
        // Backward-shift deletion: move up any later entry whose home is at or
        // before the hole, so lookups never stop early at it. That is an
        // entry as far from its home as `gap`, the hole's distance behind it.
        var hole = slot
        var next = after(hole)
        var gap = 1
        while keys[next] != 0 {
            if distance(home(ofKey: keys[next]), next) >= gap {
                keys[hole] = keys[next]
                sizeAndBirth[hole] = sizeAndBirth[next]
                stackIndexes[hole] = stackIndexes[next]
                hole = next
                gap = 0
            }
            next = after(next)
            gap &+= 1
        }
        keys[hole] = 0
        count &-= 1
        if count < shrinkBelow {
            rehash(to: max(minimumCapacity, capacity / 2))
        }
        return removed
    }

    @inline(__always)
    mutating func retag(_ address: UInt64, hash: UInt64, birth: UInt32, stackIndex: () -> UInt32) -> LiveBlock? {
        guard let slot = slot(of: address, hash: hash) else { return nil }
        let old = block(at: slot)
        // The size's half (or its large-size marker) stays as it is.
        sizeAndBirth[slot] = sizeAndBirth[slot] & 0xFFFF_FFFF | UInt64(birth) << 32
        stackIndexes[slot] = stackIndex()
        return old
    }

    func forEach(_ body: (UInt64, LiveBlock) -> Void) {
        for slot in 0..<capacity where keys[slot] != 0 {
            body(keys[slot], block(at: slot))
        }
    }

    @inline(never)
    private mutating func rehash(to size: Int) {
        let (oldKeys, oldPacked, oldStacks, oldCapacity) = (keys, sizeAndBirth, stackIndexes, capacity)
        (keys, sizeAndBirth, stackIndexes) = Self.buffers(size)
        capacity = size
        setLimits()
        // Sizes in largeSizes stay where they are: keyed by address.
        for old in 0..<oldCapacity where oldKeys[old] != 0 {
            var slot = home(ofKey: oldKeys[old])
            while keys[slot] != 0 { slot = after(slot) }
            keys[slot] = oldKeys[old]
            sizeAndBirth[slot] = oldPacked[old]
            stackIndexes[slot] = oldStacks[old]
        }
        oldKeys.deallocate()
        oldPacked.deallocate()
        oldStacks.deallocate()
    }
}
