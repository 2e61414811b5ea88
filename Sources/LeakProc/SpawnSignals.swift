#if canImport(Glibc)
import Glibc
#endif

/// What a process swiftleak starts (the traced program, the push helper)
/// inherits of its signal state: swiftleak blocks its session signals and
/// ignores SIGPIPE, and none of that may reach the child. Only those are
/// put back; a signal ignored by whoever started swiftleak (a shell's
/// background job ignores SIGQUIT) stays as the child would have had it.
public enum SpawnSignals {
    public static let changedBySwiftleak: [Int32] = [SIGPIPE, SIGUSR1, SIGINT, SIGTERM, SIGHUP, SIGCHLD]

    /// Runs `body` with spawn attributes giving the child an empty signal
    /// mask and the default disposition of `changedBySwiftleak`.
    public static func withCleanAttributes<T>(_ body: (inout posix_spawnattr_t) throws -> T) rethrows -> T {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in changedBySwiftleak { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return try body(&attributes)
    }
}
