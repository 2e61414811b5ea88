import Foundation
import Glibc
import LeakProc

/// The directory where one attach session and its agent meet: made fresh
/// (random name, exclusively) in the target's own temporary directory,
/// reached through /proc/PID/root so that a container's root, another mount
/// namespace or a private /tmp are seen as the target sees them.
///
/// The directory stays ours (so the target's user can neither rename it
/// nor swap it for a symlink while we work in it) with the target's group
/// and mode 0710: the target can reach the socket, no one can list it. The
/// socket itself belongs to the target's filesystem uid and gid, mode 0600:
/// only that user and root can connect. Every step works on descriptors
/// opened without following symlinks, never on a path the target could
/// redirect.
public final class SessionSocketDirectory {
    /// The socket as the target names it (in its own root).
    public let targetPath: String
    /// Where we bind it: through our descriptor of the directory.
    public let hostPath: String
    private let parent: Int32
    private let directory: Int32
    private let name: String
    private let owner: (uid: uid_t, gid: gid_t)

    /// O_PATH (Linux, every architecture Swift runs on), which Glibc does not export to Swift.
    static let openPathOnly: Int32 = 0o10000000
    static let socketName = "events"
    static let namePrefix = "swiftleak-"
    /// Tried in order: the first where we can make a directory wins.
    static let candidates = ["tmp", "dev/shm", "var/tmp"]

    /// Makes the directory in the target's first writable temporary
    /// directory, after removing what a killed swiftleak left there.
    public init(pid: Int32) throws {
        // A live thread's view: after the main thread called pthread_exit,
        // /proc/PID/root is gone while the process serves on.
        guard let process = ProcDirectory(pid: pid).liveThread() else { throw CollectorError("pid \(pid) has exited") }
        let status: ProcStatus
        switch process.status() {
        case let .success(read): status = read
        case let .failure(error): throw CollectorError("cannot read \(process.entry("status")): \(error)")
        }
        owner = (status.fsuid, status.fsgid)
        var failures: [String] = []
        for candidate in Self.candidates {
            guard let parent = Self.openWithoutSymlinks(process.root, candidate) else {
                failures.append("/\(candidate): \(Errno.current)")
                continue
            }
            Self.removeAbandoned(in: parent)
            let template = "/proc/self/fd/\(parent)/\(Self.namePrefix)\(getpid())-XXXXXX"
            var bytes = Array(template.utf8CString)
            guard mkdtemp(&bytes) != nil else {
                failures.append("/\(candidate): \(Errno.current)")
                close(parent)
                continue
            }
            let made = String(cString: bytes)
            name = String(made[made.index(after: made.lastIndex(of: "/")!)...])
            let directory = openat(parent, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard directory >= 0 else {
                let error = Errno.current
                unlinkat(parent, name, AT_REMOVEDIR)
                close(parent)
                throw CollectorError("cannot open /\(candidate)/\(name) in pid \(pid)'s filesystem: \(error)")
            }
            self.parent = parent
            self.directory = directory
            targetPath = "/\(candidate)/\(name)/\(Self.socketName)"
            hostPath = "/proc/self/fd/\(directory)/\(Self.socketName)"
            try admitOwnerGroup(pid: pid)
            return
        }
        throw CollectorError("pid \(pid) has no temporary directory swiftleak can use for its socket (\(failures.joined(separator: "; ")))")
    }

    /// Lets the target's group search the directory (it is private to us otherwise).
    private func admitOwnerGroup(pid: Int32) throws {
        guard owner.uid != geteuid() else { return }
        guard fchown(directory, geteuid(), owner.gid) == 0, fchmod(directory, 0o710) == 0 else {
            let error = Errno.current
            remove()
            throw CollectorError("cannot open the socket directory to pid \(pid)'s user (uid \(owner.uid)): \(error)")
        }
    }

    /// Hands the bound socket to the target's user.
    public func admitTarget(pid: Int32) throws {
        guard owner.uid != geteuid() else { return }
        guard fchownat(directory, Self.socketName, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw CollectorError("cannot give the socket to pid \(pid)'s user (uid \(owner.uid)): \(Errno.current)")
        }
    }

    /// Removes the socket and the directory.
    public func remove() {
        unlinkat(directory, Self.socketName, 0)
        unlinkat(parent, name, AT_REMOVEDIR)
        close(directory)
        close(parent)
    }

    /// Opens `root/relative` one component at a time, refusing symlinks: an
    /// absolute symlink in the target's tree would resolve in ours.
    static func openWithoutSymlinks(_ root: String, _ relative: String) -> Int32? {
        var fd = open(root, openPathOnly | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        for component in relative.split(separator: "/") {
            let next = openat(fd, String(component), Self.openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let error = errno
            close(fd)
            guard next >= 0 else {
                errno = error
                return nil
            }
            fd = next
        }
        return fd
    }

    /// Removes the directories of sessions whose swiftleak was killed: ours
    /// (owned by our uid), named after a swiftleak pid that is gone, whose
    /// socket nobody listens on.
    static func removeAbandoned(in parent: Int32) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd/\(parent)") else { return }
        for name in entries {
            guard let owner = ownerPID(ofDirectory: name), !ProcessFacts.isRunning(owner) else { continue }
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                  (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid() else { continue }
            let directory = openat(parent, name, openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard directory >= 0 else { continue }
            if fstatat(directory, socketName, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFSOCK, UnixSocket.isAbandoned("/proc/self/fd/\(directory)/\(socketName)") else {
                    close(directory)
                    continue
                }
                unlinkat(directory, socketName, 0)
            }
            close(directory)
            unlinkat(parent, name, AT_REMOVEDIR)
        }
    }

    /// "swiftleak-<swiftleak pid>-XXXXXX" (mkdtemp's six random characters).
    static func ownerPID(ofDirectory name: String) -> Int32? {
        guard name.hasPrefix(namePrefix) else { return nil }
        let parts = name.dropFirst(namePrefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 6 else { return nil }
        return Int32(parts[0])
    }
}
