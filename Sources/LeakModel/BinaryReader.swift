/// Reads what `BinaryWriter` writes from a bounded window of a byte array.
///
/// Every read checks the bytes left first, and every count read from the
/// input can be checked against them (`readCount`), so hostile input can
/// neither crash the reader nor make it allocate more than the input's size.
public struct BinaryReader {
    /// Why a read failed; the codec turns it into a `SnapshotFormatError`.
    public enum Failure: Error, Equatable {
        /// Needed `needed` bytes at `offset` but the window ends first.
        case endOfData(offset: Int, needed: Int)
        /// A varint longer than 10 bytes or overflowing 64 bits.
        case badVarint(offset: Int)
        /// A count or index that cannot be right (e.g. more items than bytes).
        case badValue(offset: Int, what: String)
        /// Bytes that are not UTF-8.
        case badString(offset: Int)
    }

    private let bytes: [UInt8]
    public private(set) var offset: Int
    /// One past the last readable byte.
    public let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        let end = min(end ?? bytes.count, bytes.count)
        self.end = max(end, 0)
        self.offset = min(max(start, 0), self.end)
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset == end }

    private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, n <= remaining else {
            throw Failure.endOfData(offset: offset, needed: n)
        }
        let start = offset
        offset += n
        return start
    }

    public mutating func readUInt8() throws -> UInt8 {
        bytes[try take(1)]
    }

    public mutating func readUInt32() throws -> UInt32 {
        let start = try take(4)
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[start + i]) << UInt32(8 * i) }
        return value
    }

    public mutating func readUInt64() throws -> UInt64 {
        let start = try take(8)
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[start + i]) << UInt64(8 * i) }
        return value
    }

    public mutating func readVarint() throws -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw Failure.endOfData(offset: start, needed: offset - start + 1) }
            let byte = bytes[offset]
            offset += 1
            // The 10th byte may only carry the single remaining bit.
            if shift == 63 && byte > 1 { throw Failure.badVarint(offset: start) }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw Failure.badVarint(offset: start) }
        }
    }

    public mutating func readSignedVarint() throws -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// A varint that must fit in a UInt32.
    public mutating func readVarintUInt32(_ what: String) throws -> UInt32 {
        let start = offset
        let value = try readVarint()
        guard let narrow = UInt32(exactly: value) else { throw Failure.badValue(offset: start, what: what) }
        return narrow
    }

    /// A count of items that each take at least `minimumItemSize` bytes, so
    /// it can be checked against the bytes left before anything is allocated.
    public mutating func readCount(_ what: String, minimumItemSize: Int = 1) throws -> Int {
        let start = offset
        let value = try readVarint()
        guard value <= UInt64(remaining / max(minimumItemSize, 1)) else {
            throw Failure.badValue(offset: start, what: what)
        }
        return Int(value)
    }

    /// An index that must be below `limit`.
    public mutating func readIndex(_ what: String, below limit: Int) throws -> Int {
        let start = offset
        let value = try readVarint()
        guard value < UInt64(max(limit, 0)) else { throw Failure.badValue(offset: start, what: what) }
        return Int(value)
    }

    public mutating func readBytes(_ n: Int) throws -> ArraySlice<UInt8> {
        let start = try take(n)
        return bytes[start..<start + n]
    }

    public mutating func readString() throws -> String {
        let start = offset
        let length = try readCount("string length")
        let slice = try readBytes(length)
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw Failure.badString(offset: start)
        }
        return string
    }

    /// Moves past `n` bytes, e.g. an unknown section.
    public mutating func skip(_ n: Int) throws {
        _ = try take(n)
    }
}
