import LeakProc

/// One line of the target's /proc/PID/maps.
typealias MapEntry = MapsLine

/// The target's memory map, as far as injection needs it: where its glibc is.
struct ProcMaps {
    var entries: [MapEntry]

    init(text: String) {
        entries = MapsLine.parse(text)
    }

    init(entries: [MapEntry]) {
        self.entries = entries
    }

    /// A live thread's maps: the main thread's read empty once it exited.
    static func read(pid: Int32) -> Result<ProcMaps, InjectError> {
        let directory = ProcDirectory(pid: pid).liveThread() ?? ProcDirectory(pid: pid)
        return directory.maps().map(ProcMaps.init(entries:))
            .mapError { .procUnreadable(path: directory.entry("maps"), errno: $0.code) }
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
