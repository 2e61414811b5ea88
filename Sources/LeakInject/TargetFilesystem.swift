import LeakProc

/// The target's view of the filesystem. A process in a container (another
/// mount namespace or chroot) resolves paths against its own root, so a
/// library or socket path handed to it must exist there; /proc/PID/root is
/// that root as seen from here.
public struct TargetFilesystem {
    public let pid: Int32
    /// True when the target's root directory is ours (same device and inode),
    /// i.e. a path means the same file for both of us. Also true when
    /// /proc/PID/root cannot be examined: the attach itself reports why.
    public let sharesOurRoot: Bool

    public init(pid: Int32) {
        self.pid = pid
        sharesOurRoot = Self.liveThread(pid).sharesOurRoot
    }

    /// Where a path inside the target's filesystem is reachable from here:
    /// the path itself when the roots are shared, "/proc/PID/root" + path
    /// otherwise (e.g. to bind the socket the agent will connect to).
    public func hostPath(forTargetPath path: String) -> String {
        sharesOurRoot ? path : throughTargetRoot(path)
    }

    /// The same path resolved through the target's root, whether or not it
    /// is shared: also right for a target in another mount namespace whose
    /// root happens to be the same directory.
    func throughTargetRoot(_ path: String) -> String {
        Self.liveThread(pid).root + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// A live thread's directory: the main thread has no root once it exited.
    private static func liveThread(_ pid: Int32) -> ProcDirectory {
        ProcDirectory(pid: pid).liveThread() ?? ProcDirectory(pid: pid)
    }
}
