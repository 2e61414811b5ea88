import CElfutils
import Glibc
import LeakProc

/// A module's GNU build ID (the `.note.gnu.build-id` note, as hex), which
/// lets pprof and symbol servers find the exact binary a profile came from.
public enum BuildID {
    /// The build ID of the module at `path` as process `pid` sees it (through
    /// /proc/PID/root, so a container's files are read, not the host's; the
    /// path itself once the process is gone); nil when the file is gone,
    /// unreadable or carries no build ID.
    public static func read(module path: String, pid: Int32) -> String? {
        var fd = retryingInterrupted { open("/proc/\(pid)/root\(path)", O_RDONLY | O_CLOEXEC) }
        if fd < 0 { fd = retryingInterrupted { open(path, O_RDONLY | O_CLOEXEC) } }
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        guard elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE), let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else { return nil }
        defer { elf_end(elf) }
        var bytes: UnsafeRawPointer?
        let length = dwelf_elf_gnu_build_id(elf, &bytes)
        guard length > 0, let bytes else { return nil }
        return hex(UnsafeRawBufferPointer(start: bytes, count: length))
    }

    /// The separate debug file the distribution installs for a module with
    /// this build ID, under libdwfl's default debug directory.
    static func debugFilePath(_ id: UnsafeRawBufferPointer) -> String? {
        guard id.count > 1 else { return nil }
        let text = hex(id)
        return "/usr/lib/debug/.build-id/\(text.prefix(2))/\(text.dropFirst(2)).debug"
    }

    /// Whether the ELF file open at `fd` carries build ID `id`.
    static func matches(fd: Int32, _ id: UnsafeRawBufferPointer) -> Bool {
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else { return false }
        defer { elf_end(elf) }
        var bytes: UnsafeRawPointer?
        let length = dwelf_elf_gnu_build_id(elf, &bytes)
        guard length == id.count, let bytes, let expected = id.baseAddress else { return false }
        return memcmp(bytes, expected, length) == 0
    }

    static func hex(_ id: UnsafeRawBufferPointer) -> String {
        id.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
