/// Stack id -> the aggregator's dense stack index: open addressing with
/// linear probing over one flat buffer, insert and find only.
///
/// Why not Dictionary: with Python frames in the stacks, nearly every
/// allocation names another stack than the one before, so this lookup runs
/// once per event; Swift's seeded SipHash cost the reader thread an eighth
/// of its time there. Stack ids are the agent's arena offsets, sparse and
/// growing, so an array indexed by id would follow the arena, not the stacks.
final class StackIndexTable {
    /// A slot: the id in the high 32 bits, index + 1 in the low ones (0: empty).
    private var slots: UnsafeMutablePointer<UInt64>
    /// A power of two, filled to at most three quarters.
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity { size <<= 1 }
        self.capacity = size
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
    }

    deinit { slots.deallocate() }

    /// Fibonacci hashing: the product's high half mixes every bit of the id.
    @inline(__always)
    private func home(_ id: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(id) &* 0x9E37_79B9_7F4A_7C15) >> 32) & (capacity - 1)
    }

    func find(_ id: UInt32) -> UInt32? {
        var slot = home(id)
        while true {
            let word = slots[slot]
            if word == 0 { return nil }
            if UInt32(truncatingIfNeeded: word >> 32) == id { return UInt32(truncatingIfNeeded: word) &- 1 }
            slot = (slot + 1) & (capacity - 1)
        }
    }

    /// Maps `id` to `index`, replacing what it mapped to before.
    func set(_ id: UInt32, _ index: UInt32) {
        precondition(index < .max, "stack index out of range")
        if (count + 1) * 4 > capacity * 3 { grow() }
        let word = UInt64(id) << 32 | UInt64(index + 1)
        var slot = home(id)
        while true {
            let old = slots[slot]
            if old == 0 {
                slots[slot] = word
                count += 1
                return
            }
            if UInt32(truncatingIfNeeded: old >> 32) == id {
                slots[slot] = word
                return
            }
            slot = (slot + 1) & (capacity - 1)
        }
    }

    private func grow() {
        let old = slots, oldCapacity = capacity
        capacity = oldCapacity * 2
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        for index in 0..<oldCapacity where old[index] != 0 {
            var slot = home(UInt32(truncatingIfNeeded: old[index] >> 32))
            while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = old[index]
        }
        old.deallocate()
    }
}
