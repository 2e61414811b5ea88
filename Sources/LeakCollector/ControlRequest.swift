/// A request to an attach session's control socket. Both ends use this one
/// type: `ControlClient` writes `line`, `ControlServer` reads it back with
/// `init(line:)`, so the text of the protocol is written only here.
public enum ControlRequest: Equatable, Sendable {
    /// Write a snapshot; with `resetPeak`, start a new peak window after it.
    case snapshot(resetPeak: Bool)
    /// Final snapshot, hooks off, the target runs on.
    case detach
    /// Is a session there?
    case status
    /// Run CPython's gc.collect() in the target; the answer is the number of objects it collected.
    case collect
    /// A snapshot whose live blocks are also counted by type (`swiftleak types`).
    case types
    /// Pause the target, scan its memory for unreachable blocks, write a
    /// snapshot carrying the result (`swiftleak leaks`).
    case scan

    /// The request as sent, without the newline.
    public var line: String {
        switch self {
        case .snapshot(resetPeak: false): return "snapshot"
        case .snapshot(resetPeak: true): return "snapshot reset-peak"
        case .detach: return "detach"
        case .status: return "status"
        case .collect: return "collect"
        case .types: return "types"
        case .scan: return "scan"
        }
    }

    /// Reads a request line; nil for anything else.
    public init?(line: String) {
        let requests: [ControlRequest] = [.snapshot(resetPeak: false), .snapshot(resetPeak: true), .detach, .status, .types, .collect, .scan]
        guard let request = requests.first(where: { $0.line == line }) else { return nil }
        self = request
    }
}

/// The answer to a `ControlRequest`: `ok <text>` or `error <text>`, one line.
public enum ControlAnswer: Equatable, Sendable {
    case ok(String)
    case error(String)

    public var line: String {
        switch self {
        case let .ok(text): return "ok " + text
        case let .error(text): return "error " + text
        }
    }

    /// Reads an answer line; nil when it is neither form.
    public init?(line: String) {
        if line.hasPrefix("ok ") {
            self = .ok(String(line.dropFirst(3)))
        } else if line.hasPrefix("error ") {
            self = .error(String(line.dropFirst(6)))
        } else {
            return nil
        }
    }
}
