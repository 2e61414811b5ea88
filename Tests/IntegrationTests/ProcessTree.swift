import Foundation

/// Facts from /proc about the processes a test started, and the processes
/// those started (a container's init, the program inside it).
enum ProcessTree {
    /// The first process below `ancestor` whose name (comm) is `name`.
    static func descendant(of ancestor: Int32, named name: String) -> Int32? {
        var parents: [Int32: [Int32]] = [:]
        var names: [Int32: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            names[pid] = String(stat[stat.index(after: open)..<close])
            let rest = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if rest.count > 1, let parent = Int32(rest[1]) { parents[parent, default: []].append(pid) }
        }
        var queue = parents[ancestor] ?? []
        while !queue.isEmpty {
            let pid = queue.removeFirst()
            if names[pid] == name { return pid }
            queue += parents[pid] ?? []
        }
        return nil
    }

    /// A field of /proc/PID/status, its columns split.
    static func status(_ pid: Int32, _ key: String) -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return [] }
        return line.dropFirst(key.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " }).map(String.init)
    }

    /// The effective uid.
    static func uid(_ pid: Int32) -> UInt32? {
        status(pid, "Uid").dropFirst().first.flatMap { UInt32($0) }
    }

    /// Device and inode of the process's root directory.
    static func rootIdentity(_ pid: Int32) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: "/proc/\(pid)/root/") else { return nil }
        return "\(attributes[.systemNumber] ?? 0):\(attributes[.systemFileNumber] ?? 0)"
    }
}

/// What a swiftleak attach session leaves in its target's filesystem: the
/// directory it made for the agent's socket in the target's own /tmp.
struct SessionSocketFiles {
    /// Where the target's /tmp is seen from here.
    let targetTmp: String
    /// The pid of the `swiftleak attach` process (part of the directory's name).
    let swiftleakPID: Int32

    /// The directory's name, when there is one.
    var directory: String? {
        ((try? FileManager.default.contentsOfDirectory(atPath: targetTmp)) ?? [])
            .first { $0.hasPrefix("swiftleak-\(swiftleakPID)-") }
    }

    /// (uid, gid, permission bits, file type) of `name` under the target's /tmp.
    func facts(_ name: String) -> (uid: UInt32, gid: UInt32, mode: UInt32, type: UInt32)? {
        var info = stat()
        guard lstat(targetTmp + "/" + name, &info) == 0 else { return nil }
        return (info.st_uid, info.st_gid, info.st_mode & 0o7777, info.st_mode & S_IFMT)
    }
}
