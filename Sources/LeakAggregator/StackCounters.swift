/// The integer counters of every interned stack, in one flat buffer indexed
/// like `Aggregator.stacks`.
///
/// Every allocation and every free writes one stack's counters: in an Array
/// of `StackTotals` each write checked the array's uniqueness and bounds and
/// strode over the stack's return addresses and estimates. Here a write is
/// a pointer and an add. Not thread-safe; the aggregator serialises access.
final class StackCounters {
    /// What was allocated and freed; live is the difference, so an event
    /// writes two counters, not four.
    struct Counts {
        var allocatedBlocks: UInt64 = 0
        var allocatedBytes: UInt64 = 0
        var freedBlocks: UInt64 = 0
        var freedBytes: UInt64 = 0

        var liveBlocks: UInt64 { allocatedBlocks &- freedBlocks }
        var liveBytes: UInt64 { allocatedBytes &- freedBytes }
    }

    private(set) var base: UnsafeMutablePointer<Counts>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Counters for one more stack, all zero.
    func append() {
        if count == capacity {
            let grown = UnsafeMutablePointer<Counts>.allocate(capacity: capacity * 2)
            grown.moveInitialize(from: base, count: count)
            base.deallocate()
            base = grown
            capacity *= 2
        }
        (base + count).initialize(to: Counts())
        count += 1
    }

    subscript(index: Int) -> Counts {
        precondition(index >= 0 && index < count, "stack index out of range")
        return base[index]
    }
}
