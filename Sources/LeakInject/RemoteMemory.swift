import CLeakSys
import Glibc

/// Reads and writes the target's memory. process_vm_readv/writev move a
/// whole buffer in one system call; PTRACE_PEEKDATA/POKEDATA (a word at a
/// time, through the stopped thread) is the fallback for kernels or
/// sandboxes that refuse them.
struct RemoteMemory {
    /// The stopped thread, needed by the PEEK/POKE fallback. process_vm_*
    /// are given it too rather than the process id: they accept any thread
    /// of the process, and the main thread has no memory left once it called
    /// pthread_exit.
    let tid: Int32

    func write(_ bytes: [UInt8], at address: UInt64) throws {
        let n = bytes.withUnsafeBytes { sl_process_write(tid, address, $0.baseAddress, $0.count) }
        if n == bytes.count { return }
        // Word-wise fallback; a partial last word is merged with what is there.
        var offset = 0
        while offset < bytes.count {
            let wordAddress = address + UInt64(offset)
            var word: UInt64 = 0
            let take = min(8, bytes.count - offset)
            if take < 8 && sl_ptrace_peek(tid, wordAddress, &word) != 0 { throw failure("PEEKDATA", wordAddress) }
            for i in 0..<take {
                word &= ~(UInt64(0xff) << (8 * UInt64(i)))
                word |= UInt64(bytes[offset + i]) << (8 * UInt64(i))
            }
            if sl_ptrace_poke(tid, wordAddress, word) != 0 { throw failure("POKEDATA", wordAddress) }
            offset += take
        }
    }

    /// A NUL-terminated string, at most `limit` bytes. Reads stop at page
    /// boundaries, so a string ending just before an unmapped page is fine.
    func readCString(at address: UInt64, limit: Int = 4096) throws -> String {
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count < limit {
            let pageLeft = Int(4096 - (cursor & 4095))
            var chunk = [UInt8](repeating: 0, count: min(pageLeft, limit - bytes.count))
            var n = chunk.withUnsafeMutableBytes { sl_process_read(tid, cursor, $0.baseAddress, $0.count) }
            if n <= 0 {
                var word: UInt64 = 0
                if sl_ptrace_peek(tid, cursor & ~7, &word) != 0 { throw failure("PEEKDATA", cursor) }
                let skip = Int(cursor & 7)
                chunk = (skip..<8).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) }
                n = chunk.count
            }
            if let nul = chunk[0..<n].firstIndex(of: 0) {
                bytes.append(contentsOf: chunk[0..<nul])
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.append(contentsOf: chunk[0..<n])
            cursor += UInt64(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func failure(_ operation: String, _ address: UInt64) -> InjectError {
        .ptraceFailed(operation: "\(operation) at 0x\(String(address, radix: 16))", tid: tid, errno: errno)
    }
}
