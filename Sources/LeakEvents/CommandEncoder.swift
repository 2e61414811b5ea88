import CLeakProtocol

/// Frames for the commands swiftleak sends to the agent.
public enum CommandEncoder {
    /// Ask the agent to flush everything recorded so far, then answer with `.sync(token)`.
    public static func sync(token: UInt64) -> [UInt8] {
        frame(type: ProtocolConstants.commandSync, payload: wireBytes(sl_cmd_sync(token: token.littleEndian)))
    }

    /// Ask the agent to unhook, flush, report STOPPED and close.
    public static func stop() -> [UInt8] {
        frame(type: ProtocolConstants.commandStop, payload: [])
    }

    /// Let an exiting process go (answer to `.exiting`).
    public static func release() -> [UInt8] {
        frame(type: ProtocolConstants.commandRelease, payload: [])
    }

    /// Ask the agent to run CPython's cyclic garbage collector with the GIL, then answer with `.collected(token)`.
    public static func collect(token: UInt64) -> [UInt8] {
        frame(type: ProtocolConstants.commandCollect, payload: wireBytes(sl_cmd_collect(token: token.littleEndian)))
    }

    static func frame(type: UInt16, payload: [UInt8]) -> [UInt8] {
        let header = sl_frame_header(size: UInt32(payload.count).littleEndian, type: type.littleEndian, flags: 0)
        return wireBytes(header) + payload
    }
}
