/// Reads and writes snapshot files.
///
/// Layout, little-endian throughout:
///
///     header  "SWLKSNAP"            8 bytes magic
///             format version        UInt32
///             header length         UInt32 (28 in version 1; readers skip any extra)
///             body length           UInt64
///             body CRC-32           UInt32
///     body    sections, each: tag UInt32, payload length UInt64, payload
///
/// Sections are self-delimiting so a reader skips tags it does not know: later
/// versions can add sections (age histograms, block lists) without breaking
/// older readers. A known section's payload must be consumed exactly; new
/// fields go into new sections, incompatible changes bump the version.
/// Counts and lengths are varints; every one is checked against the bytes
/// left before it is used, so hostile files fail cleanly.
public enum SnapshotCodec {
    public static let magic: [UInt8] = Array("SWLKSNAP".utf8)
    /// The newest format this code writes and reads.
    public static let currentVersion: UInt32 = 1
    /// magic + version + header length + body length + CRC.
    public static let headerSize = 28

    /// Section tags. Never reuse a number.
    enum Tag: UInt32 {
        case metadata = 1
        case strings = 2
        case frames = 3
        case stacks = 4
        case sites = 5
        /// Optional: per-site oldest age and age histogram. Written only when
        /// some site has ages, so older readers (which skip unknown tags) and
        /// snapshots without ages are unaffected; still format version 1.
        case ages = 6
        /// Optional: which frames are inline levels (`Frame.isInlined`).
        /// Their frames and stacks are ordinary ones, so an older reader
        /// shows every level, just unmarked; still format version 1.
        case inlinedFrames = 7
        /// Optional: per-site blocks and bytes allocated since tracing began
        /// (`AllocationTotals`); additive like `ages`, still version 1.
        case allocated = 10
        /// Optional: module path -> GNU build ID (`Snapshot.buildIDs`); additive.
        case buildIDs = 11
        /// Optional: a reachability scan's result (`Snapshot.reachability`); additive.
        case reachability = 12
        /// Optional: the snapshot is sampled, and at what rate (`Snapshot.sampling`); additive.
        case sampling = 14
        /// Optional: which frames are Swift async callers (`Frame.isAsync`);
        /// additive like `inlinedFrames`, still version 1.
        case asyncFrames = 15
        /// Optional: per-site live blocks by the type memory names
        /// (`Site.types`, `swiftleak types`); additive, still version 1.
        case blockTypes = 13

        var name: String {
            switch self {
            case .metadata: return "metadata"
            case .strings: return "string table"
            case .frames: return "frames"
            case .stacks: return "stacks"
            case .sites: return "sites"
            case .ages: return "ages"
            case .inlinedFrames: return "inlined frames"
            case .allocated: return "allocated"
            case .buildIDs: return "build IDs"
            case .reachability: return "reachability"
            case .sampling: return "sampling"
            case .asyncFrames: return "async frames"
            case .blockTypes: return "block types"
            }
        }
    }

    // MARK: Encoding

    /// Serializes `snapshot`. Indices in `stacks` and `sites` are written as
    /// given; a snapshot with out-of-range indices encodes but will not decode.
    public static func encode(_ snapshot: Snapshot) -> [UInt8] {
        var strings = StringTable()
        let framesPayload = encodeFrames(snapshot.frames, strings: &strings)

        var body = BinaryWriter()
        appendSection(.metadata, encodeMetadata(snapshot.metadata), to: &body)
        appendSection(.strings, strings.encoded(), to: &body)
        appendSection(.frames, framesPayload, to: &body)
        appendSection(.stacks, encodeStacks(snapshot.stacks), to: &body)
        appendSection(.sites, encodeSites(snapshot.sites), to: &body)
        if let ages = encodeAges(snapshot.sites) { appendSection(.ages, ages, to: &body) }
        if let inlined = encodeInlinedFrames(snapshot.frames) { appendSection(.inlinedFrames, inlined, to: &body) }
        if let async = encodeAsyncFrames(snapshot.frames) { appendSection(.asyncFrames, async, to: &body) }
        if let allocated = encodeAllocated(snapshot.sites) { appendSection(.allocated, allocated, to: &body) }
        if !snapshot.buildIDs.isEmpty { appendSection(.buildIDs, encodeBuildIDs(snapshot.buildIDs), to: &body) }
        if let sampling = snapshot.sampling { appendSection(.sampling, encodeSampling(sampling), to: &body) }
        if let types = encodeBlockTypes(snapshot.sites) { appendSection(.blockTypes, types, to: &body) }
        if let scan = snapshot.reachability { appendSection(.reachability, encodeReachability(scan), to: &body) }

        var out = BinaryWriter()
        out.writeBytes(magic)
        out.writeUInt32(currentVersion)
        out.writeUInt32(UInt32(headerSize))
        out.writeUInt64(UInt64(body.count))
        out.writeUInt32(CRC32.checksum(body.bytes))
        out.writeBytes(body.bytes)
        return out.bytes
    }

    static func appendSection(_ tag: Tag, _ payload: [UInt8], to body: inout BinaryWriter) {
        appendSection(rawTag: tag.rawValue, payload, to: &body)
    }

    /// Also used by tests to forge sections with tags this version does not know.
    static func appendSection(rawTag: UInt32, _ payload: [UInt8], to body: inout BinaryWriter) {
        body.writeUInt32(rawTag)
        body.writeUInt64(UInt64(payload.count))
        body.writeBytes(payload)
    }

    /// Deduplicates strings; index 0 on disk means "no string", so refs are index + 1.
    struct StringTable {
        private(set) var strings: [String] = []
        private var index: [String: Int] = [:]

        mutating func ref(_ string: String?) -> UInt64 {
            guard let string else { return 0 }
            if let i = index[string] { return UInt64(i + 1) }
            strings.append(string)
            index[string] = strings.count - 1
            return UInt64(strings.count)
        }

        func encoded() -> [UInt8] {
            var w = BinaryWriter()
            w.writeVarint(UInt64(strings.count))
            for s in strings { w.writeString(s) }
            return w.bytes
        }
    }

    static func encodeMetadata(_ m: SnapshotMetadata) -> [UInt8] {
        var w = BinaryWriter()
        w.writeSignedVarint(Int64(m.pid))
        w.writeVarint(UInt64(m.command.count))
        for arg in m.command { w.writeString(arg) }
        // Times are always large: fixed width is smaller than a varint.
        w.writeUInt64(m.timeNanoseconds)
        w.writeUInt64(m.startNanoseconds)
        w.writeUInt8(m.mode == .run ? 0 : 1)
        w.writeVarint(UInt64(m.framesDepth))
        w.writeVarint(UInt64(m.sequence))
        w.writeUInt8(m.isFinal ? 1 : 0)
        for counter in [m.currentBytes, m.currentBlocks, m.peakBytes, m.peakBlocks,
                        m.allocations, m.frees, m.unknownFrees, m.lostEvents] {
            w.writeVarint(counter)
        }
        return w.bytes
    }

    static func encodeFrames(_ frames: [Frame], strings: inout StringTable) -> [UInt8] {
        var w = BinaryWriter()
        w.writeVarint(UInt64(frames.count))
        for f in frames {
            w.writeVarint(strings.ref(f.function))
            w.writeVarint(strings.ref(f.file))
            w.writeVarint(UInt64(f.line))
            w.writeVarint(strings.ref(f.module))
            w.writeVarint(f.address)
        }
        return w.bytes
    }

    static func encodeStacks(_ stacks: StackTable) -> [UInt8] {
        var w = BinaryWriter()
        w.writeVarint(UInt64(stacks.count))
        for stack in stacks {
            w.writeVarint(UInt64(stack.count))
            for index in stack { w.writeVarint(UInt64(UInt(bitPattern: index))) }
        }
        return w.bytes
    }

    static func encodeSites(_ sites: [Site]) -> [UInt8] {
        var w = BinaryWriter()
        w.writeVarint(UInt64(sites.count))
        for site in sites {
            w.writeVarint(UInt64(UInt(bitPattern: site.stack)))
            w.writeVarint(site.size)
            w.writeVarint(site.count)
        }
        return w.bytes
    }

    /// Presence bits of one entry in the ages section.
    static let hasOldestAge: UInt8 = 1
    static let hasHistogram: UInt8 = 2

    /// Entry count, then per site with ages: site index (varint), presence
    /// bits (UInt8), the oldest age as the Double's bit pattern (UInt64, if
    /// present), then the histogram (if present): bucket count (varint,
    /// must equal `AgeHistogram.bucketCount`), blocks per bucket, bytes per
    /// bucket (varints). Nil when no site has ages.
    static func encodeAges(_ sites: [Site]) -> [UInt8]? {
        let entries = sites.indices.filter { sites[$0].oldestAgeSeconds != nil || sites[$0].ages != nil }
        guard !entries.isEmpty else { return nil }
        var w = BinaryWriter()
        w.writeVarint(UInt64(entries.count))
        for index in entries {
            let site = sites[index]
            w.writeVarint(UInt64(index))
            w.writeUInt8((site.oldestAgeSeconds != nil ? hasOldestAge : 0) | (site.ages != nil ? hasHistogram : 0))
            if let oldest = site.oldestAgeSeconds { w.writeUInt64(oldest.bitPattern) }
            if let ages = site.ages {
                // Pad or cut to the fixed bucket count so the file is always readable.
                let blocks = fitted(ages.blocks), bytes = fitted(ages.bytes)
                w.writeVarint(UInt64(AgeHistogram.bucketCount))
                for value in blocks { w.writeVarint(value) }
                for value in bytes { w.writeVarint(value) }
            }
        }
        return w.bytes
    }

    /// Entry count, then per site with cumulative counts: site index,
    /// blocks, bytes (varints). Nil when no site has them.
    static func encodeAllocated(_ sites: [Site]) -> [UInt8]? {
        let entries = sites.indices.filter { sites[$0].allocated != nil }
        guard !entries.isEmpty else { return nil }
        var w = BinaryWriter()
        w.writeVarint(UInt64(entries.count))
        for index in entries {
            let totals = sites[index].allocated!
            w.writeVarint(UInt64(index))
            w.writeVarint(totals.blocks)
            w.writeVarint(totals.bytes)
        }
        return w.bytes
    }

    static func fitted(_ buckets: [UInt64]) -> [UInt64] {
        let n = AgeHistogram.bucketCount
        return Array(buckets.prefix(n)) + Array(repeating: 0, count: max(0, n - buckets.count))
    }

    // MARK: Decoding

    /// Parses and validates a snapshot file; throws `SnapshotFormatError`.
    public static func decode(_ bytes: [UInt8]) throws -> Snapshot {
        let body = try checkHeader(bytes)
        let sections = try readSections(bytes, body: body)

        func section(_ tag: Tag) throws -> Range<Int> {
            guard let range = sections[tag] else { throw SnapshotFormatError.corrupt("missing \(tag.name) section") }
            return range
        }
        // Decode in dependency order, whatever the order on disk.
        let metadata = try decodeSection(.metadata, bytes, try section(.metadata)) { try decodeMetadata(&$0) }
        let strings = try decodeSection(.strings, bytes, try section(.strings)) { try decodeStrings(&$0) }
        var frames = try decodeSection(.frames, bytes, try section(.frames)) { try decodeFrames(&$0, strings: strings) }
        if let range = sections[.inlinedFrames] {
            try decodeSection(.inlinedFrames, bytes, range) { try decodeInlinedFrames(&$0, into: &frames) }
        }
        if let range = sections[.asyncFrames] {
            try decodeSection(.asyncFrames, bytes, range) { try decodeAsyncFrames(&$0, into: &frames) }
        }
        let stacks = try decodeSection(.stacks, bytes, try section(.stacks)) { try decodeStacks(&$0, frameCount: frames.count) }
        var sites = try decodeSection(.sites, bytes, try section(.sites)) { try decodeSites(&$0, stackCount: stacks.count) }
        if let range = sections[.ages] {
            try decodeSection(.ages, bytes, range) { try decodeAges(&$0, into: &sites) }
        }
        if let range = sections[.allocated] {
            try decodeSection(.allocated, bytes, range) { try decodeAllocated(&$0, into: &sites) }
        }
        if let range = sections[.blockTypes] {
            try decodeSection(.blockTypes, bytes, range) { try decodeBlockTypes(&$0, into: &sites) }
        }
        var buildIDs: [String: String] = [:]
        if let range = sections[.buildIDs] {
            buildIDs = try decodeSection(.buildIDs, bytes, range) { try decodeBuildIDs(&$0) }
        }
        var reachability: ReachabilityScan?
        if let range = sections[.reachability] {
            reachability = try decodeSection(.reachability, bytes, range) { try decodeReachability(&$0, stackCount: stacks.count) }
        }
        let sampling = try sections[.sampling].map { range in try decodeSection(.sampling, bytes, range) { try decodeSampling(&$0) } }
        return Snapshot(metadata: metadata, frames: frames, stacks: stacks, sites: sites, buildIDs: buildIDs, sampling: sampling,
                        reachability: reachability)
    }

    /// Checks magic, version, lengths and checksum; returns the body's range.
    static func checkHeader(_ bytes: [UInt8]) throws -> Range<Int> {
        if bytes.isEmpty { throw SnapshotFormatError.empty }
        let found = UInt64(bytes.count)
        let magicBytes = min(bytes.count, magic.count)
        guard bytes[0..<magicBytes].elementsEqual(magic[0..<magicBytes]) else { throw SnapshotFormatError.badMagic }

        var r = BinaryReader(bytes)
        guard bytes.count >= headerSize else {
            // Still report a newer version when we can see it: that is the real problem.
            if bytes.count >= 12 {
                try? r.skip(8)
                if let version = try? r.readUInt32(), version > currentVersion {
                    throw SnapshotFormatError.newerVersion(found: version, supported: currentVersion)
                }
            }
            throw SnapshotFormatError.truncated(expected: UInt64(headerSize), found: found)
        }
        do {
            try r.skip(magic.count)
            let version = try r.readUInt32()
            if version > currentVersion {
                throw SnapshotFormatError.newerVersion(found: version, supported: currentVersion)
            }
            if version == 0 { throw SnapshotFormatError.corrupt("format version 0") }
            let headerLength = try r.readUInt32()
            let bodyLength = try r.readUInt64()
            let expectedCRC = try r.readUInt32()
            guard headerLength >= UInt32(headerSize) else {
                throw SnapshotFormatError.corrupt("header length \(headerLength) is below \(headerSize)")
            }
            let (total, overflow) = UInt64(headerLength).addingReportingOverflow(bodyLength)
            guard !overflow, total <= UInt64(Int.max) else {
                throw SnapshotFormatError.corrupt("body length \(bodyLength) is impossible")
            }
            if total > found { throw SnapshotFormatError.truncated(expected: total, found: found) }
            if total < found {
                throw SnapshotFormatError.corrupt("\(found - total) unexpected bytes after the end")
            }
            let body = Int(headerLength)..<Int(total)
            let actualCRC = CRC32.checksum(bytes[body])
            guard actualCRC == expectedCRC else {
                throw SnapshotFormatError.checksumMismatch(expected: expectedCRC, found: actualCRC)
            }
            return body
        } catch let failure as BinaryReader.Failure {
            // Unreachable: the size was checked above. Kept so no path can crash.
            throw SnapshotFormatError.corrupt("header: \(failure)")
        }
    }

    /// Splits the body into sections, keeping known ones and skipping the rest.
    static func readSections(_ bytes: [UInt8], body: Range<Int>) throws -> [Tag: Range<Int>] {
        var r = BinaryReader(bytes, from: body.lowerBound, to: body.upperBound)
        var sections: [Tag: Range<Int>] = [:]
        while !r.isAtEnd {
            let rawTag: UInt32
            let length: UInt64
            do {
                rawTag = try r.readUInt32()
                length = try r.readUInt64()
            } catch {
                throw SnapshotFormatError.corrupt("section header cut short at byte \(r.offset)")
            }
            guard length <= UInt64(r.remaining) else {
                throw SnapshotFormatError.corrupt("section \(rawTag) claims \(length) bytes but \(r.remaining) remain")
            }
            let start = r.offset
            try? r.skip(Int(length))  // cannot fail: checked just above
            guard let tag = Tag(rawValue: rawTag) else { continue }  // unknown: from a newer writer
            if sections[tag] != nil { throw SnapshotFormatError.corrupt("duplicate \(tag.name) section") }
            sections[tag] = start..<r.offset
        }
        return sections
    }

    /// Runs `body` over one section, requires it to consume the payload
    /// exactly, and turns reader failures into user-facing errors.
    static func decodeSection<T>(
        _ tag: Tag, _ bytes: [UInt8], _ range: Range<Int>, _ body: (inout BinaryReader) throws -> T
    ) throws -> T {
        var r = BinaryReader(bytes, from: range.lowerBound, to: range.upperBound)
        do {
            let value = try body(&r)
            guard r.isAtEnd else {
                throw SnapshotFormatError.corrupt("\(r.remaining) stray bytes at the end of the \(tag.name) section")
            }
            return value
        } catch let failure as BinaryReader.Failure {
            let detail: String
            switch failure {
            case let .endOfData(offset, needed):
                detail = "\(tag.name) section ends early: needed \(needed) bytes at byte \(offset)"
            case let .badVarint(offset):
                detail = "bad number in the \(tag.name) section at byte \(offset)"
            case let .badValue(offset, what):
                detail = "\(what) out of range in the \(tag.name) section at byte \(offset)"
            case let .badString(offset):
                detail = "invalid UTF-8 in the \(tag.name) section at byte \(offset)"
            }
            throw SnapshotFormatError.corrupt(detail)
        }
    }

    static func decodeMetadata(_ r: inout BinaryReader) throws -> SnapshotMetadata {
        let pidOffset = r.offset
        guard let pid = Int32(exactly: try r.readSignedVarint()) else {
            throw BinaryReader.Failure.badValue(offset: pidOffset, what: "pid")
        }
        let argc = try r.readCount("argument count")
        var command: [String] = []
        command.reserveCapacity(argc)
        for _ in 0..<argc { command.append(try r.readString()) }
        let time = try r.readUInt64()
        let start = try r.readUInt64()
        let modeOffset = r.offset
        let mode: SnapshotMetadata.Mode
        switch try r.readUInt8() {
        case 0: mode = .run
        case 1: mode = .attach
        default: throw BinaryReader.Failure.badValue(offset: modeOffset, what: "mode")
        }
        let depth = try r.readVarintUInt32("frames depth")
        let sequence = try r.readVarintUInt32("sequence")
        let finalOffset = r.offset
        let finalByte = try r.readUInt8()
        guard finalByte <= 1 else { throw BinaryReader.Failure.badValue(offset: finalOffset, what: "final flag") }
        var counters: [UInt64] = []
        for _ in 0..<8 { counters.append(try r.readVarint()) }
        return SnapshotMetadata(
            pid: pid, command: command, timeNanoseconds: time, startNanoseconds: start,
            mode: mode, framesDepth: depth, sequence: sequence, isFinal: finalByte == 1,
            currentBytes: counters[0], currentBlocks: counters[1], peakBytes: counters[2], peakBlocks: counters[3],
            allocations: counters[4], frees: counters[5], unknownFrees: counters[6], lostEvents: counters[7]
        )
    }

    static func decodeStrings(_ r: inout BinaryReader) throws -> [String] {
        let count = try r.readCount("string count")
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try r.readString()) }
        return strings
    }

    static func decodeFrames(_ r: inout BinaryReader, strings: [String]) throws -> [Frame] {
        // function, file, line, module, address: at least one byte each.
        let count = try r.readCount("frame count", minimumItemSize: 5)
        func string(_ what: String) throws -> String? {
            let ref = try r.readIndex(what, below: strings.count + 1)
            return ref == 0 ? nil : strings[ref - 1]
        }
        var frames: [Frame] = []
        frames.reserveCapacity(count)
        for _ in 0..<count {
            let function = try string("function name reference")
            let file = try string("file name reference")
            let line = try r.readVarintUInt32("line")
            let module = try string("module reference")
            let address = try r.readVarint()
            frames.append(Frame(function: function, file: file, line: line, module: module, address: address))
        }
        return frames
    }

    static func decodeStacks(_ r: inout BinaryReader, frameCount: Int) throws -> StackTable {
        let count = try r.readCount("stack count")
        var stacks = StackTable()
        // Each stack's depth and frame indices take a byte each at least.
        stacks.reserveCapacity(stacks: count, frames: r.remaining - count)
        var stack: [Int] = []
        for _ in 0..<count {
            let depth = try r.readCount("stack depth")
            stack.removeAll(keepingCapacity: true)
            for _ in 0..<depth { stack.append(try r.readIndex("frame index", below: frameCount)) }
            stacks.append(stack)
        }
        return stacks
    }

    static func decodeSites(_ r: inout BinaryReader, stackCount: Int) throws -> [Site] {
        var sites: [Site] = []
        // The model promises at most one site per stack.
        try forEachUniqueIndex(&r, "site count", minimumItemSize: 3, of: "stack", below: stackCount) { r, stack in
            let size = try r.readVarint()
            let blocks = try r.readVarint()
            sites.append(Site(stack: stack, size: size, count: blocks))
        }
        return sites
    }

    /// Reads the ages section into `sites` (decoded before it).
    static func decodeAges(_ r: inout BinaryReader, into sites: inout [Site]) throws {
        // Equal histograms share their arrays: the many sites of a huge
        // snapshot that hold a block or two mostly repeat a few shapes, and
        // two arrays per site would otherwise outweigh the stacks.
        var distinct = Set<AgeHistogram>()
        // Site index and presence byte at least.
        try forEachUniqueIndex(&r, "age entry count", minimumItemSize: 2, of: "site", below: sites.count) { r, index in
            let flagsOffset = r.offset
            let flags = try r.readUInt8()
            guard flags & ~(hasOldestAge | hasHistogram) == 0 else {
                throw BinaryReader.Failure.badValue(offset: flagsOffset, what: "age flags")
            }
            if flags & hasOldestAge != 0 {
                let ageOffset = r.offset
                let age = Double(bitPattern: try r.readUInt64())
                guard age.isFinite, age >= 0 else { throw BinaryReader.Failure.badValue(offset: ageOffset, what: "oldest age") }
                sites[index].oldestAgeSeconds = age
            }
            if flags & hasHistogram != 0 {
                let bucketsOffset = r.offset
                guard try r.readVarint() == UInt64(AgeHistogram.bucketCount) else {
                    throw BinaryReader.Failure.badValue(offset: bucketsOffset, what: "age bucket count")
                }
                var histogram = AgeHistogram()
                for i in 0..<AgeHistogram.bucketCount { histogram.blocks[i] = try r.readVarint() }
                for i in 0..<AgeHistogram.bucketCount { histogram.bytes[i] = try r.readVarint() }
                sites[index].ages = distinct.insert(histogram).memberAfterInsert
            }
        }
    }

    /// Reads a count, then that many entries that each start with an index
    /// (of a stack, of a site decoded before) that no other entry repeats;
    /// `body` reads the rest of each entry.
    static func forEachUniqueIndex(_ r: inout BinaryReader, _ countName: String, minimumItemSize: Int,
                                   of indexName: String, below limit: Int,
                                   _ body: (inout BinaryReader, Int) throws -> Void) throws {
        let count = try r.readCount(countName, minimumItemSize: minimumItemSize)
        var seen = [Bool](repeating: false, count: limit)
        for _ in 0..<count {
            let offset = r.offset
            let index = try r.readIndex("\(indexName) index", below: limit)
            guard !seen[index] else { throw BinaryReader.Failure.badValue(offset: offset, what: "duplicate \(indexName) index") }
            seen[index] = true
            try body(&r, index)
        }
    }

    /// Reads the allocated section into `sites` (decoded before it).
    static func decodeAllocated(_ r: inout BinaryReader, into sites: inout [Site]) throws {
        try forEachUniqueIndex(&r, "allocated entry count", minimumItemSize: 3, of: "site", below: sites.count) { r, index in
            let blocks = try r.readVarint()
            let bytes = try r.readVarint()
            sites[index].allocated = AllocationTotals(blocks: blocks, bytes: bytes)
        }
    }

    /// Entry count, then per module its path and build ID (strings), sorted by path.
    static func encodeBuildIDs(_ ids: [String: String]) -> [UInt8] {
        var w = BinaryWriter()
        w.writeVarint(UInt64(ids.count))
        for (path, id) in ids.sorted(by: { $0.key < $1.key }) {
            w.writeString(path)
            w.writeString(id)
        }
        return w.bytes
    }

    static func decodeBuildIDs(_ r: inout BinaryReader) throws -> [String: String] {
        let count = try r.readCount("build ID count", minimumItemSize: 2)
        var ids: [String: String] = [:]
        for _ in 0..<count {
            let offset = r.offset
            let path = try r.readString()
            guard ids[path] == nil else { throw BinaryReader.Failure.badValue(offset: offset, what: "duplicate module") }
            ids[path] = try r.readString()
        }
        return ids
    }
}
