/// glibc malloc keeps pointers to chunk headers in its own memory (the
/// arena's top chunk, bin lists). A chunk's header begins 16 bytes before
/// its user pointer and overlaps the last 8 bytes the previous chunk may
/// use, so such a pointer lands inside the previous block: the arena's
/// "top" then holds the most recent allocation alive. A word equal to the
/// next chunk's header address of a block is taken for allocator metadata,
/// not a reference; a program that keeps only a pointer to exactly that
/// interior offset would see its block reported (the price of the rule).
enum AllocatorHeaders {
    /// Offset from a block's start of the next chunk's header, when that
    /// lies inside the block's `size` bytes; nil otherwise.
    @inline(__always)
    static func nextHeaderOffset(size: UInt64) -> UInt64? {
        let chunk = max(32, (size + 8 + 15) & ~15)
        let offset = chunk - 16
        return offset < size ? offset : nil
    }
}
