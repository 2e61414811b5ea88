/// Known blocks sorted by address, with a page table for the question the
/// mark phase asks of every word it reads: which block, if any, contains this
/// address? A binary search over a million blocks per word would cost more
/// than the copy; the page table narrows it to the blocks of one 4 KiB page.
struct BlockIndex {
    /// Sorted by address; live blocks never overlap, so ends are sorted too.
    let starts: [UInt64]
    let ends: [UInt64]
    /// Position in the caller's array of each sorted block.
    let original: [Int32]
    let lowest: UInt64
    let highest: UInt64
    private let pages: PageTable

    init(_ blocks: [KnownBlock]) {
        let order = blocks.indices.sorted { blocks[$0].address < blocks[$1].address }
        var starts: [UInt64] = []
        var ends: [UInt64] = []
        var original: [Int32] = []
        starts.reserveCapacity(order.count)
        ends.reserveCapacity(order.count)
        original.reserveCapacity(order.count)
        for index in order {
            let block = blocks[index]
            // A zero-size block (malloc(0)) still owns its address.
            let end = block.address + max(block.size, 1)
            // Overlap means a lost free: keep the earlier block, drop the other.
            if let last = ends.last, block.address < last { continue }
            starts.append(block.address)
            ends.append(end)
            original.append(Int32(index))
        }
        self.starts = starts
        self.ends = ends
        self.original = original
        lowest = starts.first ?? 0
        highest = ends.last ?? 0
        pages = PageTable(starts: starts, ends: ends)
    }

    var count: Int { starts.count }

    /// The sorted index of the block containing `address`, or -1.
    @inline(__always)
    func block(containing address: UInt64) -> Int {
        guard address >= lowest, address < highest else { return -1 }
        guard let (low, high) = pages.range(page: address >> PageTable.shift) else { return -1 }
        // The last block in [low, high) starting at or below the address.
        var lo = low
        var hi = high
        while lo < hi {
            let mid = (lo + hi) >> 1
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        let candidate = lo - 1
        guard candidate >= low, address < ends[candidate] else { return -1 }
        if address != starts[candidate],
           let header = AllocatorHeaders.nextHeaderOffset(size: ends[candidate] - starts[candidate]),
           address - starts[candidate] == header { return -1 }
        return candidate
    }

    /// Sorted indices of the blocks that overlap [start, end).
    func blocks(overlapping start: UInt64, _ end: UInt64) -> Range<Int> {
        var lo = 0
        var hi = ends.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ends[mid] <= start { lo = mid + 1 } else { hi = mid }
        }
        var last = lo
        while last < starts.count && starts[last] < end { last += 1 }
        return lo..<last
    }
}

/// Page number -> the range of sorted blocks overlapping that page, open
/// addressing over flat arrays (no per-entry allocation, no SipHash).
struct PageTable {
    static let shift: UInt64 = 12
    private var keys: [UInt64]
    private var lows: [Int32]
    private var highs: [Int32]
    private let mask: Int

    init(starts: [UInt64], ends: [UInt64]) {
        var pageCount = 0
        for i in starts.indices {
            pageCount += Int(((ends[i] - 1) >> Self.shift) - (starts[i] >> Self.shift) + 1)
        }
        var size = 16
        while size < pageCount * 2 { size <<= 1 }
        // Page numbers are never all-ones: that marks an empty slot.
        keys = Array(repeating: .max, count: size)
        lows = Array(repeating: 0, count: size)
        highs = Array(repeating: 0, count: size)
        mask = size - 1
        for i in starts.indices {
            var page = starts[i] >> Self.shift
            let lastPage = (ends[i] - 1) >> Self.shift
            while page <= lastPage {
                let slot = slotFor(page)
                if keys[slot] == .max {
                    keys[slot] = page
                    lows[slot] = Int32(i)
                }
                highs[slot] = Int32(i + 1)
                page += 1
            }
        }
    }

    @inline(__always)
    private func home(_ page: UInt64) -> Int {
        Int(truncatingIfNeeded: (page &* 0x9E37_79B9_7F4A_7C15) >> 24) & mask
    }

    /// The slot holding `page`, or the empty slot where it would go.
    @inline(__always)
    private func slotFor(_ page: UInt64) -> Int {
        var slot = home(page)
        while keys[slot] != page && keys[slot] != .max { slot = (slot + 1) & mask }
        return slot
    }

    @inline(__always)
    func range(page: UInt64) -> (Int, Int)? {
        let slot = slotFor(page)
        guard keys[slot] == page else { return nil }
        return (Int(lows[slot]), Int(highs[slot]))
    }
}
