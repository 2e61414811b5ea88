/// Reads the aligned 8-byte words of copied memory and reports those that
/// point into a known block (interior pointers included).
struct WordScanner {
    let index: BlockIndex
    let spans: [MemorySpan]

    /// Calls `hit(block, wordAddress)` for each aligned word of span `span`
    /// in [from, to) that points into a known block (sorted index).
    @inline(__always)
    func scan(span: Int, from: UInt64, to: UInt64, _ hit: (Int, UInt64) -> Void) {
        let base = spans[span].start
        let first = (max(from, base) + 7) & ~7
        let last = min(to, spans[span].end)
        guard first + 8 <= last else { return }
        let lowest = index.lowest
        let highest = index.highest
        spans[span].bytes.withUnsafeBytes { raw in
            var offset = Int(first - base)
            let stop = Int(last - base) - 8
            while offset <= stop {
                let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                if word >= lowest && word < highest {
                    let block = index.block(containing: word)
                    if block >= 0 { hit(block, base + UInt64(offset)) }
                }
                offset += 8
            }
        }
    }
}
