/// The optional "block types" section (`SnapshotCodec.Tag.blockTypes`,
/// written by `swiftleak types`).
///
/// Payload: the distinct type names (count, then strings), then the entry
/// count and per site that had its types read: site index, the number of
/// named types, and per type its name index, blocks and bytes (varints).
/// Its own name table keeps the section self-contained, so an older reader
/// that skips it reads the rest unchanged. A site's named blocks and bytes
/// never exceed its live totals (the rest is unknown). Nil when no site had
/// its types read.
extension SnapshotCodec {
    static func encodeBlockTypes(_ sites: [Site]) -> [UInt8]? {
        let entries = sites.indices.filter { sites[$0].types != nil }
        guard !entries.isEmpty else { return nil }
        var names: [String] = []
        var nameIndex: [String: Int] = [:]
        for index in entries {
            for type in sites[index].types! where nameIndex[type.name] == nil {
                nameIndex[type.name] = names.count
                names.append(type.name)
            }
        }
        var w = BinaryWriter()
        w.writeVarint(UInt64(names.count))
        for name in names { w.writeString(name) }
        w.writeVarint(UInt64(entries.count))
        for index in entries {
            let types = sites[index].types!
            w.writeVarint(UInt64(index))
            w.writeVarint(UInt64(types.count))
            for type in types {
                w.writeVarint(UInt64(nameIndex[type.name]!))
                w.writeVarint(type.blocks)
                w.writeVarint(type.bytes)
            }
        }
        return w.bytes
    }

    /// Reads the block types section into `sites` (decoded before it).
    static func decodeBlockTypes(_ r: inout BinaryReader, into sites: inout [Site]) throws {
        let names = try decodeStrings(&r)
        // Site index and type count at least.
        try forEachUniqueIndex(&r, "block type entry count", minimumItemSize: 2, of: "site", below: sites.count) { r, index in
            let countOffset = r.offset
            let count = try r.readCount("block type count", minimumItemSize: 3)
            var types: [BlockTypeCount] = []
            types.reserveCapacity(count)
            // Saturating sums: a hostile file must fail the check, not trap.
            var blocks: UInt64 = 0, bytes: UInt64 = 0
            for _ in 0..<count {
                let name = names[try r.readIndex("block type name index", below: names.count)]
                let type = BlockTypeCount(name: name, blocks: try r.readVarint(), bytes: try r.readVarint())
                let (moreBlocks, blocksOverflow) = blocks.addingReportingOverflow(type.blocks)
                let (moreBytes, bytesOverflow) = bytes.addingReportingOverflow(type.bytes)
                blocks = blocksOverflow ? .max : moreBlocks
                bytes = bytesOverflow ? .max : moreBytes
                types.append(type)
            }
            guard blocks <= sites[index].count, bytes <= sites[index].size else {
                throw BinaryReader.Failure.badValue(offset: countOffset, what: "block types beyond the site's live totals")
            }
            sites[index].types = types
        }
    }
}
