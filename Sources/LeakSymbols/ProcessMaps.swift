import LeakProc

/// The named mappings of a process, as listed by /proc/PID/maps.
///
/// libdwfl reads the maps file itself; we read it too so that `refresh()` can
/// tell whether the module list changed (and keep its caches if not), fail
/// with a clear error, and know mapping ranges for /proc/PID/map_files.
struct ProcessMaps: Equatable {
    /// Only mappings with a name (files, memfds, [vdso]); anonymous memory
    /// holds no modules, and its churn (heap growth) must not look like a change.
    var mappings: [MapsLine]

    /// Reads and parses /proc/PID/maps, or a live thread's maps when the
    /// main thread has exited (see `ProcDirectory.liveThread`); also returns
    /// the directory they came from, whose other entries are just as live.
    static func read(pid: Int32) throws -> (maps: ProcessMaps, thread: ProcDirectory) {
        guard let thread = ProcDirectory(pid: pid).liveThread() else {
            throw SymbolizerError.cannotReadMaps(pid: pid, reason: "no thread left, the process has exited")
        }
        switch thread.maps() {
        case .failure(let error):
            throw SymbolizerError.cannotReadMaps(pid: pid, reason: error.description)
        case .success(let lines):
            let maps = ProcessMaps(lines: lines)
            // An exited thread (one that exited since it was picked) still has
            // a maps file, but empty: reporting it would drop every module,
            // so treat it as gone.
            guard !maps.mappings.isEmpty else {
                throw SymbolizerError.cannotReadMaps(pid: pid, reason: "no mappings, the process has exited")
            }
            return (maps, thread)
        }
    }

    init(text: String) {
        self.init(lines: MapsLine.parse(text))
    }

    /// Keeps the named mappings; drops anonymous memory, the heap and stacks.
    /// Permissions are blanked: they say nothing about which module lies
    /// where, and an mprotect (RELRO, a JIT) must not look like a change.
    init(lines: [MapsLine]) {
        mappings = lines.filter { !$0.path.isEmpty && $0.path != "[heap]" && !$0.path.hasPrefix("[stack") }
        for index in mappings.indices { mappings[index].permissions = "" }
    }

    /// The first mapping of a module name, for naming its map_files entry.
    func firstMapping(named path: String) -> MapsLine? {
        mappings.first { $0.path == path }
    }
}
