import Foundation
import Glibc
import LeakModel
import LeakProc

/// Where a session's snapshots go: one directory, files named so that `ls`
/// sorts them by time, each written atomically (temp file, fsync, rename)
/// with mode 0600 so a reader never sees half a snapshot.
///
/// The directory may be writable by others (a shared /tmp). So the directory
/// is opened once and every file is made relative to that handle; each temp
/// file is created exclusively under a random name (what is there already,
/// a file, a FIFO or a symlink, is never opened); and the rename replaces
/// whatever entry has the final name without following or opening it.
public struct SnapshotStore {
    public let directory: String
    /// Why the directory is risky to write into, for the session to warn;
    /// nil when only we can write it.
    public let warning: String?
    private let handle: DirectoryHandle

    public init(directory: String) throws {
        self.directory = directory
        try Self.makeDirectories(directory)
        try Self.refuseForeignSymlink(directory)
        let fd = retryingInterrupted { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw CollectorError.system("cannot open the output directory \(directory)", errno: errno) }
        handle = DirectoryHandle(fd: fd)
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CollectorError.system("cannot examine \(directory)", errno: errno) }
        warning = Self.othersMayWrite(info).map {
            "--output \(directory) is writable by \($0): they can delete or rename snapshots there (never read or change them); pass a directory only you can write"
        }
        guard access(directory, W_OK) == 0 else {
            throw CollectorError("cannot write into \(directory); pass --output DIR with a writable directory")
        }
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
        let (fd, temporary) = try createTemporary(for: name)
        let shownTemporary = directory + "/" + temporary
        func fail(_ what: String, _ code: Int32) -> CollectorError {
            unlinkat(handle.fd, temporary, 0)
            return CollectorError.system(what, errno: code)
        }
        do {
            try writeAll(fd: fd, bytes)
        } catch {
            close(fd)
            throw fail("cannot write \(shownTemporary)", error.code)
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw fail("cannot flush \(shownTemporary)", code)
        }
        close(fd)
        guard renameat(handle.fd, temporary, handle.fd, name) == 0 else {
            throw fail("cannot rename \(shownTemporary) to \(path)", errno)
        }
        return path
    }

    /// `.NAME.<random>.tmp`, created by us (O_EXCL: an existing entry of
    /// that name, even a FIFO or a dangling symlink, is never opened) with
    /// mode 0600 whatever the umask. Retries a taken name a few times.
    private func createTemporary(for name: String) throws -> (fd: Int32, name: String) {
        var code: Int32 = EEXIST
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let temporary = ".\(name).\(suffix).tmp"
            let fd = retryingInterrupted {
                openat(handle.fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            if fd >= 0 {
                guard fchmod(fd, 0o600) == 0 else {
                    let failure = errno
                    close(fd)
                    unlinkat(handle.fd, temporary, 0)
                    throw CollectorError.system("cannot set the mode of \(directory)/\(temporary)", errno: failure)
                }
                return (fd, temporary)
            }
            code = errno
            if code != EEXIST { break }
        }
        throw CollectorError.system("cannot create a temporary file in \(directory)", errno: code)
    }

    /// Creates what is missing of `path`, mode 0700: snapshots hold the
    /// target's allocation sites, for our eyes only.
    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw CollectorError.system("cannot create the output directory \(current)", errno: errno)
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CollectorError("\(path) is not a directory; pass --output DIR")
        }
    }

    /// Refuses an output path that is a symlink someone else planted: one
    /// owned neither by us nor by the owner of the directory it is in (the
    /// kernel's protected_symlinks rule, which is often off). Followed, it
    /// would put our snapshots wherever that user chose.
    static func refuseForeignSymlink(_ path: String) throws {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        var link = stat()
        guard lstat(String(trimmed), &link) == 0, (link.st_mode & S_IFMT) == S_IFLNK else { return }
        let parentPath = trimmed.lastIndex(of: "/").map { $0 == trimmed.startIndex ? "/" : String(trimmed[..<$0]) } ?? "."
        var parent = stat()
        let parentOwner = stat(parentPath, &parent) == 0 ? parent.st_uid : link.st_uid
        if link.st_uid != geteuid() && link.st_uid != parentOwner {
            throw CollectorError("--output \(path) is a symbolic link owned by uid \(link.st_uid), not by you: pass the directory it should be")
        }
    }

    /// Who else may create, delete or rename entries in a directory: "uid N"
    /// (its owner), "group N", "everyone"; nil when only we can.
    static func othersMayWrite(_ info: stat) -> String? {
        var others: [String] = []
        if info.st_uid != geteuid() { others.append("its owner uid \(info.st_uid)") }
        if info.st_mode & S_IWGRP != 0 && info.st_gid != getegid() { others.append("group \(info.st_gid)") }
        if info.st_mode & S_IWOTH != 0 { others.append("everyone") }
        if others.isEmpty { return nil }
        return others.joined(separator: " and ") + " (mode " + String(info.st_mode & 0o7777, radix: 8) + ")"
    }
}

/// The output directory, open for the store's lifetime: files are made
/// relative to it, so replacing the path (a rename, a new symlink) after the
/// checks does not move where snapshots go.
private final class DirectoryHandle: @unchecked Sendable {
    let fd: Int32

    init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }
}
