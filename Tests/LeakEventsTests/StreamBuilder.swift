import CLeakProtocol

/// Builds agent streams byte by byte, as the C agent lays them out.
struct StreamBuilder {
    var bytes: [UInt8] = []

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    mutating func hello(pid: UInt32 = 4242, mode: UInt32 = 1, frames: UInt32 = 64, version: UInt32 = SL_PROTOCOL_VERSION, magic: String = "SWLKEVT1") {
        bytes += Array(magic.utf8)
        bytes += Self.le(version) + Self.le(UInt32(MemoryLayout<sl_hello>.size))
        bytes += Self.le(pid) + Self.le(mode) + Self.le(frames) + Self.le(UInt32(0))
        bytes += Self.le(UInt64(1_700_000_000_000_000_000))
    }

    mutating func frame(type: UInt16, payload: [UInt8]) {
        bytes += Self.le(UInt32(payload.count)) + Self.le(type) + Self.le(UInt16(0)) + payload
    }

    mutating func alloc(_ address: UInt64, size: UInt64, stack: UInt32) {
        frame(type: UInt16(SL_REC_ALLOC.rawValue), payload: Self.le(address) + Self.le(size) + Self.le(stack) + Self.le(UInt32(0)))
    }

    mutating func free(_ address: UInt64) {
        frame(type: UInt16(SL_REC_FREE.rawValue), payload: Self.le(address))
    }

    mutating func stack(_ id: UInt32, _ ips: [UInt64]) {
        frame(type: UInt16(SL_REC_STACK.rawValue), payload: Self.le(id) + Self.le(UInt32(ips.count)) + ips.flatMap { Self.le($0) })
    }

    mutating func sync(_ token: UInt64, lost: UInt64 = 0) {
        frame(type: UInt16(SL_REC_SYNC.rawValue), payload: Self.le(token) + Self.le(lost))
    }
}
