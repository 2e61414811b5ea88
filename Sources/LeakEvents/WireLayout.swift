import CLeakProtocol

// Field positions of the wire structs, taken from their C declarations in
// swiftleak_protocol.h (whose _Static_asserts pin them), so no byte offset is
// written twice. Always inlined: with a literal key path the optimizer folds
// each call to a constant, where a stored `static let` would cost a
// once-check per use on the event path.

/// Byte offset of `field` in its C struct.
@inline(__always)
func wireOffset<Struct, Field>(_ field: KeyPath<Struct, Field>) -> Int {
    MemoryLayout<Struct>.offset(of: field)!
}

/// Bytes a payload needs to hold `field` and everything before it.
@inline(__always)
func wireEnd<Struct, Field>(_ field: KeyPath<Struct, Field>) -> Int {
    wireOffset(field) + MemoryLayout<Field>.size
}

/// The bytes of a wire struct as they go on the socket (the host is little-endian, like the format).
func wireBytes<Struct>(_ value: Struct) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}
