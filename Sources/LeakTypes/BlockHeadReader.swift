import Glibc
import CLeakSys

/// Reads the heads of many live blocks of a process, `SL_READV_MAX` blocks
/// per process_vm_readv: a million blocks cost about a thousand system calls.
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

    public init(pid: Int32) {
        self.pid = pid
    }

    /// One head per block, in order; `sizes` caps each read at the block's size.
    public func read(addresses: [UInt64], sizes: [UInt64]) -> [BlockHead] {
        precondition(addresses.count == sizes.count)
        var heads: [BlockHead] = []
        heads.reserveCapacity(addresses.count)
        var next = 0
        var buffer = [UInt8](repeating: 0, count: Int(SL_READV_MAX) * BlockHead.byteCount)
        var lengths = [Int](repeating: 0, count: Int(SL_READV_MAX))
        while next < addresses.count {
            let batch = next..<min(addresses.count, next + Int(SL_READV_MAX))
            for (slot, index) in batch.enumerated() {
                lengths[slot] = Int(min(sizes[index], UInt64(BlockHead.byteCount))) & ~7
            }
            let moved = addresses.withUnsafeBufferPointer { remotes in
                lengths.withUnsafeBufferPointer { lengths in
                    buffer.withUnsafeMutableBytes { local in
                        sl_process_read_scattered(pid, remotes.baseAddress! + batch.lowerBound, lengths.baseAddress!,
                                                  batch.count, local.baseAddress)
                    }
                }
            }
            if moved < 0 && errno != EFAULT {
                // The process is gone (ESRCH) or not ours to read (EPERM):
                // no later block would read either.
                for index in batch.lowerBound..<addresses.count { heads.append(BlockHead(address: addresses[index], words: [])) }
                return heads
            }
            // Blocks filled in full, in order; the one where the read stopped
            // (unmapped now: freed since) gets what arrived of it, then the
            // next call starts after it.
            var offset = 0, slot = 0
            let total = max(0, moved)
            while slot < batch.count {
                let length = lengths[slot]
                let got = min(length, max(0, total - offset))
                heads.append(BlockHead(address: addresses[batch.lowerBound + slot], words: Self.words(buffer, from: offset, bytes: got)))
                offset += length
                slot += 1
                if got < length { break }
            }
            next = batch.lowerBound + slot
        }
        return heads
    }

    private static func words(_ buffer: [UInt8], from offset: Int, bytes: Int) -> [UInt64] {
        stride(from: 0, to: bytes & ~7, by: 8).map { start in
            buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + start, as: UInt64.self) }
        }
    }
}
