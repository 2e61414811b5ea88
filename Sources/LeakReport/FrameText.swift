import LeakModel

/// How frames and groups are named in text output.
public enum FrameText {
    public static func hex(_ address: UInt64) -> String { "0x" + String(address, radix: 16) }

    public static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// "0x7f12 in libfoo.so", for frames without symbols.
    public static func addressText(_ frame: Frame) -> String {
        if let module = frame.module { return "\(hex(frame.address)) in \(basename(module))" }
        return hex(frame.address)
    }

    /// "file:line function", else "function at 0x7f12 in libfoo.so", else
    /// "0x7f12 in libfoo.so"; " (inlined)" after an inline level, " (async)"
    /// after a Swift async caller.
    static func describe(_ frame: Frame) -> String {
        location(frame) + (frame.isInlined ? " (inlined)" : "") + (frame.isAsync ? " (async)" : "")
    }

    private static func location(_ frame: Frame) -> String {
        if let file = frame.file, frame.line != 0 {
            if let function = frame.function { return "\(file):\(frame.line) \(function)" }
            return "\(file):\(frame.line)"
        }
        if let function = frame.function { return "\(function) at \(addressText(frame))" }
        return addressText(frame)
    }

    /// The name of the group a statistic's representative frame stands for.
    static func group(_ frame: Frame, groupBy: GroupBy) -> String {
        switch groupBy {
        case .lineno, .traceback:
            return describe(frame)
        case .function:
            return frame.function ?? addressText(frame)
        case .filename:
            return frame.file ?? frame.module ?? "<unknown file>"
        case .module:
            return frame.module ?? "<unknown module>"
        case .type:
            return frame.function ?? unknownTypeName
        }
    }

    /// Column title for the group.
    static func title(_ groupBy: GroupBy) -> String {
        switch groupBy {
        case .lineno: return "line"
        case .function: return "function"
        case .filename: return "file"
        case .module: return "module"
        case .traceback: return "traceback"
        case .type: return "type"
        }
    }

    /// The command line, quoted so it could be pasted into a shell.
    static func command(_ argv: [String]) -> String {
        argv.map { arg in
            let safe = !arg.isEmpty && arg.unicodeScalars.allSatisfy {
                ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || "-_./=:,+@%".unicodeScalars.contains($0)
            }
            return safe ? arg : "'" + arg.replacingQuotes() + "'"
        }.joined(separator: " ")
    }
}

private extension String {
    func replacingQuotes() -> String {
        split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''")
    }
}
