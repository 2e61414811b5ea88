/// Everything needed to analyse the live heap of a process at one moment,
/// without the process: symbolized frames, the stacks built from them, and
/// the live bytes and blocks per stack.
public struct Snapshot: Hashable, Sendable {
    public var metadata: SnapshotMetadata
    /// Distinct frames; stacks refer to them by index.
    public var frames: [Frame]
    /// Call stacks, innermost frame first, as indices into `frames`.
    /// They start at the allocator's entry (malloc & co): analyses decide which
    /// frames to fold.
    public var stacks: StackTable
    /// Memory per stack; at most one site per stack. A stack whose blocks were
    /// all freed has a site only for its cumulative counts (`Site.isLive` false).
    public var sites: [Site]
    /// GNU build IDs (hex) of the frames' modules, by module path, where the
    /// collector could read them; empty in snapshots of older swiftleaks.
    public var buildIDs: [String: String]
    /// Set when the agent sampled allocations (`--sample-bytes`): then sizes
    /// and counts are estimates (see `Sampling`); nil for an exact snapshot.
    public var sampling: Sampling?
    /// The reachability scan taken with this snapshot (`swiftleak leaks`), if any.
    public var reachability: ReachabilityScan?

    public init(metadata: SnapshotMetadata, frames: [Frame], stacks: [[Int]], sites: [Site], buildIDs: [String: String] = [:],
                sampling: Sampling? = nil, reachability: ReachabilityScan? = nil) {
        self.init(metadata: metadata, frames: frames, stacks: StackTable(stacks), sites: sites, buildIDs: buildIDs, sampling: sampling,
                  reachability: reachability)
    }

    public init(metadata: SnapshotMetadata, frames: [Frame], stacks: StackTable, sites: [Site], buildIDs: [String: String] = [:],
                sampling: Sampling? = nil, reachability: ReachabilityScan? = nil) {
        self.metadata = metadata
        self.frames = frames
        self.stacks = stacks
        self.sites = sites
        self.buildIDs = buildIDs
        self.sampling = sampling
        self.reachability = reachability
    }
}

extension Snapshot {
    /// Whether any site carries an age histogram (the collector recorded
    /// ages). When false, `AnalysisOptions.olderThanSeconds` finds nothing.
    public var hasAges: Bool { sites.contains { $0.ages != nil } }

    /// Sites that hold live memory (what `top`, `diff` and `stats` count).
    public var liveSites: [Site] { sites.filter(\.isLive) }
}
