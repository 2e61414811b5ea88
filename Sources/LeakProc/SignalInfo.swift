import CLeakSys
#if canImport(Glibc)
import Glibc
#endif

/// Who sent a signal, from its siginfo_t, whose fields Swift cannot reach
/// through the unions: read by CLeakSys rather than at offsets written out here.
public struct SignalSender: Equatable {
    /// si_code <= 0: a process sent it (SI_USER, SI_QUEUE, tkill); the
    /// kernel's own signals (SI_KERNEL, 0x80, for the terminal) are positive.
    public var isProcess: Bool
    /// The sending process; meaningful when `isProcess`.
    public var pid: Int32

    public init(_ info: siginfo_t) {
        var info = info
        isProcess = sl_siginfo_code(&info) <= 0
        pid = sl_siginfo_pid(&info)
    }
}
