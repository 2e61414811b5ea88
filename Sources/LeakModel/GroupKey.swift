/// What makes two frames (or stacks) fall into the same group, with the
/// fallbacks used when debug info or symbols are missing.
enum GroupKey: Hashable {
    case line(file: String, line: UInt32)
    case functionAt(function: String, address: UInt64)
    case moduleAt(module: String?, address: UInt64)
    case function(String)
    case file(String)
    case module(String?)
    case traceback([Frame])

    init(_ frame: Frame, groupBy: GroupBy) {
        switch groupBy {
        case .lineno:
            if let file = frame.file, frame.line != 0 {
                self = .line(file: file, line: frame.line)
            } else if let function = frame.function {
                self = .functionAt(function: function, address: frame.address)
            } else {
                self = .moduleAt(module: frame.module, address: frame.address)
            }
        case .function:
            if let function = frame.function {
                self = .function(function)
            } else {
                self = .moduleAt(module: frame.module, address: frame.address)
            }
        case .filename:
            if let file = frame.file {
                self = .file(file)
            } else {
                self = .module(frame.module)
            }
        case .module:
            self = .module(frame.module)
        case .traceback:
            self = .traceback([frame])
        }
    }

    /// A total order for ties, so output does not depend on hashing.
    var sortKey: String {
        switch self {
        case let .line(file, line): return "0|\(file)|\(pad(UInt64(line)))"
        case let .functionAt(function, address): return "1|\(function)|\(pad(address))"
        case let .moduleAt(module, address): return "2|\(module ?? "")|\(pad(address))"
        case let .function(function): return "3|\(function)"
        case let .file(file): return "4|\(file)"
        case let .module(module): return "5|\(module ?? "")"
        case let .traceback(frames):
            return "6|" + frames.map { "\($0.file ?? ""):\(pad(UInt64($0.line))):\($0.function ?? ""):\($0.module ?? ""):\(pad($0.address))" }
                .joined(separator: "|")
        }
    }

    private func pad(_ n: UInt64) -> String {
        let s = String(n, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
