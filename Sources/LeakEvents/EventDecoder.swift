import CLeakProtocol

/// Incremental decoder of the agent's stream: feed it bytes as they arrive
/// from the socket, in chunks of any size; it calls back once per record.
///
/// The first bytes must be the hello. After it, frames: a known record with a
/// short payload or any frame over the size limit is an error (the stream
/// cannot be trusted past it); an unknown record type is skipped.
public struct EventDecoder {
    public private(set) var hello: AgentHello?
    private var pending: [UInt8] = []
    private var pendingStart = 0

    public init() {}

    /// Decodes every complete record in `pending + chunk`; keeps the incomplete tail.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        _ handle: (AgentEvent) throws -> Void
    ) throws {
        try feed(chunk, blocks: { batch in
            for block in batch {
                try handle(block.isFree ? .free(address: block.address)
                                        : .alloc(address: block.address, size: block.size, stack: block.stack))
            }
        }, other: handle)
    }

    /// The same, with allocations and frees (nearly every record) handed
    /// over in batches of their fields, read straight from the bytes: an
    /// `AgentEvent` per record, copied and switched on twice, cost the reader
    /// more than the live table's work, and a call per record most of the
    /// rest. Each batch comes before any other record that follows it in the
    /// stream (and before an error is thrown), so the order is the stream's.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        blocks: (UnsafeBufferPointer<BlockEvent>) throws -> Void,
        other handle: (AgentEvent) throws -> Void
    ) throws {
        if pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingStart = 0
            // Fast path: decode straight from the chunk, copy only the tail.
            let used = try decode(chunk, blocks, handle)
            if used < chunk.count {
                pending.append(contentsOf: chunk[used...])
            }
            return
        }
        // A record began in an earlier chunk: complete it (and whatever else
        // the buffer needs to make progress) from this chunk's head, then
        // decode the rest of the chunk in place. Copying each whole chunk
        // behind a tail cost the reader a memcpy of every byte, since most
        // socket reads end inside a record.
        var taken = 0
        while pendingStart < pending.count && taken < chunk.count {
            let need = Self.bytesToProgress(pending, from: pendingStart, hasHello: hello != nil)
            let take = min(need, chunk.count - taken)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[taken..<(taken + take)]))
            taken += take
            let start = pendingStart
            let used = try pending.withUnsafeBytes { all in
                try decode(UnsafeRawBufferPointer(rebasing: all[start...]), blocks, handle)
            }
            pendingStart += used
        }
        if pendingStart == pending.count {
            try feed(UnsafeRawBufferPointer(rebasing: chunk[taken...]), blocks: blocks, other: handle)
        }
    }

    /// Bytes to add to the undecoded `pending[from...]` for the decoder to
    /// take its next step: the rest of the frame header, of the frame, or
    /// of the hello.
    private static func bytesToProgress(_ pending: [UInt8], from start: Int, hasHello: Bool) -> Int {
        let have = pending.count - start
        func u32(_ at: Int) -> Int {
            pending.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: start + at, as: UInt32.self).littleEndian) }
        }
        if !hasHello {
            let sizeEnd = wireEnd(\sl_hello.hello_size)
            if have < sizeEnd { return sizeEnd - have }
            return max(1, min(u32(wireOffset(\sl_hello.hello_size)), 4096) - have)
        }
        let headerSize = ProtocolConstants.frameHeaderSize
        if have < headerSize { return headerSize - have }
        // An oversized frame is the decoder's to reject: one more byte lets it.
        let size = min(u32(wireOffset(\sl_frame_header.size)), Int(ProtocolConstants.maxFramePayload) + 1)
        return max(1, headerSize + size - have)
    }

    /// Convenience for tests and small inputs.
    public mutating func feed(_ bytes: [UInt8], _ handle: (AgentEvent) throws -> Void) throws {
        try bytes.withUnsafeBytes { try feed($0, handle) }
    }

    /// Bytes received but not yet decodable (an incomplete frame).
    public var bufferedByteCount: Int { pending.count - pendingStart }

    /// Records a batch holds: enough that a batch's hand-over costs nothing
    /// per record, few enough (6 KiB, on the stack) to stay in the L1 cache.
    private static var batchCapacity: Int { 256 }

    /// Returns how many bytes of `bytes` were consumed.
    private mutating func decode(
        _ bytes: UnsafeRawBufferPointer,
        _ blocks: (UnsafeBufferPointer<BlockEvent>) throws -> Void,
        _ handle: (AgentEvent) throws -> Void
    ) throws -> Int {
        var offset = 0
        if hello == nil {
            guard let (decoded, size) = try Self.decodeHello(bytes) else { return 0 }
            hello = decoded
            offset = size
        }
        let headerSize = ProtocolConstants.frameHeaderSize
        let (allocType, freeType) = (ProtocolConstants.recordAlloc, ProtocolConstants.recordFree)
        return try withUnsafeTemporaryAllocation(of: BlockEvent.self, capacity: Self.batchCapacity) { batch in
            let first = batch.baseAddress!
            var count = 0
            func flush() throws {
                guard count > 0 else { return }
                let full = UnsafeBufferPointer(start: first, count: count)
                count = 0
                try blocks(full)
            }
            // Offsets in wrapping arithmetic, loads from the base address:
            // every offset is checked against the chunk's length (a frame
            // is at most maxFramePayload), so the traps Swift adds to each
            // `+` and load would only cost the loop instructions.
            guard let base = bytes.baseAddress else { return offset }
            let total = bytes.count
            do {
                while total &- offset >= headerSize {
                    let size = base.loadUnaligned(fromByteOffset: offset &+ wireOffset(\sl_frame_header.size), as: UInt32.self).littleEndian
                    let type = base.loadUnaligned(fromByteOffset: offset &+ wireOffset(\sl_frame_header.type), as: UInt16.self).littleEndian
                    guard size <= ProtocolConstants.maxFramePayload else {
                        throw EventStreamError.frameTooLarge(type: type, size: size)
                    }
                    let at = offset &+ headerSize
                    let end = at &+ Int(size)
                    guard end <= total else { break }
                    // ALLOC and FREE are read here only (decodeRecord never sees them).
                    if type == allocType {
                        try Self.need(wireEnd(\sl_rec_alloc.stack_id), type: type, size: size)
                        (first + count).initialize(to: .allocation(
                            address: base.loadUnaligned(fromByteOffset: at &+ wireOffset(\sl_rec_alloc.address), as: UInt64.self).littleEndian,
                            size: base.loadUnaligned(fromByteOffset: at &+ wireOffset(\sl_rec_alloc.size), as: UInt64.self).littleEndian,
                            stack: base.loadUnaligned(fromByteOffset: at &+ wireOffset(\sl_rec_alloc.stack_id), as: UInt32.self).littleEndian))
                        count &+= 1
                        if count == Self.batchCapacity { try flush() }
                    } else if type == freeType {
                        try Self.need(wireEnd(\sl_rec_free.address), type: type, size: size)
                        (first + count).initialize(to: .free(
                            address: base.loadUnaligned(fromByteOffset: at &+ wireOffset(\sl_rec_free.address), as: UInt64.self).littleEndian))
                        count &+= 1
                        if count == Self.batchCapacity { try flush() }
                    } else {
                        try flush()
                        if let event = try Self.decodeRecord(type: type, payload: UnsafeRawBufferPointer(rebasing: bytes[at..<end])) {
                            try handle(event)
                        }
                    }
                    offset = end
                }
            } catch {
                // What came before the broken record was sound: it is delivered.
                try flush()
                throw error
            }
            try flush()
            return offset
        }
    }

    private static func decodeHello(_ bytes: UnsafeRawBufferPointer) throws -> (AgentHello, Int)? {
        func u32(_ offset: Int) -> UInt32 { bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian }
        let magic = ProtocolConstants.helloMagic
        // magic, version, hello_size: enough to know the rest's length.
        guard bytes.count >= wireEnd(\sl_hello.hello_size) else {
            let known = min(bytes.count, magic.count)
            if !bytes.prefix(known).elementsEqual(magic.prefix(known)) {
                throw EventStreamError.badMagic
            }
            return nil
        }
        guard bytes.prefix(magic.count).elementsEqual(magic) else {
            throw EventStreamError.badMagic
        }
        let version = u32(wireOffset(\sl_hello.version))
        guard version == ProtocolConstants.version else {
            throw EventStreamError.unsupportedVersion(version)
        }
        let size = u32(wireOffset(\sl_hello.hello_size))
        guard size >= UInt32(ProtocolConstants.helloSize), size <= 4096 else {
            throw EventStreamError.badHello(size: size)
        }
        guard bytes.count >= Int(size) else { return nil }
        let rawMode = u32(wireOffset(\sl_hello.mode))
        guard let mode = AgentHello.Mode(rawValue: rawMode) else {
            throw EventStreamError.unknownMode(rawMode)
        }
        let hello = AgentHello(
            version: version,
            pid: Int32(bitPattern: u32(wireOffset(\sl_hello.pid))),
            mode: mode,
            framesMax: u32(wireOffset(\sl_hello.frames_max)),
            startNanoseconds: bytes.loadUnaligned(fromByteOffset: wireOffset(\sl_hello.start_ns), as: UInt64.self).littleEndian,
            sampleBytes: u32(wireOffset(\sl_hello.sample_bytes))
        )
        return (hello, Int(size))
    }

    /// A record of `type` whose payload (`size` bytes) is shorter than its layout needs is a broken stream.
    @inline(__always)
    private static func need(_ needed: Int, type: UInt16, size: UInt32) throws {
        if Int(size) < needed { throw EventStreamError.shortRecord(type: type, size: size) }
    }

    /// Every record but ALLOC and FREE, which `decode` reads itself.
    private static func decodeRecord(type: UInt16, payload: UnsafeRawBufferPointer) throws -> AgentEvent? {
        func need(_ size: Int) throws { try Self.need(size, type: type, size: UInt32(payload.count)) }
        func u64(_ offset: Int) -> UInt64 { payload.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian }
        func u32(_ offset: Int) -> UInt32 { payload.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian }

        switch type {
        case ProtocolConstants.recordStack:
            let ipsStart = MemoryLayout<sl_rec_stack>.size
            try need(ipsStart)
            let depth = Int(u32(wireOffset(\sl_rec_stack.depth)))
            guard depth <= Int(ProtocolConstants.maxFrames) else {
                throw EventStreamError.frameTooLarge(type: type, size: UInt32(payload.count))
            }
            let ipSize = MemoryLayout<UInt64>.size
            try need(ipsStart + ipSize * depth)
            var ips = [UInt64]()
            ips.reserveCapacity(depth)
            for index in 0..<depth { ips.append(u64(ipsStart + ipSize * index)) }
            return .stack(id: u32(wireOffset(\sl_rec_stack.stack_id)), ips: ips)
        case ProtocolConstants.recordPairs:
            try need(wireEnd(\sl_rec_pairs.count))
            return .pairs(stack: u32(wireOffset(\sl_rec_pairs.stack_id)), size: u64(wireOffset(\sl_rec_pairs.size)),
                          count: u64(wireOffset(\sl_rec_pairs.count)))
        case ProtocolConstants.recordPeak:
            try need(wireEnd(\sl_rec_peak.blocks))
            return .peak(bytes: u64(wireOffset(\sl_rec_peak.bytes)), blocks: u64(wireOffset(\sl_rec_peak.blocks)))
        case ProtocolConstants.recordRetag:
            try need(wireEnd(\sl_rec_retag.stack_id))
            return .retag(address: u64(wireOffset(\sl_rec_retag.address)), stack: u32(wireOffset(\sl_rec_retag.stack_id)))
        case ProtocolConstants.recordSync:
            try need(wireEnd(\sl_rec_sync.lost_events))
            return .sync(token: u64(wireOffset(\sl_rec_sync.token)), lostEvents: u64(wireOffset(\sl_rec_sync.lost_events)))
        case ProtocolConstants.recordStatus:
            try need(wireEnd(\sl_rec_status.lost_events))
            return .status(AgentStatus(
                code: u32(wireOffset(\sl_rec_status.code)),
                detail: u32(wireOffset(\sl_rec_status.detail)),
                lostEvents: u64(wireOffset(\sl_rec_status.lost_events))
            ))
        case ProtocolConstants.recordExiting:
            try need(wireEnd(\sl_rec_exiting.lost_events))
            return .exiting(lostEvents: u64(wireOffset(\sl_rec_exiting.lost_events)))
        case ProtocolConstants.recordPython:
            try need(wireEnd(\sl_rec_python.minor))
            return .python(PythonAllocators(state: .init(rawValue: u32(wireOffset(\sl_rec_python.state))),
                                            minor: u32(wireOffset(\sl_rec_python.minor))))
        case ProtocolConstants.recordCollected:
            try need(wireEnd(\sl_rec_collected.state))
            let state = u32(wireOffset(\sl_rec_collected.state))
            let collected = Int64(bitPattern: u64(wireOffset(\sl_rec_collected.collected)))
            return .collected(token: u64(wireOffset(\sl_rec_collected.token)),
                              result: state == 0 ? .collected(collected) : .refused(.init(rawValue: state)))
        default:
            return nil
        }
    }
}
