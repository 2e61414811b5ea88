import Glibc
import LeakCollector
import LeakProc

/// Runs `swiftleak-post` (next to swiftleak, or `$SWIFTLEAK_POST`) for one
/// POST: the body goes through a private temporary file, its one line of
/// failure comes back through another, and a poster that outlives its
/// deadline is killed. posix_spawn and a waitpid of that pid alone, so the
/// session's own signal handling (SIGCHLD taken by sigtimedwait) is untouched.
enum PosterProcess {
    static let fileName = "swiftleak-post"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func post(_ body: [UInt8], to address: String, base: String, timeoutSeconds: Double) throws {
        let poster: String
        do {
            poster = try AgentLocator.companion(fileName, overriddenBy: "SWIFTLEAK_POST")
        } catch {
            throw Failure(description: "\(error)")
        }
        var template = Array("/tmp/swiftleak-post.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Failure(description: "could not push to \(base): no temporary directory (\(Errno.current))")
        }
        let directory = String(cString: made)
        let bodyPath = directory + "/body", errorPath = directory + "/error"
        defer {
            unlink(bodyPath)
            unlink(errorPath)
            rmdir(directory)
        }
        do {
            try write(body, to: bodyPath)
        } catch {
            throw Failure(description: "could not push to \(base): cannot write \(bodyPath): \(error)")
        }
        let pid = try spawn(poster, [address, base, "\(timeoutSeconds)", bodyPath], stderrPath: errorPath)
        // The poster keeps its own deadline; this one only catches a poster that hangs.
        let status = wait(pid, seconds: timeoutSeconds + 5)
        let said = ((try? ProcFiles.read(errorPath).get()) ?? "").split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard let status else {
            throw Failure(description: "\(base) did not answer within \(Int(timeoutSeconds + 5))s (swiftleak-post killed)")
        }
        guard status == 0 else {
            throw Failure(description: said.isEmpty ? "could not push to \(base): swiftleak-post ended with status \(status)" : said)
        }
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = retryingInterrupted { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw Errno.current }
        defer { close(fd) }
        try writeAll(fd: fd, bytes[...])
    }

    /// The poster with a clean signal state (`SpawnSignals`), stdin from
    /// /dev/null, stderr to `stderrPath`.
    private static func spawn(_ path: String, _ arguments: [String], stderrPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = SpawnSignals.withCleanAttributes { attributes in
            posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        }
        guard result == 0 else { throw Failure(description: "cannot start \(path): \(Errno(result))") }
        return pid
    }

    /// The exit status (128 + signal when killed), or nil after killing it at the deadline.
    private static func wait(_ pid: pid_t, seconds: Double) -> Int32? {
        var remaining = Int(seconds * 100)
        while true {
            var status: Int32 = 0
            let result = retryingInterrupted { waitpid(pid, &status, WNOHANG) }
            if result == pid { return WaitStatus(status).shellExitCode ?? 1 }
            if result < 0 { return 1 }
            if remaining <= 0 {
                kill(pid, SIGKILL)
                _ = retryingInterrupted { waitpid(pid, &status, 0) }
                return nil
            }
            remaining -= 1
            usleep(10_000)
        }
    }
}
