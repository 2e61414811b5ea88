/// What makes two frames fall into the same group, with the fallbacks used
/// when debug info or symbols are missing. (Whole stacks group by
/// `GroupIdentity.stack`.)
enum GroupKey: Hashable {
    case line(file: String, line: UInt32)
    case functionAt(function: String, address: UInt64)
    case moduleAt(module: String?, address: UInt64)
    case function(String)
    case file(String)
    case module(String?)
    /// A block type's name (`typeFrame`), unknown included.
    case type(String)

    /// Nil for `.traceback`, which groups whole stacks.
    init?(_ frame: Frame, groupBy: GroupBy) {
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
            return nil
        case .type:
            self = .type(frame.function ?? unknownTypeName)
        }
    }

    /// A total order for ties, so output does not depend on hashing. Only
    /// consulted when sizes and counts tie, so it is computed lazily.
    static func < (a: GroupKey, b: GroupKey) -> Bool {
        switch (a, b) {
        case let (.line(f1, l1), .line(f2, l2)): return (f1, l1) < (f2, l2)
        case let (.functionAt(f1, a1), .functionAt(f2, a2)): return (f1, a1) < (f2, a2)
        case let (.moduleAt(m1, a1), .moduleAt(m2, a2)): return (m1 ?? "", a1) < (m2 ?? "", a2)
        case let (.function(f1), .function(f2)): return f1 < f2
        case let (.file(f1), .file(f2)): return f1 < f2
        case let (.module(m1), .module(m2)): return (m1 ?? "") < (m2 ?? "")
        case let (.type(t1), .type(t2)): return t1 < t2
        default: return a.rank < b.rank
        }
    }

    private var rank: Int {
        switch self {
        case .line: return 0
        case .functionAt: return 1
        case .moduleAt: return 2
        case .function: return 3
        case .file: return 4
        case .module: return 5
        case .type: return 6
        }
    }

    /// By location first, as a reader scans them.
    static func frameBefore(_ x: Frame, _ y: Frame) -> Bool {
        if x.file != y.file { return (x.file ?? "") < (y.file ?? "") }
        if x.line != y.line { return x.line < y.line }
        if x.function != y.function { return (x.function ?? "") < (y.function ?? "") }
        if x.module != y.module { return (x.module ?? "") < (y.module ?? "") }
        return x.address < y.address
    }
}
