/// /proc/PID/stat: the one-letter state and the flags word (PF_KTHREAD).
/// The comm field may contain spaces and parentheses, so fields are counted
/// from the last ')'.
public struct ProcStat {
    public var state: Character
    public var flags: UInt64

    public static let kernelThreadFlag: UInt64 = 0x0020_0000 // PF_KTHREAD
    public static let exitingFlag: UInt64 = 0x0000_0004 // PF_EXITING

    public init?(text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields: state ppid pgrp session tty_nr tpgid flags ...
        guard fields.count > 6, let flags = UInt64(fields[6]) else { return nil }
        self.state = fields[0].first ?? "?"
        self.flags = flags
    }

    /// The stat file at `path`, or nil when it is gone or unparsable.
    public static func read(_ path: String) -> ProcStat? {
        ProcFiles.readIfPresent(path).flatMap(ProcStat.init(text:))
    }

    /// Zombie (exited, not reaped) or dead: nothing runs any more.
    public var hasExited: Bool { state == "Z" || state == "X" }

    /// Exited, or on its way out: PF_EXITING is set before the thread lets
    /// go of its memory, while its state still says it runs.
    public var isExitingOrExited: Bool { hasExited || flags & Self.exitingFlag != 0 }
}
