import Glibc
import LeakProc

/// Monotonic time in seconds: durations of the attach and of the pause must
/// not jump with wall-clock adjustments.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        _ = retryingInterrupted {
            defer { request = remaining }
            return nanosleep(&request, &remaining)
        }
    }
}
