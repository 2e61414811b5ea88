#if canImport(Glibc)
import Glibc
#endif

/// Calls `call` until it does not fail with EINTR, and returns its result.
///
/// For calls that report failure as a negative result and the reason in
/// errno (read, write, send, accept, poll, waitpid, nanosleep...): a signal
/// that interrupts one is no failure of ours, so the call is simply made
/// again. The one place that retries on EINTR.
@inlinable
public func retryingInterrupted<Result: SignedInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
