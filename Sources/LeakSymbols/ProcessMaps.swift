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

    /// Reads and parses /proc/PID/maps.
    static func read(pid: Int32) throws -> ProcessMaps {
        switch ProcDirectory(pid: pid).maps() {
        case .failure(let error):
            throw SymbolizerError.cannotReadMaps(pid: pid, reason: error.description)
        case .success(let lines):
            let maps = ProcessMaps(lines: lines)
            // A zombie (exited, not yet reaped) still has a maps file, but empty:
            // reporting it would drop every module, so treat it as gone.
            guard !maps.mappings.isEmpty else {
                throw SymbolizerError.cannotReadMaps(pid: pid, reason: "no mappings, the process has exited")
            }
            return maps
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

    /// The first mapping of a module name, for naming its /proc/PID/map_files entry.
    func firstMapping(named path: String) -> MapsLine? {
        mappings.first { $0.path == path }
    }
}
