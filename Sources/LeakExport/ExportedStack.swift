import LeakModel

/// One site ready for export: its stack innermost first (allocator frames
/// folded away unless raw, as `top` and `diff` show it) and the site.
public struct ExportedStack: Sendable {
    public var frames: [Frame]
    public var site: Site

    /// Every site of `snapshot`, live or kept for its cumulative counts.
    public static func all(in snapshot: Snapshot, raw: Bool) -> [ExportedStack] {
        var result: [ExportedStack] = []
        result.reserveCapacity(snapshot.sites.count)
        for site in snapshot.sites {
            var frames: [Frame] = []
            if snapshot.stacks.indices.contains(site.stack) {
                frames = snapshot.stacks[site.stack].map { snapshot.frames.indices.contains($0) ? snapshot.frames[$0] : Frame(address: 0) }
            }
            if !raw { frames = AllocatorFrames.fold(frames) }
            // A stack with no frames still holds bytes: give them a place.
            if frames.isEmpty { frames = [Frame(address: 0)] }
            result.append(ExportedStack(frames: frames, site: site))
        }
        return result
    }
}
