import LeakModel

extension JSONReport {
    /// `{"snapshot": {...}, "sites": N, "has_ages": bool}` for `swiftleak stats`.
    public static func stats(snapshot: Snapshot) -> String {
        JSONValue.object([
            ("snapshot", metadata(snapshot.metadata, sampling: snapshot.sampling)),
            ("sites", .uint(UInt64(snapshot.liveSites.count))),
            ("has_ages", .bool(snapshot.hasAges)),
        ]).render()
    }
}
