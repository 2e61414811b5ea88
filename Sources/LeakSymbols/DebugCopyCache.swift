import Foundation
import LeakProc
#if canImport(Glibc)
import Glibc
#endif

/// Where inflated debug-file copies (`InflatedDebugFiles`) outlive the
/// swiftleak process that made them: inflating libc's debug file costs some
/// 65 ms of CPU, and every `attach`, `run` or `snapshot` session paid it
/// again, on the traced program's machine, while the program ran.
///
/// A copy is made unnamed (O_TMPFILE) in the cache directory and linked to
/// its name only once complete, so a reader never sees half a copy and two
/// swiftleak processes making the same one keep the first. Its name holds
/// the original's path and identity (size, modification time), so an
/// updated debug file gets a new copy. The directory is kept under `limit`
/// bytes by removing the least recently used copies. Anything unusable (no home directory, a directory another user
/// could write to, a full disk) turns the cache off for that copy: the
/// caller then makes an unlinked one, as without a cache.
///
/// `SWIFTLEAK_CACHE_DIR` picks the directory; set to `off` (or empty) it
/// turns the cache off. Default: `$XDG_CACHE_HOME/swiftleak/debug`, else
/// `~/.cache/swiftleak/debug` when the home directory is this user's.
/// Deleting it loses nothing but the saving.
struct DebugCopyCache: Sendable {
    let directory: String
    let limit: Int

    static let defaultLimit = 1 << 30

    /// The cache the environment asks for, or nil when it is off or there
    /// is no home directory to put it in.
    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> DebugCopyCache? {
        if let chosen = environment["SWIFTLEAK_CACHE_DIR"] {
            return chosen.isEmpty || chosen == "off" ? nil : DebugCopyCache(directory: chosen, limit: defaultLimit)
        }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return DebugCopyCache(directory: xdg + "/swiftleak/debug", limit: defaultLimit)
        }
        // Not in another user's home (root under a sudo that kept HOME):
        // files there would be theirs to find and not theirs to delete.
        var info = stat()
        guard let home = environment["HOME"], home.hasPrefix("/"), stat(home, &info) == 0, info.st_uid == geteuid()
        else { return nil }
        return DebugCopyCache(directory: home + "/.cache/swiftleak/debug", limit: defaultLimit)
    }

    /// The name of the copy of the file at `path` with this identity.
    static func name(path: String, size: Int64, modified: Int) -> String {
        // Not hidden: no component's leading dot (".build-id").
        let flat = path.split(separator: "/").suffix(3).map { $0.drop { $0 == "." } }.joined(separator: "_")
            .map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" ? $0 : "_" }
        return String(flat) + "-\(size)-\(modified).copy"
    }

    /// The directory, created if need be, when only this user can change
    /// it; nil otherwise.
    func usableDirectory() -> String? {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        var info = stat()
        guard lstat(directory, &info) == 0, Self.isThisUsersAlone(info, type: S_IFDIR) else { return nil }
        return directory
    }

    /// A descriptor of the named copy, when it is there and this user's
    /// alone, in a directory that is (`usableDirectory`, asked first); its
    /// time is touched, so the least recently used go first.
    func open(_ name: String) -> Int32? {
        let fd = retryingInterrupted { Glibc.open(directory + "/" + name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, Self.isThisUsersAlone(info, type: S_IFREG) else {
            close(fd)
            return nil
        }
        _ = futimens(fd, nil)
        return fd
    }

    /// Gives the complete unnamed copy `fd` (made in `directory`) its name;
    /// false when it could not (another process named its own first, which
    /// is as good). Then trims the directory to the limit.
    @discardableResult
    func publish(_ fd: Int32, as name: String) -> Bool {
        let linked = linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, directory + "/" + name, AT_SYMLINK_FOLLOW) == 0
        trim(keeping: name)
        return linked
    }

    /// Of this type, owned by this user, and writable by no one else.
    private static func isThisUsersAlone(_ info: stat, type: mode_t) -> Bool {
        (info.st_mode & S_IFMT) == type && info.st_uid == geteuid() && info.st_mode & 0o022 == 0
    }

    func remove(_ name: String) {
        unlink(directory + "/" + name)
    }

    /// Removes the least recently used copies until the rest fit `limit`.
    func trim(keeping kept: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        var copies: [(name: String, size: Int, used: Int)] = []
        for name in names where name.hasSuffix(".copy") {
            var info = stat()
            guard lstat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            copies.append((name, Int(info.st_size), info.st_mtim.tv_sec))
        }
        var total = copies.reduce(0) { $0 + $1.size }
        for copy in copies.sorted(by: { $0.used < $1.used }) where total > limit && copy.name != kept {
            if unlink(directory + "/" + copy.name) == 0 { total -= copy.size }
        }
    }
}
