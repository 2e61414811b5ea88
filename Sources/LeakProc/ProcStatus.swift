/// /proc/PID/status (or /proc/PID/task/TID/status): "Key:\tvalue" lines.
/// Parsed from text so tests can feed it samples.
public struct ProcStatus {
    /// Every field, value trimmed, by key.
    public var fields: [String: String] = [:]

    public init(text: String) {
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingBlanks()
        }
    }

    public var name: String { fields["Name"] ?? "" }
    /// First letter of State: R, S, D, T, t, Z, X...
    public var state: Character { fields["State"]?.first ?? "?" }
    public var tgid: Int32 { fields["Tgid"].flatMap { Int32($0) } ?? 0 }
    public var tracerPID: Int32 { fields["TracerPid"].flatMap { Int32($0) } ?? 0 }
    /// Real uid and gid (first column of Uid:/Gid:).
    public var uid: UInt32 { firstColumn("Uid").flatMap { UInt32($0) } ?? 0 }
    public var gid: UInt32 { firstColumn("Gid").flatMap { UInt32($0) } ?? 0 }
    /// The id in the process's own (innermost) pid namespace: the last
    /// column of NSpid. The id itself when the kernel has no NSpid line.
    public var pidInOwnNamespace: Int32? {
        fields["NSpid"]?.split(separator: "\t").last.flatMap { Int32($0) }
    }
    /// Filesystem uid and gid (fourth column): whose files the process may open.
    public var fsuid: UInt32 { column("Uid", 3).flatMap { UInt32($0) } ?? 0 }
    public var fsgid: UInt32 { column("Gid", 3).flatMap { UInt32($0) } ?? 0 }
    public var seccompMode: Int { fields["Seccomp"].flatMap { Int($0) } ?? 0 }
    /// x86_Thread_features: absent on kernels without user shadow stacks.
    public var threadFeatures: String { fields["x86_Thread_features"] ?? "" }

    public var hasShadowStack: Bool {
        threadFeatures.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains("shstk")
    }

    /// A hexadecimal mask: "SigBlk" (the thread blocks), "SigCgt" (the
    /// process catches), "SigIgn", "CapEff" (capabilities in effect).
    public func hexMask(_ field: String) -> UInt64? {
        fields[field].flatMap { UInt64($0, radix: 16) }
    }

    private func firstColumn(_ key: String) -> Substring? {
        column(key, 0)
    }

    private func column(_ key: String, _ index: Int) -> Substring? {
        let columns = fields[key]?.split(separator: "\t") ?? []
        return index < columns.count ? columns[index] : nil
    }
}

extension Substring {
    /// Without the spaces and tabs around it (and a trailing newline).
    public func trimmingBlanks() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s.removeLast() }
        return String(s)
    }
}
