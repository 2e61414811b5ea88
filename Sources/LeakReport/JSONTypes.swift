import LeakModel

/// `top`'s per-row `"types"`: the blocks of each row by type name, as
/// `Statistic.types` sums them from the types counted per site (section 13).
extension JSONReport {
    /// `[{"name","count","size"}]`, most bytes first; what no named type
    /// claims of the row's `count` and `size` is `unknownTypeName`.
    static func typesJSON(_ types: [BlockTypeCount], count: UInt64, size: UInt64) -> JSONValue {
        var all = types
        let blocks = types.reduce(UInt64(0)) { $0 + $1.blocks }, bytes = types.reduce(UInt64(0)) { $0 + $1.bytes }
        if blocks < count || bytes < size {
            all.append(BlockTypeCount(name: unknownTypeName, blocks: count - min(blocks, count), bytes: size - min(bytes, size)))
        }
        all.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        return .array(all.map { .object([("name", .string($0.name)), ("count", .uint($0.blocks)), ("size", .uint($0.bytes))]) })
    }

    /// The "types" member of one row, or none when `types` is nil.
    static func typesMember(_ types: [BlockTypeCount]?, count: UInt64, size: UInt64) -> [(String, JSONValue)] {
        types.map { [("types", typesJSON($0, count: count, size: size))] } ?? []
    }
}
