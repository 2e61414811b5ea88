import CLeakProtocol

/// The wire constants of `swiftleak_protocol.h`, as Swift values.
public enum ProtocolConstants {
    public static let version = UInt32(SL_PROTOCOL_VERSION)
    public static let helloMagic: [UInt8] = Array(SL_HELLO_MAGIC.utf8)
    public static let maxFramePayload = UInt32(SL_FRAME_MAX_PAYLOAD)
    public static let maxFrames = UInt32(SL_MAX_FRAMES)
    public static let frameHeaderSize = MemoryLayout<sl_frame_header>.size
    public static let helloSize = MemoryLayout<sl_hello>.size
    public static let environmentSocket = SL_ENV_SOCKET
    public static let environmentFrames = SL_ENV_FRAMES
    public static let attachSymbol = SL_AGENT_ATTACH_SYMBOL

    static let recordAlloc = UInt16(SL_REC_ALLOC.rawValue)
    static let recordFree = UInt16(SL_REC_FREE.rawValue)
    static let recordStack = UInt16(SL_REC_STACK.rawValue)
    static let recordSync = UInt16(SL_REC_SYNC.rawValue)
    static let recordStatus = UInt16(SL_REC_STATUS.rawValue)
    static let recordExiting = UInt16(SL_REC_EXITING.rawValue)
    static let commandRelease = UInt16(SL_CMD_RELEASE.rawValue)
    static let commandSync = UInt16(SL_CMD_SYNC.rawValue)
    static let commandStop = UInt16(SL_CMD_STOP.rawValue)
    static let recordPython = UInt16(SL_REC_PYTHON.rawValue)
    static let recordCollected = UInt16(SL_REC_COLLECTED.rawValue)
    static let commandCollect = UInt16(SL_CMD_COLLECT.rawValue)
    static let recordPairs = UInt16(SL_REC_PAIRS.rawValue)
    static let recordPeak = UInt16(SL_REC_PEAK.rawValue)
    static let recordRetag = UInt16(SL_REC_RETAG.rawValue)
}

/// A Swift async caller's entry in a stack (SL_ASYNC_FRAME_TAG in
/// swiftleak_protocol.h): the resume function's address, tagged.
public enum AsyncFrameEntry {
    static let tag = UInt64(SL_ASYNC_FRAME_TAG)
    static let addressMask = UInt64(SL_ASYNC_FRAME_ADDRESS_MASK)

    /// Whether a stack entry is an async caller's resume point (bit 62 set,
    /// bit 63, which marks Python entries, clear).
    public static func isAsync(_ ip: UInt64) -> Bool { ip & (tag | 1 << 63) == tag }

    /// The resume function's entry address.
    public static func address(_ ip: UInt64) -> UInt64 { ip & addressMask }
}
