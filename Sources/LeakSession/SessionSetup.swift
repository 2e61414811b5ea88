import Glibc
import LeakCollector

/// Process-wide preparation for a tracing session; must run before any thread starts.
public enum SessionSetup {
    public static func prepare() {
        SignalWaiter.blockSessionSignals()
        // libdw would fetch missing debug info over the network during a
        // snapshot when this is set: never stall a snapshot on a download.
        unsetenv("DEBUGINFOD_URLS")
    }
}
