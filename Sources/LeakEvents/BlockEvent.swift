/// An ALLOC or FREE record of the agent's stream, its fields read straight
/// from the bytes: nearly every record is one, and the reader takes them in
/// batches (`EventDecoder.feed(_:blocks:other:)`) so applying one costs a
/// loop iteration, not a call.
public struct BlockEvent: Equatable, Sendable {
    public var address: UInt64
    /// 0 for a free.
    public var size: UInt64
    /// The interned stack of an allocation; 0 for a free.
    public var stack: UInt32
    public var isFree: Bool

    @inline(__always)
    public static func allocation(address: UInt64, size: UInt64, stack: UInt32) -> BlockEvent {
        BlockEvent(address: address, size: size, stack: stack, isFree: false)
    }

    @inline(__always)
    public static func free(address: UInt64) -> BlockEvent {
        BlockEvent(address: address, size: 0, stack: 0, isFree: true)
    }
}
