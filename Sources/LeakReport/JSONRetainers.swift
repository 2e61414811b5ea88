import LeakModel

extension JSONReport {
    /// `swiftleak retainers` as JSON: "groups", each `top`-like (size, count,
    /// traceback) with its "chains" (root, via tracebacks, count, size).
    public static func retainers(snapshot: Snapshot, groups: [RetainedGroup], groupBy: GroupBy, limit: Int? = nil) -> String {
        let shown = groups.prefix(max(limit ?? groups.count, 0))
        return JSONValue.object([
            ("snapshot", metadata(snapshot.metadata)),
            ("group_by", .string(groupBy.rawValue)),
            ("groups", .array(shown.map { group in
                .object([
                    ("size", .uint(group.bytes)),
                    ("count", .uint(group.blocks)),
                    ("traceback", traceback(group.traceback)),
                    ("chains", .array(group.chains.map { chain in
                        .object([
                            ("root", .string(chain.root)),
                            ("via", traceback(chain.via)),
                            ("count", .uint(chain.blocks)),
                            ("size", .uint(chain.bytes)),
                        ])
                    })),
                ])
            })),
        ]).render()
    }
}
