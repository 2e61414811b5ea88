import LeakProc
#if canImport(Glibc)
import Glibc
#endif

/// The named mappings of a process, as listed by /proc/PID/maps.
///
/// libdwfl reads the maps file itself; we read it too so that `refresh()` can
/// tell whether the module list changed (and keep its caches if not), fail
/// with a clear error, and know mapping ranges for /proc/PID/map_files.
struct ProcessMaps: Equatable {
    struct Mapping: Hashable {
        var start: UInt64
        var end: UInt64
        var offset: UInt64
        var inode: UInt64
        /// The path exactly as the kernel prints it, " (deleted)" included.
        var path: String
    }

    /// Only mappings with a name (files, memfds, [vdso]); anonymous memory
    /// holds no modules, and its churn (heap growth) must not look like a change.
    var mappings: [Mapping]

    /// Reads and parses /proc/PID/maps.
    static func read(pid: Int32) throws -> ProcessMaps {
        do {
            let maps = ProcessMaps(text: try readWholeFile("/proc/\(pid)/maps"))
            // A zombie (exited, not yet reaped) still has a maps file, but empty:
            // reporting it would drop every module, so treat it as gone.
            guard !maps.mappings.isEmpty else {
                throw SymbolizerError.cannotReadMaps(pid: pid, reason: "no mappings, the process has exited")
            }
            return maps
        } catch let error as ErrnoError {
            throw SymbolizerError.cannotReadMaps(pid: pid, reason: error.message)
        }
    }

    init(text: String) {
        mappings = text.split(separator: "\n").compactMap(Self.parse(line:))
    }

    /// The first mapping of a module name, for naming its /proc/PID/map_files entry.
    func firstMapping(named path: String) -> Mapping? {
        mappings.first { $0.path == path }
    }

    /// The named mapping of one maps line; nil for anonymous memory, the heap and stacks.
    private static func parse(line: Substring) -> Mapping? {
        guard let entry = MapsLine(line), !entry.path.isEmpty, entry.path != "[heap]", !entry.path.hasPrefix("[stack") else {
            return nil
        }
        return Mapping(start: entry.start, end: entry.end, offset: entry.offset, inode: entry.inode, path: entry.path)
    }
}

/// An errno captured with its text, so callers can report it in one line.
struct ErrnoError: Error {
    var code: Int32
    var message: String { String(cString: strerror(code)) }
}

/// Reads a file to its end with plain read(2): /proc files report size 0,
/// so anything that trusts stat's size would read nothing.
func readWholeFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ErrnoError(code: errno) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ErrnoError(code: errno)
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
