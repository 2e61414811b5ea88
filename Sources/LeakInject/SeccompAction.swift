/// What a seccomp filter decided for one system call (the action part of
/// its 32-bit return value), ordered as the kernel orders them when
/// several filters answer: the most restrictive wins.
enum SeccompAction: Equatable {
    case killProcess, killThread, trap, errno(UInt16), userNotify, trace, log, allow

    init(returnValue: UInt32) {
        switch returnValue & 0xffff_0000 { // SECCOMP_RET_ACTION_FULL
        case 0x8000_0000: self = .killProcess
        case 0x0000_0000: self = .killThread
        case 0x0003_0000: self = .trap
        case 0x0005_0000: self = .errno(UInt16(returnValue & 0xffff))
        case 0x7fc0_0000: self = .userNotify
        case 0x7ff0_0000: self = .trace
        case 0x7ffc_0000: self = .log
        case 0x7fff_0000: self = .allow
        default: self = .killProcess // the kernel kills on an action it does not know
        }
    }

    /// The kernel compares actions as signed 32-bit numbers: lower wins.
    var precedence: Int32 {
        switch self {
        case .killProcess: return Int32(bitPattern: 0x8000_0000)
        case .killThread: return 0
        case .trap: return 0x0003_0000
        case .errno: return 0x0005_0000
        case .userNotify: return 0x7fc0_0000
        case .trace: return 0x7ff0_0000
        case .log: return 0x7ffc_0000
        case .allow: return 0x7fff_0000
        }
    }

    /// The call runs (LOG only records it).
    var runsTheCall: Bool { self == .allow || self == .log }

    /// "kills mmap(2)", "makes mmap(2) fail with EPERM": completes "a filter
    /// that ..." (or "a filter that may ..." with `afterMay`).
    func phrase(_ call: String, afterMay: Bool = false) -> String {
        let s = afterMay ? "" : "s"
        switch self {
        case .killProcess, .killThread: return "kill\(s) \(call)"
        case .trap: return "send\(s) SIGSYS for \(call)"
        case .errno(let code): return "make\(s) \(call) fail with \(errnoName(Int32(code)))"
        case .userNotify: return "hand\(s) \(call) to a supervisor process"
        case .trace: return "hand\(s) \(call) to a tracer (failing it with ENOSYS under ours)"
        case .log, .allow: return "allow\(s) \(call)"
        }
    }
}

/// "EPERM", "ENOSYS": the names a seccomp profile is written with.
func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [1: "EPERM", 2: "ENOENT", 5: "EIO", 12: "ENOMEM", 13: "EACCES", 22: "EINVAL",
                                  38: "ENOSYS", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT"]
    return names[code] ?? "errno \(code)"
}
