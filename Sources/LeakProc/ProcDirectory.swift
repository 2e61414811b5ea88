/// /proc/PID (or /proc/PID/task/TID) of one process or thread: the one
/// place that names its entries and reads them.
public struct ProcDirectory {
    public let pid: Int32
    /// The thread of a task directory; nil for the process's own.
    public let threadID: Int32?
    /// The directory, "/proc/PID" or "/proc/PID/task/TID".
    public let path: String

    public init(pid: Int32) {
        self.pid = pid
        threadID = nil
        path = "/proc/\(pid)"
    }

    /// One thread's directory.
    public func task(_ tid: Int32) -> ProcDirectory {
        ProcDirectory(pid: pid, threadID: tid, path: "/proc/\(pid)/task/\(tid)")
    }

    private init(pid: Int32, threadID: Int32?, path: String) {
        self.pid = pid
        self.threadID = threadID
        self.path = path
    }

    /// The id whose /proc/ID names this directory's thread: the thread's for
    /// a task directory, else the process's. For callers that build
    /// /proc/ID paths themselves (libdwfl).
    public var id: Int32 { threadID ?? pid }

    /// The path of an entry, e.g. `entry("maps")`.
    public func entry(_ name: String) -> String {
        "\(path)/\(name)"
    }

    public func read(_ name: String) -> Result<String, Errno> {
        ProcFiles.read(entry(name))
    }

    public func readIfPresent(_ name: String) -> String? {
        ProcFiles.readIfPresent(entry(name))
    }

    // MARK: - entries

    public func status() -> Result<ProcStatus, Errno> {
        read("status").map(ProcStatus.init(text:))
    }

    public func stat() -> ProcStat? {
        ProcStat.read(entry("stat"))
    }

    /// Every line of the maps file; empty for a zombie.
    public func maps() -> Result<[MapsLine], Errno> {
        read("maps").map(MapsLine.parse)
    }

    /// The command line, or [] when the process is gone.
    public func commandLine() -> [String] {
        guard let bytes = try? ProcFiles.readBytes(entry("cmdline")).get() else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The short name (comm) without its newline, or nil when the process is gone.
    public func name() -> String? {
        readIfPresent("comm").map { $0[...].trimmingBlanks() }
    }

    /// Where the executable's symlink points, or nil.
    public func executable() -> String? {
        ProcFiles.readLink(entry("exe"))
    }

    /// The ids of the process's threads, ascending.
    public func taskIDs() -> [Int32] {
        ProcFiles.numericEntries(entry("task"))
    }

    /// The map_files directory (opens mapped files by address range). Task
    /// directories have none; /proc/TID has, and a thread's mappings are its
    /// process's.
    public var mapFiles: String { "/proc/\(id)/map_files" }

    /// The process's root directory as seen from here: a path inside its
    /// filesystem (another mount namespace, a chroot) is reachable as
    /// `root + path`.
    public var root: String { entry("root") }

    /// Whether the process's root directory is ours, i.e. a path means the
    /// same file for both of us. True when that cannot be told (no access):
    /// the plain path is then the first thing worth trying.
    public var sharesOurRoot: Bool {
        guard let theirs = FileIdentity(of: root + "/"), let ours = FileIdentity(of: "/") else { return true }
        return theirs == ours
    }
}
