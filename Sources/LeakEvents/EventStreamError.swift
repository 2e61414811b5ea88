/// A broken event stream. The reader stops; it never guesses past a bad frame.
public enum EventStreamError: Error, Equatable, CustomStringConvertible {
    case badMagic
    case unsupportedVersion(UInt32)
    case badHello(size: UInt32)
    case unknownMode(UInt32)
    case frameTooLarge(type: UInt16, size: UInt32)
    case shortRecord(type: UInt16, size: UInt32)

    public var description: String {
        switch self {
        case .badMagic:
            return "the peer is not a swiftleak agent (bad magic in its hello)"
        case .unsupportedVersion(let version):
            return "the agent speaks protocol version \(version), this swiftleak speaks \(ProtocolConstants.version); use the agent built with this swiftleak"
        case .badHello(let size):
            return "the agent's hello is malformed (\(size) bytes)"
        case .unknownMode(let mode):
            return "the agent announced an unknown mode \(mode)"
        case .frameTooLarge(let type, let size):
            return "broken event stream: a frame of type \(type) claims \(size) bytes"
        case .shortRecord(let type, let size):
            return "broken event stream: a record of type \(type) has only \(size) bytes"
        }
    }
}
