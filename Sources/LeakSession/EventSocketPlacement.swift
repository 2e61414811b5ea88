import LeakCollector

/// Where an attached agent's socket goes: a fresh directory in the target's
/// own temporary directory (see `SessionSocketDirectory`), which works the
/// same for a process of ours, of another user, in a container or behind a
/// private /tmp: the agent reaches it by its own path, only its user and
/// root can connect, and the session accepts only the attached pid.
struct EventSocketPlacement {
    private let directory: SessionSocketDirectory

    init(pid: Int32) throws {
        directory = try SessionSocketDirectory(pid: pid)
    }

    /// The socket's path in the target's filesystem, for the agent.
    var targetPath: String { directory.targetPath }

    /// Listens there and hands the socket file to the target's user.
    func listen(pid: Int32) throws -> EventListener {
        let listener = try EventListener(path: directory.hostPath)
        try directory.admitTarget(pid: pid)
        return listener
    }

    /// Removes the socket and its directory.
    func remove() {
        directory.remove()
    }
}
