import Glibc

/// The fields of /proc/PID/status (or /proc/PID/task/TID/status) that decide
/// whether a process may be injected. Parsed from text so tests can feed it
/// samples.
struct ProcStatus {
    var name = ""
    /// First letter of State: R, S, D, T, t, Z, X...
    var state: Character = "?"
    var tgid: Int32 = 0
    var tracerPID: Int32 = 0
    /// Real uid and gid (first column of Uid:/Gid:).
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var seccompMode = 0
    /// x86_Thread_features: absent on kernels without user shadow stacks.
    var threadFeatures = ""

    init(text: String) {
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            let value = line[line.index(after: colon)...].trimmingCharacters()
            switch key {
            case "Name": name = value
            case "State": state = value.first ?? "?"
            case "Tgid": tgid = Int32(value) ?? 0
            case "TracerPid": tracerPID = Int32(value) ?? 0
            case "Uid": uid = UInt32(value.split(separator: "\t").first ?? "") ?? 0
            case "Gid": gid = UInt32(value.split(separator: "\t").first ?? "") ?? 0
            case "Seccomp": seccompMode = Int(value) ?? 0
            case "x86_Thread_features": threadFeatures = value
            default: break
            }
        }
    }

    var hasShadowStack: Bool {
        threadFeatures.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains("shstk")
    }

    static func read(pid: Int32) -> Result<ProcStatus, InjectError> {
        ProcFiles.read("/proc/\(pid)/status").map(ProcStatus.init(text:))
    }

    static func read(pid: Int32, tid: Int32) -> ProcStatus? {
        ProcFiles.readIfPresent("/proc/\(pid)/task/\(tid)/status").map(ProcStatus.init(text:))
    }
}

/// /proc/PID/stat: only the flags word is needed (PF_KTHREAD), and the
/// one-letter state for threads. The comm field may contain spaces and
/// parentheses, so fields are counted from the last ')'.
struct ProcStat {
    var state: Character
    var flags: UInt64

    static let kernelThreadFlag: UInt64 = 0x0020_0000 // PF_KTHREAD

    init?(text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields: state ppid pgrp session tty_nr tpgid flags ...
        guard fields.count > 6, let flags = UInt64(fields[6]) else { return nil }
        self.state = fields[0].first ?? "?"
        self.flags = flags
    }

    static func read(_ path: String) -> ProcStat? {
        ProcFiles.readIfPresent(path).flatMap(ProcStat.init(text:))
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s.removeLast() }
        return String(s)
    }
}
