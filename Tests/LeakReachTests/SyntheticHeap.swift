import LeakReach

/// A made-up process image: a heap mapping holding blocks, a data mapping
/// and a thread stack, each writable word by word.
struct SyntheticHeap {
    static let heapStart: UInt64 = 0x5555_0000_0000
    static let dataStart: UInt64 = 0x5554_0000_0000
    static let stackStart: UInt64 = 0x7ffe_0000_0000

    var blocks: [KnownBlock] = []
    var heap = [UInt8](repeating: 0, count: 1 << 16)
    var data = [UInt8](repeating: 0, count: 4096)
    var stack = [UInt8](repeating: 0, count: 4096)
    private var next: UInt64 = 16

    /// A known block of `size` bytes; returns its index.
    @discardableResult
    mutating func allocate(_ size: UInt64, stack: UInt32 = 0) -> Int {
        blocks.append(KnownBlock(address: Self.heapStart + next, size: size, stack: stack))
        next += (size + 31) & ~15
        return blocks.count - 1
    }

    func address(_ block: Int, plus offset: UInt64 = 0) -> UInt64 { blocks[block].address + offset }

    /// Writes `value` into block `block` at `offset`.
    mutating func store(_ value: UInt64, in block: Int, at offset: UInt64 = 0) {
        Self.write(value, into: &heap, at: Int(blocks[block].address - Self.heapStart + offset))
    }

    mutating func storeInHeapOutsideBlocks(_ value: UInt64) {
        Self.write(value, into: &heap, at: heap.count - 64)
    }

    mutating func storeGlobal(_ value: UInt64, at offset: Int = 8) { Self.write(value, into: &data, at: offset) }
    mutating func storeOnStack(_ value: UInt64, at offset: Int = 16) { Self.write(value, into: &stack, at: offset) }

    var spans: [MemorySpan] {
        [MemorySpan(start: Self.dataStart, bytes: data, role: .mapping, name: "app .data"),
         MemorySpan(start: Self.heapStart, bytes: heap, role: .mapping, name: "[heap]"),
         MemorySpan(start: Self.stackStart, bytes: stack, role: .thread, name: "thread 1 stack")]
    }

    func analyse() -> ReachResult { Reachability.analyse(blocks: blocks, spans: spans) }

    private static func write(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
}
