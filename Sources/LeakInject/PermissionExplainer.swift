import Glibc
import LeakProc

/// Turns an EPERM from PTRACE_SEIZE into the reasons that apply on this
/// machine: the kernel gives no detail, and "Operation not permitted" alone
/// leaves users guessing (memray PR #940).
enum PermissionExplainer {
    static func error(pid: Int32) -> InjectError {
        var reasons: [String] = []
        let ourUID = geteuid()
        let status = try? ProcStatus.read(pid: pid).get()
        if let status, status.tracerPID != 0 {
            return .alreadyTraced(pid: pid, tracerPID: status.tracerPID, tracerName: processName(status.tracerPID))
        }
        let hasCapability = capabilityEffective(bit: 19) // CAP_SYS_PTRACE
        if let status, status.uid != ourUID, !hasCapability {
            reasons.append("it runs as uid \(status.uid) and we as uid \(ourUID) (run as that user or with sudo)")
        }
        if !hasCapability {
            reasons.append("we lack CAP_SYS_PTRACE (in a container: --cap-add=SYS_PTRACE)")
        }
        if let scope = ProcFiles.readIfPresent("/proc/sys/kernel/yama/ptrace_scope")?.trimmedLine {
            let meaning: String
            switch scope {
            case "0": meaning = "classic, not the cause"
            case "1": meaning = "only a parent may trace its children: sudo, or `echo 0 > /proc/sys/kernel/yama/ptrace_scope`"
            case "2": meaning = "only CAP_SYS_PTRACE may trace: run with sudo"
            case "3": meaning = "ptrace is disabled until reboot"
            default: meaning = "unknown value"
            }
            reasons.append("yama ptrace_scope is \(scope) (\(meaning))")
        } else {
            reasons.append("yama ptrace_scope: not present")
        }
        if status != nil, ourUID != 0 {
            reasons.append("a setuid or non-dumpable program can only be traced by root")
        }
        return .permissionDenied(pid: pid, detail: reasons.joined(separator: "; "))
    }

    static func processName(_ pid: Int32) -> String {
        ProcDirectory(pid: pid).name() ?? "?"
    }

    /// Reads CapEff from our own status: whether a capability is in effect.
    static func capabilityEffective(bit: Int) -> Bool {
        guard let mask = ProcFiles.readIfPresent("/proc/self/status").map(ProcStatus.init(text:))?.hexMask("CapEff") else {
            return false
        }
        return mask & (1 << UInt64(bit)) != 0
    }
}

extension String {
    /// The text without trailing newline and surrounding blanks.
    var trimmedLine: String { self[...].trimmingBlanks() }
}
