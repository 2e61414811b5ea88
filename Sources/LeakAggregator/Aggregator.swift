import LeakEvents

/// The live set of a traced process, rebuilt from its event stream:
/// address -> (size, stack), per-stack live bytes and blocks, totals current
/// and peak, and counters.
///
/// Memory grows with the live set and the number of distinct stacks, never
/// with the number of events: a freed block leaves only its stack's
/// cumulative counts behind.
/// Not thread-safe; the collector serialises access.
public final class Aggregator {
    public private(set) var counters = AggregatorCounters()
    /// Interned stacks in order of arrival, with their counts; `LiveBlock.stackIndex` indexes here.
    public var stacks: [StackTotals] {
        var result = interned
        for index in result.indices {
            let c = counts[index]
            result[index].liveBytes = c.liveBytes
            result[index].liveBlocks = c.liveBlocks
            result[index].allocatedBlocks = c.allocatedBlocks
            result[index].allocatedBytes = c.allocatedBytes
        }
        return result
    }
    /// How many stacks are interned (`stacks.count`, without assembling them).
    public var stackCount: Int { interned.count }
    /// Each stack's id, return addresses and (sampled mode) estimates; its
    /// integer counts are in `counts`, written on every event.
    private var interned: [StackTotals] = []
    private let counts = StackCounters()
    private let stackIndexByID = StackIndexTable()
    private let live = LiveBlockTable()
    // One-entry cache in front of stackIndexByID: consecutive allocations
    // very often come from the same stack, and hashing costs more than a compare.
    private var lastStackID: UInt32 = .max
    private var lastStackIndex: UInt32 = 0

    /// The birth time given to new blocks, in deciseconds since the session
    /// started. The caller advances it once per batch of events: reading a
    /// clock per allocation would cost more than the rest of the bookkeeping.
    public var now: UInt32 = 0

    /// Sampled mode: the blocks and bytes one sampled block of a given size
    /// stands for (the estimator lives in LeakModel's `Sampling`). Nil in
    /// exact mode, where every block counts once.
    public var weigh: ((UInt64) -> (blocks: Double, bytes: Double))?

    public init() {}

    /// Number of live blocks (equals `counters.currentBlocks`).
    public var liveBlockCount: Int { live.count }

    public func apply(_ event: AgentEvent) {
        switch event {
        case let .alloc(address, size, stack):
            recordAllocation(address: address, size: size, stackID: stack)
        case let .free(address):
            recordFree(address: address)
        case let .stack(id, ips):
            intern(stackID: id, ips: ips)
        case let .pairs(stack, size, count):
            recordPairs(stackID: stack, size: size, count: count)
        case let .retag(address, stack):
            recordRetag(address: address, stackID: stack)
        case let .peak(bytes, blocks):
            counters.peakBytes = max(counters.peakBytes, counters.currentBytes &+ bytes)
            counters.peakBlocks = max(counters.peakBlocks, counters.currentBlocks &+ blocks)
        case let .sync(_, lost):
            counters.lostEvents = max(counters.lostEvents, lost)
        case let .status(status):
            counters.lostEvents = max(counters.lostEvents, status.lostEvents)
        case let .exiting(lost):
            counters.lostEvents = max(counters.lostEvents, lost)
        case .python, .collected:
            break
        }
    }

    /// Starts a new peak window at the current totals (tracemalloc's reset_peak).
    public func resetPeak() {
        counters.peakBytes = counters.currentBytes
        counters.peakBlocks = counters.currentBlocks
        counters.estimatedPeakBlocks = counters.estimatedBlocks
        counters.estimatedPeakBytes = counters.estimatedBytes
    }

    /// Stacks that hold live memory now.
    public func liveStacks() -> [StackTotals] {
        stacks.filter { $0.liveBlocks > 0 }   // assembled once, at a snapshot
    }

    /// Visits every live block (for per-site ages at snapshot time).
    public func forEachLiveBlock(_ body: (LiveBlock) -> Void) {
        live.forEach { _, block in body(block) }
    }

    /// Visits every live block with its address (reading block contents, the reachability scan).
    public func forEachLiveBlockAddress(_ body: (UInt64, LiveBlock) -> Void) {
        live.forEach(body)
    }

    /// The live block at `address`, if any (for tests and the reachability scan).
    public func block(at address: UInt64) -> LiveBlock? {
        live.find(address)
    }

    private func intern(stackID: UInt32, ips: [UInt64]) {
        if let index = stackIndexByID.find(stackID) {
            // The agent sends each stack once; a repeat must agree.
            interned[Int(index)].ips = ips
            return
        }
        stackIndexByID.set(stackID, UInt32(interned.count))
        interned.append(StackTotals(stackID: stackID, ips: ips))
        counts.append()
    }

    /// The index of `stackID` in `stacks`, interning an empty stack for an id
    /// the agent never described (its blocks are kept, unattributed).
    @inline(__always)
    private func stackIndex(_ stackID: UInt32) -> UInt32 {
        if stackID == lastStackID { return lastStackIndex }
        if let known = stackIndexByID.find(stackID) {
            lastStackID = stackID
            lastStackIndex = known
            return known
        }
        intern(stackID: stackID, ips: [])
        return UInt32(interned.count - 1)
    }

    /// Blocks allocated and freed again before the agent sent them: they
    /// count as allocated and freed, never as live.
    private func recordPairs(stackID: UInt32, size: UInt64, count: UInt64) {
        counters.allocations &+= count
        counters.frees &+= count
        let index = Int(stackIndex(stackID))
        let c = counts.base + index
        c.pointee.allocatedBlocks &+= count
        c.pointee.allocatedBytes &+= size &* count
        c.pointee.freedBlocks &+= count
        c.pointee.freedBytes &+= size &* count
        if let weigh {
            let w = weigh(size)
            interned[index].estimated.allocatedBlocks += w.blocks * Double(count)
            interned[index].estimated.allocatedBytes += w.bytes * Double(count)
        }
    }

    /// Applies a batch of allocations and frees in order (the reader's fast
    /// path, `EventDecoder.feed(_:blocks:other:)`). The totals stay in
    /// registers for the batch and every step is inlined into one loop: a
    /// call per event, and the counters' round trips through memory, cost
    /// more than the live table's work.
    public func apply(_ blocks: UnsafeBufferPointer<BlockEvent>) {
        guard weigh == nil else {
            for event in blocks {
                if event.isFree {
                    recordFree(address: event.address)
                } else {
                    recordAllocation(address: event.address, size: event.size, stackID: event.stack)
                }
            }
            return
        }
        var totals = counters
        for event in blocks {
            if event.isFree {
                _ = free(address: event.address, into: &totals)
            } else {
                _ = allocate(address: event.address, size: event.size, stackID: event.stack, into: &totals)
            }
        }
        counters = totals
    }

    /// `apply(.alloc(...))` without the event.
    private func recordAllocation(address: UInt64, size: UInt64, stackID: UInt32) {
        guard let (index, replaced) = allocate(address: address, size: size, stackID: stackID, into: &counters),
              let weigh else { return }
        if let replaced { unweigh(replaced) }
        addWeight(weigh(size), stack: Int(index), allocated: true)
    }

    /// `apply(.free(...))` without the event.
    private func recordFree(address: UInt64) {
        if let released = free(address: address, into: &counters), weigh != nil { unweigh(released) }
    }

    /// A known block moves to `stackID` as if freed and allocated again at
    /// its size (tracemalloc moves its trace so): the totals stay, the
    /// stacks' counts and the block's birth change. An unknown block was
    /// allocated before tracing and stays unknown.
    /// In place: the free and the allocation leave the totals (and so the
    /// peak) where they were, and only the two stacks' counts move.
    private func recordRetag(address: UInt64, stackID: UInt32) {
        var index: UInt32 = 0
        guard address != 0,
              let old = live.retag(address, birth: now, stackIndex: { index = stackIndex(stackID); return index })
        else { return }
        counters.frees &+= 1
        counters.allocations &+= 1
        Self.count(releaseOf: old.size, in: counts.base + Int(old.stackIndex))
        Self.count(allocationOf: old.size, in: counts.base + Int(index))
        if let weigh {
            unweigh(old)
            addWeight(weigh(old.size), stack: Int(index), allocated: true)
        }
    }

    /// The one body of an allocation, counted in `totals`; returns the
    /// block's stack index and the block it replaced, nil for address 0.
    /// Sampled mode's weights are the caller's.
    @inline(__always)
    private func allocate(address: UInt64, size: UInt64, stackID: UInt32,
                          into totals: inout AggregatorCounters) -> (stackIndex: UInt32, replaced: LiveBlock?)? {
        totals.allocations &+= 1
        guard address != 0 else { return nil }
        let index = stackIndex(stackID)
        let replaced = live.insert(address, LiveBlock(size: size, stackIndex: index, birth: now))
        if let replaced {
            totals.replacedBlocks &+= 1
            release(replaced, from: &totals)
        }
        Self.count(allocationOf: size, in: counts.base + Int(index))
        totals.currentBytes &+= size
        totals.currentBlocks &+= 1
        totals.peakBytes = max(totals.peakBytes, totals.currentBytes)
        totals.peakBlocks = max(totals.peakBlocks, totals.currentBlocks)
        return (index, replaced)
    }

    /// The one body of a free, counted in `totals`; returns the block released.
    @inline(__always)
    private func free(address: UInt64, into totals: inout AggregatorCounters) -> LiveBlock? {
        guard address != 0 else { return nil }
        guard let block = live.remove(address) else {
            totals.unknownFrees &+= 1
            return nil
        }
        totals.frees &+= 1
        release(block, from: &totals)
        return block
    }

    @inline(__always)
    private func release(_ block: LiveBlock, from totals: inout AggregatorCounters) {
        Self.count(releaseOf: block.size, in: counts.base + Int(block.stackIndex))
        totals.currentBytes &-= block.size
        totals.currentBlocks &-= 1
    }

    /// Sampled mode: takes a released block's weight off its stack and the totals.
    private func unweigh(_ block: LiveBlock) {
        guard let weigh else { return }
        let w = weigh(block.size)
        addWeight((-w.blocks, -w.bytes), stack: Int(block.stackIndex), allocated: false)
    }

    private func addWeight(_ w: (blocks: Double, bytes: Double), stack: Int, allocated: Bool) {
        if allocated {
            interned[stack].estimated.allocatedBlocks += w.blocks
            interned[stack].estimated.allocatedBytes += w.bytes
        }
        interned[stack].estimated.liveBlocks += w.blocks
        interned[stack].estimated.liveBytes += w.bytes
        counters.estimatedBlocks += w.blocks
        counters.estimatedBytes += w.bytes
        counters.estimatedPeakBlocks = max(counters.estimatedPeakBlocks, counters.estimatedBlocks)
        counters.estimatedPeakBytes = max(counters.estimatedPeakBytes, counters.estimatedBytes)
    }

    @inline(__always)
    private static func count(allocationOf size: UInt64, in totals: UnsafeMutablePointer<StackCounters.Counts>) {
        totals.pointee.allocatedBytes &+= size
        totals.pointee.allocatedBlocks &+= 1
    }

    @inline(__always)
    private static func count(releaseOf size: UInt64, in totals: UnsafeMutablePointer<StackCounters.Counts>) {
        totals.pointee.freedBytes &+= size
        totals.pointee.freedBlocks &+= 1
    }
}
