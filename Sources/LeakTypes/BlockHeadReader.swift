import CLeakSys
import Glibc

/// Reads the heads of many live blocks of a process in few system calls:
/// blocks are sorted by address and neighbours merged into one range (the
/// kernel's cost is per range, pinning its pages, more than per byte), up to
/// `SL_READV_MAX` ranges per process_vm_readv.
///
/// The target keeps running meanwhile. That is safe enough for naming
/// types: the reads change nothing in the target, a block freed (and its
/// page unmapped) since the aggregator saw it reads as nothing, and one
/// reused in between only shows what it holds now, which the namer accepts
/// only if it proves to be a type (a metadata or vtable symbol, a validated
/// Python type). At worst a block that changed during the read is counted as
/// unknown or under the type it holds a moment later.
public struct BlockHeadReader {
    public let pid: Int32
    /// Neighbours closer than this share a range: reading the gap costs less
    /// than another range.
    static let mergeGap: UInt64 = 512
    static let longestRange: UInt64 = 1 << 16

    public init(pid: Int32) {
        self.pid = pid
    }

    /// A stretch of the target's memory covering the heads of `blocks`
    /// (indices into the caller's arrays, by address).
    private struct Range {
        var start: UInt64
        var end: UInt64
        var blocks: [Int]
    }

    /// One head per block, in order; `sizes` caps each read at the block's size.
    public func read(addresses: [UInt64], sizes: [UInt64]) -> [BlockHead] {
        precondition(addresses.count == sizes.count)
        let lengths = sizes.map { UInt64(min($0, UInt64(BlockHead.byteCount))) & ~7 }
        var heads = addresses.map { BlockHead(address: $0, words: []) }
        let ranges = Self.ranges(addresses: addresses, lengths: lengths)
        var next = 0
        // One buffer for every batch, grown when needed: fresh pages cost more than reading.
        var buffer: [UInt8] = []
        while next < ranges.count {
            let batch = ranges[next..<min(ranges.count, next + Int(SL_READV_MAX))]
            let starts = batch.map(\.start)
            let counts = batch.map { Int($0.end - $0.start) }
            let total = counts.reduce(0, +)
            if buffer.count < total { buffer = [UInt8](repeating: 0, count: total) }
            let moved = buffer.withUnsafeMutableBytes { local in
                sl_process_read_scattered(pid, starts, counts, batch.count, local.baseAddress)
            }
            if moved < 0 && errno != EFAULT {
                // The process is gone (ESRCH) or not ours to read (EPERM):
                // no later block would read either.
                return heads
            }
            // Ranges arrive whole, in order, until the one where the read
            // stopped (a page unmapped since: blocks freed); that one is read
            // block by block, and the next call starts after it.
            var offset = 0
            var done = 0
            for (range, count) in zip(batch, counts) {
                done += 1
                guard offset + count <= max(0, moved) else {
                    readOneByOne(range, addresses: addresses, lengths: lengths, into: &heads)
                    break
                }
                buffer.withUnsafeBytes { raw in
                    for index in range.blocks {
                        let from = offset + Int(addresses[index] - range.start)
                        for word in 0..<Int(lengths[index]) / 8 {
                            heads[index].append(raw.loadUnaligned(fromByteOffset: from + word * 8, as: UInt64.self))
                        }
                    }
                }
                offset += count
            }
            next += done
        }
        return heads
    }

    private static func ranges(addresses: [UInt64], lengths: [UInt64]) -> [Range] {
        var ranges: [Range] = []
        for index in addresses.indices.sorted(by: { addresses[$0] < addresses[$1] }) where lengths[index] > 0 {
            let start = addresses[index], end = start + lengths[index]
            if let last = ranges.last, start >= last.end, start - last.end <= mergeGap, end - last.start <= longestRange {
                // In place: a copy of `last` would copy its block list every time.
                ranges[ranges.count - 1].end = end
                ranges[ranges.count - 1].blocks.append(index)
            } else {
                ranges.append(Range(start: start, end: end, blocks: [index]))
            }
        }
        return ranges
    }

    private func readOneByOne(_ range: Range, addresses: [UInt64], lengths: [UInt64], into heads: inout [BlockHead]) {
        for index in range.blocks {
            var buffer = [UInt8](repeating: 0, count: Int(lengths[index]))
            let got = buffer.withUnsafeMutableBytes { sl_process_read(pid, addresses[index], $0.baseAddress, $0.count) }
            if got > 0 { heads[index] = BlockHead(address: addresses[index], words: Self.words(buffer, bytes: got)) }
        }
    }

    private static func words(_ buffer: [UInt8], bytes: Int) -> [UInt64] {
        buffer.withUnsafeBytes { raw in
            stride(from: 0, to: bytes & ~7, by: 8).map { raw.loadUnaligned(fromByteOffset: $0, as: UInt64.self) }
        }
    }
}
