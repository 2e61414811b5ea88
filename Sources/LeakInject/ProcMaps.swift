/// One line of /proc/PID/maps.
struct MapEntry: Equatable {
    var start: UInt64
    var end: UInt64
    var permissions: String
    var offset: UInt64
    var inode: UInt64
    /// Path as seen inside the target's mount namespace; "" for anonymous.
    var path: String

    init?(line: Substring) {
        // start-end perms offset dev inode [path]; the path may contain spaces.
        let parts = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard parts.count >= 5 else { return nil }
        let range = parts[0].split(separator: "-")
        guard range.count == 2,
              let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
              let offset = UInt64(parts[2], radix: 16), let inode = UInt64(parts[4]) else { return nil }
        self.start = start
        self.end = end
        self.permissions = String(parts[1])
        self.offset = offset
        self.inode = inode
        self.path = parts.count > 5 ? parts[5].trimmingCharacters() : ""
    }

    /// The path without the " (deleted)" the kernel appends for replaced files.
    var livePath: String {
        path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }
}

/// The target's memory map, as far as injection needs it: where its glibc is.
struct ProcMaps {
    var entries: [MapEntry]

    init(text: String) {
        entries = text.split(separator: "\n").compactMap(MapEntry.init(line:))
    }

    static func read(pid: Int32) -> Result<ProcMaps, InjectError> {
        ProcFiles.read("/proc/\(pid)/maps").map(ProcMaps.init(text:))
    }

    /// The first mapping (file offset 0) of the glibc C library: libc.so.6,
    /// or libc-2.NN.so on glibc older than 2.34. Its start is the load base
    /// for every symbol address of that file.
    var libcBaseMapping: MapEntry? {
        entries.first { entry in
            guard entry.offset == 0, entry.inode != 0 else { return false }
            let name = entry.livePath.split(separator: "/").last.map(String.init) ?? ""
            return name == "libc.so.6" || (name.hasPrefix("libc-2.") && name.hasSuffix(".so"))
        }
    }
}
