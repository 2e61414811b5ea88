/// Frames for the commands swiftleak sends to the agent.
public enum CommandEncoder {
    /// Ask the agent to flush everything recorded so far, then answer with `.sync(token)`.
    public static func sync(token: UInt64) -> [UInt8] {
        frame(type: ProtocolConstants.commandSync, payload: littleEndianBytes(token))
    }

    /// Ask the agent to unhook, flush, report STOPPED and close.
    public static func stop() -> [UInt8] {
        frame(type: ProtocolConstants.commandStop, payload: [])
    }

    /// Let an exiting process go (answer to `.exiting`).
    public static func release() -> [UInt8] {
        frame(type: ProtocolConstants.commandRelease, payload: [])
    }

    static func frame(type: UInt16, payload: [UInt8]) -> [UInt8] {
        littleEndianBytes(UInt32(payload.count)) + littleEndianBytes(type) + littleEndianBytes(UInt16(0)) + payload
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
