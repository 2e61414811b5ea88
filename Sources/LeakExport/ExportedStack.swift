import LeakModel

/// The sites of a snapshot ready for export: each site's stack as indices
/// into `frames`, innermost first, allocator frames folded away unless raw
/// (as `top` and `diff` show them). Indices, not frames, so the exporters
/// name, hash and fold each distinct frame once, not once per site.
struct ExportedStacks {
    /// The snapshot's frames, and last a stand-in for missing ones (a stack
    /// with no frames still holds bytes that need a place).
    let frames: [Frame]
    let sites: [Site]
    /// Per site, innermost frame first; never empty.
    let stacks: [[Int]]

    init(_ snapshot: Snapshot, raw: Bool) {
        var frames = snapshot.frames
        let unknown = frames.count
        frames.append(Frame(address: 0))
        var allocator = [UInt8](repeating: 2, count: frames.count)  // 2: not yet known
        var stacks: [[Int]] = []
        stacks.reserveCapacity(snapshot.sites.count)
        for site in snapshot.sites {
            var stack: [Int] = []
            if snapshot.stacks.indices.contains(site.stack) {
                stack = snapshot.stacks[site.stack].map { $0 >= 0 && $0 < unknown ? $0 : unknown }
            }
            if !raw {
                stack.removeLast(stack.count - AllocatorFrames.executorStart(count: stack.count) { frames[stack[$0]] })
                let start = AllocatorFrames.foldStart(count: stack.count) { i in
                    let index = stack[i]
                    if allocator[index] == 2 { allocator[index] = AllocatorFrames.isAllocator(frames[index]) ? 1 : 0 }
                    return allocator[index] == 1
                }
                if let start, start > 0 { stack.removeFirst(start) }
            }
            stacks.append(stack.isEmpty ? [unknown] : stack)
        }
        self.frames = frames
        self.sites = snapshot.sites
        self.stacks = stacks
    }
}
