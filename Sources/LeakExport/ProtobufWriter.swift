/// The few protocol-buffer wire rules profile.proto needs: varints,
/// length-delimited fields, packed repeated integers. A hand encoder keeps
/// the package free of a protobuf runtime and generated code for ten messages.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    /// An int64/uint64/bool field; zero is the default and is left out.
    mutating func field(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func field(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        key(field, wireType: 0)
        varint(value)
    }

    mutating func field(_ field: Int, _ value: Bool) {
        self.field(field, UInt64(value ? 1 : 0))
    }

    /// A bytes, string or embedded-message field (always written: an empty
    /// string-table entry still counts).
    mutating func field(_ field: Int, bytes payload: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    mutating func field(_ field: Int, string: String) {
        self.field(field, bytes: Array(string.utf8))
    }

    mutating func field(_ field: Int, message: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        message(&inner)
        self.field(field, bytes: inner.bytes)
    }

    /// A packed repeated int64 field (negative numbers take ten bytes, as the wire format says).
    mutating func packed(_ field: Int, _ values: [Int64]) {
        guard !values.isEmpty else { return }
        var inner = ProtobufWriter()
        for value in values { inner.varint(UInt64(bitPattern: value)) }
        self.field(field, bytes: inner.bytes)
    }

    mutating func packed(_ field: Int, _ values: [UInt64]) {
        packed(field, values.map { Int64(bitPattern: $0) })
    }
}
