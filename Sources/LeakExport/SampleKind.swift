import LeakModel

/// The four numbers every exported stack carries, named as Go's heap
/// profiles name them so `go tool pprof -inuse_space` & co select them.
public enum SampleKind: String, CaseIterable, Sendable {
    case allocObjects = "alloc_objects"
    case allocSpace = "alloc_space"
    case inuseObjects = "inuse_objects"
    case inuseSpace = "inuse_space"

    /// pprof's unit name.
    public var unit: String {
        switch self {
        case .allocObjects, .inuseObjects: return "count"
        case .allocSpace, .inuseSpace: return "bytes"
        }
    }

    /// The site's value of this kind; 0 for the cumulative kinds in
    /// snapshots of older swiftleaks, which did not count them.
    public func value(of site: Site) -> UInt64 {
        switch self {
        case .allocObjects: return site.allocated?.blocks ?? 0
        case .allocSpace: return site.allocated?.bytes ?? 0
        case .inuseObjects: return site.count
        case .inuseSpace: return site.size
        }
    }
}
