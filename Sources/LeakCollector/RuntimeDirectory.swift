import Foundation
import Glibc

/// The per-user directory that holds swiftleak's sockets.
///
/// Only its owner may enter it (mode 0700, checked, not a symlink), so no
/// other user can connect to an agent stream or a control socket, whatever
/// the sockets' own modes.
public enum RuntimeDirectory {
    /// `$XDG_RUNTIME_DIR/swiftleak` when that is set, else `/tmp/swiftleak-<uid>`.
    public static func path() -> String {
        if let base = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), !base.isEmpty {
            return base + "/swiftleak"
        }
        return "/tmp/swiftleak-\(getuid())"
    }

    /// Creates the directory if needed and checks it is private to us.
    public static func ensure(_ path: String = path()) throws -> String {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw CollectorError.system("cannot create \(path)", errno: errno)
        }
        try checkPrivate(path)
        removeAbandonedSockets(in: path)
        return path
    }

    /// Removes the sockets a swiftleak killed with SIGKILL left behind:
    /// `*.events` (named after their swiftleak's pid, the number before
    /// `.events`) whose swiftleak is gone, and `*.control` (named after the
    /// target) nobody listens on any more. Another live session's sockets stay.
    static func removeAbandonedSockets(in directory: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in entries where name.hasSuffix(".events") || name.hasSuffix(".control") {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { continue }
            if name.hasSuffix(".events"), let owner = ownerPID(ofEventSocket: name), ProcessFacts.isRunning(owner) { continue }
            if UnixSocket.isAbandoned(path) { unlink(path) }
        }
    }

    /// "run-<swiftleak pid>.events", "attach-<target>-<swiftleak pid>.events".
    static func ownerPID(ofEventSocket name: String) -> Int32? {
        name.dropLast(".events".count).split(separator: "-").last.flatMap { Int32($0) }
    }

    /// Throws unless `path` is a real directory owned by us with mode 0700.
    static func checkPrivate(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw CollectorError.system("cannot inspect \(path)", errno: errno)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CollectorError("\(path) is not a directory; remove it and retry")
        }
        guard info.st_uid == getuid() else {
            throw CollectorError("\(path) belongs to uid \(info.st_uid), not to you; remove it or set XDG_RUNTIME_DIR")
        }
        if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
            throw CollectorError.system("cannot make \(path) private", errno: errno)
        }
    }

    /// Path of the control socket of the session tracing `pid`.
    public static func controlSocket(forTarget pid: Int32, in directory: String = path()) -> String {
        "\(directory)/\(pid).control"
    }
}
