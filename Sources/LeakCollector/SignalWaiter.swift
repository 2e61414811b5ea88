import Glibc
import LeakProc

/// Synchronous signal handling: the signals a session reacts to are blocked
/// in every thread (call `blockSessionSignals` before any thread starts) and
/// taken one at a time from the main loop with sigtimedwait, so no handler
/// ever runs in the middle of a snapshot.
public enum SignalWaiter {
    /// A delivered signal, and whether a process sent it (kill) rather than the terminal.
    public struct Delivery {
        public var signal: Int32
        public var sentByProcess: Bool
        public var senderPID: Int32
    }

    public static let sessionSignals: [Int32] = [SIGUSR1, SIGINT, SIGTERM, SIGHUP, SIGCHLD]

    /// Blocks the session signals in the calling thread and every thread it starts later.
    public static func blockSessionSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in sessionSignals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // Writing to a gone agent must be an error code, not a death.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits up to `timeout` seconds for one of the session signals.
    public static func wait(timeout: Double) -> Delivery? {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in sessionSignals { sigaddset(&set, signal) }
        var info = siginfo_t()
        var time = timespec(tv_sec: Int(timeout), tv_nsec: Int((timeout - Double(Int(timeout))) * 1e9))
        let signal = sigtimedwait(&set, &info, &time)
        guard signal > 0 else { return nil }
        let sender = SignalSender(info)
        return Delivery(signal: signal, sentByProcess: sender.isProcess, senderPID: sender.pid)
    }
}
