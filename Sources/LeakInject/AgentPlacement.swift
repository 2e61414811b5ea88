import Glibc
import LeakProc

/// Makes the agent library loadable by the target: the host path when the
/// target sees the very same file and may read it, otherwise a copy in the
/// target's /tmp/swiftleak-agent-<uid>/, owned by the target's user (the
/// dlopen runs with the target's credentials, not ours).
struct AgentPlacement {
    let filesystem: TargetFilesystem
    let targetUID: UInt32
    let targetGID: UInt32

    /// Returns the agent's path as the target must name it.
    func place(hostAgentPath: String) throws -> String {
        var ours = stat()
        guard stat(hostAgentPath, &ours) == 0, (ours.st_mode & S_IFMT) == S_IFREG else {
            throw InjectError.agentNotFound(path: hostAgentPath)
        }
        let absolute = absolutePath(hostAgentPath)
        if let theirs = FileIdentity(of: filesystem.throughTargetRoot(absolute)),
           theirs == FileIdentity(of: hostAgentPath),
           readable(absolute, by: targetUID, gid: targetGID) {
            return absolute
        }
        return try copy(hostAgentPath)
    }

    // MARK: - the copy

    private func copy(_ source: String) throws -> String {
        let dirInTarget = "/tmp/swiftleak-agent-\(targetUID)"
        let name = source.split(separator: "/").last.map(String.init) ?? "libswiftleak-agent.so"
        let fileInTarget = dirInTarget + "/" + name
        let dir = filesystem.throughTargetRoot(dirInTarget)
        let file = filesystem.throughTargetRoot(fileInTarget)
        func fail(_ what: String, _ error: Errno = .current) -> InjectError {
            .agentCopyFailed(path: fileInTarget, detail: "\(what): \(error)")
        }

        if mkdir(dir, 0o700) == 0 {
            // mkdir's mode passed through our umask; the owner must be the
            // target's user so its dlopen may enter the directory.
            guard chmod(dir, 0o700) == 0, chown(dir, targetUID, targetGID) == 0 else { throw fail("chmod/chown \(dir)") }
        } else if errno != EEXIST {
            throw fail("mkdir \(dir)")
        }
        // /tmp is world-writable: someone else may have planted the directory
        // (or a symlink) to make us write elsewhere. Accept only a real
        // directory owned by the target's user or root, closed to others.
        var info = stat()
        guard lstat(dir, &info) == 0 else { throw fail("lstat \(dir)") }
        guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == targetUID || info.st_uid == 0,
              info.st_mode & 0o022 == 0 else {
            throw InjectError.agentCopyFailed(path: fileInTarget,
                detail: "\(dirInTarget) exists but is not a private directory of uid \(targetUID); remove it")
        }

        // Write a temporary file and rename it over the final name: a process
        // loading the agent concurrently never maps a half-written file.
        let temporary = "\(dir)/.\(name).\(getpid()).tmp"
        unlink(temporary)
        let out = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o755)
        guard out >= 0 else { throw fail("create \(temporary)") }
        var ok = false
        defer {
            close(out)
            if !ok { unlink(temporary) }
        }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw fail("open \(source)") }
        defer { close(input) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = retryingInterrupted { buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) } }
            if n < 0 { throw fail("read \(source)") }
            if n == 0 { break }
            do {
                try writeAll(fd: out, buffer[0..<n])
            } catch {
                throw fail("write \(temporary)", error)
            }
        }
        guard fchmod(out, 0o755) == 0, fchown(out, targetUID, targetGID) == 0 else { throw fail("chmod/chown \(temporary)") }
        guard rename(temporary, file) == 0 else { throw fail("rename to \(file)") }
        ok = true
        return fileInTarget
    }

    // MARK: - permission check

    /// Whether `uid` can read the file and traverse every directory above it.
    /// Conservative: group membership beyond the primary gid is not known, so
    /// a doubtful case answers false and the agent is copied instead.
    private func readable(_ path: String, by uid: UInt32, gid: UInt32) -> Bool {
        if uid == 0 { return true }
        var components = path.split(separator: "/").map(String.init)
        var current = ""
        var checks: [(String, mode_t)] = [("/", 0o1)]
        let fileName = components.removeLast()
        for c in components {
            current += "/" + c
            checks.append((current, 0o1))
        }
        checks.append((current + "/" + fileName, 0o4))
        for (p, bit) in checks {
            var info = stat()
            guard stat(filesystem.throughTargetRoot(p), &info) == 0 else { return false }
            let allowed: mode_t
            if info.st_uid == uid { allowed = (info.st_mode >> 6) & 7 }
            else if info.st_gid == gid { allowed = (info.st_mode >> 3) & 7 }
            else { allowed = info.st_mode & 7 }
            if allowed & bit == 0 { return false }
        }
        return true
    }

    /// Canonical host path (no "..", no symlinks), so the same-file check
    /// and the name handed to the target agree.
    private func absolutePath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
