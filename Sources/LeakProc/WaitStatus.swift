import CLeakSys

/// A waitpid status, decoded by the W* macros (through CLeakSys) rather
/// than by bit masks written out here.
public enum WaitStatus: Equatable {
    case exited(code: Int32)
    case killed(signal: Int32)
    /// Stopped by `signal`; `event` is the PTRACE_EVENT_* of a ptrace event
    /// stop, 0 for a signal-delivery-stop.
    case stopped(signal: Int32, event: Int32)
    /// Continued (WCONTINUED), or a status no macro recognises.
    case other

    public init(_ status: Int32) {
        let decoded = sl_decode_wait_status(status)
        switch decoded.kind {
        case 1: self = .exited(code: decoded.value)
        case 2: self = .killed(signal: decoded.value)
        case 3: self = .stopped(signal: decoded.value, event: decoded.event)
        default: self = .other
        }
    }

    /// The status a shell reports for the process: its exit code, or 128 +
    /// the signal that killed it; nil while it has not ended.
    public var shellExitCode: Int32? {
        switch self {
        case .exited(let code): return code
        case .killed(let signal): return 128 + signal
        case .stopped, .other: return nil
        }
    }
}
