/// The optional "reachability" section (`SnapshotCodec.Tag.reachability`),
/// written only by a scan (`swiftleak leaks`); older readers skip it.
///
/// Payload: pause and total (nanoseconds), known blocks, copied bytes,
/// threads; the unreachable blocks (stack, address, size, flags: bit 0
/// direct, bit 1 in a cycle, bit 2 owned by a cycle, then those cycle
/// numbers, then the first bytes);
/// the retainer chains (stack, root string, via stacks, blocks, bytes).
/// Numbers are varints; strings as in the string table.
extension SnapshotCodec {
    static func encodeReachability(_ scan: ReachabilityScan) -> [UInt8] {
        var w = BinaryWriter()
        w.writeVarint(UInt64(max(0, scan.pauseSeconds * 1e9)))
        w.writeVarint(UInt64(max(0, scan.totalSeconds * 1e9)))
        w.writeVarint(scan.knownBlocks)
        w.writeVarint(scan.copiedBytes)
        w.writeVarint(scan.threads)
        w.writeVarint(UInt64(scan.unreachable.count))
        for block in scan.unreachable {
            w.writeVarint(UInt64(block.stack))
            w.writeVarint(block.address)
            w.writeVarint(block.size)
            w.writeUInt8((block.isDirect ? 1 : 0) | (block.cycle != nil ? 2 : 0) | (block.ownerCycle != nil ? 4 : 0)
                | (block.typeName != nil ? 8 : 0))
            if let cycle = block.cycle { w.writeVarint(UInt64(cycle)) }
            if let owner = block.ownerCycle { w.writeVarint(UInt64(owner)) }
            w.writeVarint(UInt64(block.firstBytes.count))
            w.writeBytes(block.firstBytes)
            if let name = block.typeName { w.writeString(name) }
        }
        w.writeVarint(UInt64(scan.retainers.count))
        for chain in scan.retainers {
            w.writeVarint(UInt64(chain.stack))
            w.writeString(chain.root)
            w.writeVarint(UInt64(chain.via.count))
            for stack in chain.via { w.writeVarint(UInt64(stack)) }
            w.writeVarint(chain.blocks)
            w.writeVarint(chain.bytes)
        }
        return w.bytes
    }

    static func decodeReachability(_ r: inout BinaryReader, stackCount: Int) throws -> ReachabilityScan {
        let pause = Double(try r.readVarint()) / 1e9
        let total = Double(try r.readVarint()) / 1e9
        let known = try r.readVarint()
        let copied = try r.readVarint()
        let threads = try r.readVarint()
        var unreachable: [UnreachableBlock] = []
        for _ in 0..<(try r.readCount("unreachable block count", minimumItemSize: 5)) {
            let stack = try r.readIndex("unreachable block stack", below: stackCount)
            let address = try r.readVarint()
            let size = try r.readVarint()
            let flags = try r.readUInt8()
            let cycle = flags & 2 != 0 ? try r.readVarintUInt32("cycle number") : nil
            let owner = flags & 4 != 0 ? try r.readVarintUInt32("owner cycle number") : nil
            let length = try r.readCount("first bytes length")
            guard length <= 16 else { throw BinaryReader.Failure.badValue(offset: r.offset, what: "first bytes length") }
            let first = Array(try r.readBytes(length))
            let typeName = flags & 8 != 0 ? try r.readString() : nil
            unreachable.append(UnreachableBlock(stack: stack, address: address, size: size, isDirect: flags & 1 != 0,
                                                cycle: cycle, ownerCycle: owner, firstBytes: first, typeName: typeName))
        }
        var retainers: [RetainerChain] = []
        for _ in 0..<(try r.readCount("retainer chain count", minimumItemSize: 5)) {
            let stack = try r.readIndex("retainer stack", below: stackCount)
            let root = try r.readString()
            var via: [Int] = []
            for _ in 0..<(try r.readCount("retainer chain length")) {
                via.append(try r.readIndex("retainer chain stack", below: stackCount))
            }
            let blocks = try r.readVarint()
            let bytes = try r.readVarint()
            retainers.append(RetainerChain(stack: stack, root: root, via: via, blocks: blocks, bytes: bytes))
        }
        return ReachabilityScan(pauseSeconds: pause, totalSeconds: total, knownBlocks: known, copiedBytes: copied,
                                threads: threads, unreachable: unreachable, retainers: retainers)
    }
}
