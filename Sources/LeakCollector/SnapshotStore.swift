import Foundation
import Glibc
import LeakProc
import LeakReport

/// Where a session's snapshots go: one directory, files named so that `ls`
/// sorts them by time, each written atomically (temp file, fsync, rename)
/// with mode 0600 so a reader never sees half a snapshot.
public struct SnapshotStore {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try Self.makeDirectories(directory)
    }

    /// `<UTC time>-<sequence>[-final].swleak`, e.g. `20261123T130501.042Z-0003.swleak`.
    public static func fileName(timeNanoseconds: UInt64, sequence: UInt32, isFinal: Bool) -> String {
        let number = String(sequence)
        let padded = String(repeating: "0", count: max(0, 4 - number.count)) + number
        return "\(TimeFormat.compact(timeNanoseconds))-\(padded)\(isFinal ? "-final" : "").swleak"
    }

    /// Writes `bytes` under `name` atomically; returns the path.
    public func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = directory + "/" + name
        let temporary = directory + "/." + name + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw CollectorError.system("cannot write \(temporary)", errno: errno) }
        do {
            try writeAll(fd: fd, bytes)
        } catch {
            close(fd)
            unlink(temporary)
            throw CollectorError.system("cannot write \(temporary)", errno: error.code)
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            unlink(temporary)
            throw CollectorError.system("cannot flush \(temporary)", errno: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw CollectorError.system("cannot rename \(temporary) to \(path)", errno: code)
        }
        return path
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw CollectorError.system("cannot create the output directory \(current)", errno: errno)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CollectorError("\(path) is not a directory; pass --output DIR")
        }
        guard access(path, W_OK) == 0 else {
            throw CollectorError("cannot write into \(path); pass --output DIR with a writable directory")
        }
    }
}
