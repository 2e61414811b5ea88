import CLeakProtocol
@testable import LeakEvents

/// Builds agent streams from the C structs of swiftleak_protocol.h, as the
/// agent lays them out.
struct StreamBuilder {
    var bytes: [UInt8] = []

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    mutating func hello(pid: UInt32 = 4242, mode: UInt32 = 1, frames: UInt32 = 64, version: UInt32 = SL_PROTOCOL_VERSION, magic: String = SL_HELLO_MAGIC) {
        var hello = sl_hello()
        withUnsafeMutableBytes(of: &hello.magic) { field in
            field.copyBytes(from: magic.utf8.prefix(field.count))
        }
        hello.version = version
        hello.hello_size = UInt32(MemoryLayout<sl_hello>.size)
        hello.pid = pid
        hello.mode = mode
        hello.frames_max = frames
        hello.start_ns = 1_700_000_000_000_000_000
        bytes += wireBytes(hello)
    }

    mutating func frame(type: UInt16, payload: [UInt8]) {
        bytes += wireBytes(sl_frame_header(size: UInt32(payload.count), type: type, flags: 0)) + payload
    }

    mutating func alloc(_ address: UInt64, size: UInt64, stack: UInt32) {
        frame(type: UInt16(SL_REC_ALLOC.rawValue), payload: wireBytes(sl_rec_alloc(address: address, size: size, stack_id: stack, reserved: 0)))
    }

    mutating func free(_ address: UInt64) {
        frame(type: UInt16(SL_REC_FREE.rawValue), payload: wireBytes(sl_rec_free(address: address)))
    }

    mutating func stack(_ id: UInt32, _ ips: [UInt64]) {
        let header = sl_rec_stack(stack_id: id, depth: UInt32(ips.count))
        frame(type: UInt16(SL_REC_STACK.rawValue), payload: wireBytes(header) + ips.flatMap { wireBytes($0) })
    }

    mutating func pairs(stack: UInt32, size: UInt64, count: UInt64) {
        frame(type: UInt16(SL_REC_PAIRS.rawValue), payload: wireBytes(sl_rec_pairs(stack_id: stack, reserved: 0, size: size, count: count)))
    }

    mutating func retag(_ address: UInt64, stack: UInt32) {
        frame(type: UInt16(SL_REC_RETAG.rawValue), payload: wireBytes(sl_rec_retag(address: address, stack_id: stack, reserved: 0)))
    }

    mutating func peak(bytes: UInt64, blocks: UInt64) {
        frame(type: UInt16(SL_REC_PEAK.rawValue), payload: wireBytes(sl_rec_peak(bytes: bytes, blocks: blocks)))
    }

    mutating func sync(_ token: UInt64, lost: UInt64 = 0) {
        frame(type: UInt16(SL_REC_SYNC.rawValue), payload: wireBytes(sl_rec_sync(token: token, lost_events: lost)))
    }
}
