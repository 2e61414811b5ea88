import CElfutils
import LeakProc
#if canImport(Glibc)
import Glibc
#endif

/// Finds, from our own mount namespace, the ELF file behind a module named by
/// the target's /proc/PID/maps.
///
/// libdwfl's stock `dwfl_linux_proc_find_elf` opens the maps path as is. That
/// is wrong or fails when the target lives in a container (its paths are
/// relative to /proc/PID/root) and when the file was deleted or replaced on
/// disk after being mapped (an upgrade, a temp JIT file). This class tries, in
/// order, the paths most likely to reach the very file the process mapped.
final class ElfLocator {
    let pid: Int32
    /// The maps the module list was reported from; names map_files entries.
    var maps = ProcessMaps(text: "")
    /// A live thread's /proc directory, the one the maps were read from
    /// (the main thread's entries are empty once it exited).
    var thread: ProcDirectory
    /// "/proc/PID/root" when the target's root directory is not ours.
    var foreignRoot: String?

    init(pid: Int32) {
        self.pid = pid
        thread = ProcDirectory(pid: pid)
    }

    /// Re-checks whether the target has its own root (it may have chroot'ed),
    /// through `thread`, the live thread the maps were just read from.
    func refreshRoot(_ thread: ProcDirectory) {
        self.thread = thread
        foreignRoot = thread.sharesOurRoot ? nil : thread.root
    }

    /// Paths to try for a module name starting with "/", best first.
    func candidatePaths(for moduleName: String) -> [String] {
        var paths: [String] = []
        let deleted = moduleName.hasSuffix(" (deleted)")
        if !deleted {
            let procRoot = thread.root + moduleName
            if let root = foreignRoot {
                paths.append(root + moduleName)
                paths.append(moduleName)
            } else {
                paths.append(moduleName)
                // Covers a root change we could not detect (no access to stat it).
                paths.append(procRoot)
            }
        }
        // map_files reaches the exact mapped inode even once it is unlinked
        // (the kernel only lets CAP_SYS_ADMIN open it; harmless to try).
        if let first = maps.firstMapping(named: moduleName) {
            paths.append("\(thread.mapFiles)/\(String(first.start, radix: 16))-\(String(first.end, radix: 16))")
        }
        return paths
    }

    /// Opens the first candidate that is a regular file; returns fd and path.
    func openElf(moduleName: String) -> (fd: Int32, path: String)? {
        for path in candidatePaths(for: moduleName) {
            var info = stat()
            // Never open devices or FIFOs: the open or read could block forever.
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return (fd, path) }
        }
        return nil
    }
}

/// The `find_elf` callback given to libdwfl. Each module's userdata points to
/// the `ElfLocator` (set by `attachLocator`); without one, or for names that
/// are not paths ("[vdso: PID]", read from the target's memory), defer to the
/// stock callback.
let locatingFindElf: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<CChar>?,
    Dwarf_Addr, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 = { module, userdata, name, base, fileName, elfp in
    guard let name, name.pointee == UInt8(ascii: "/"), let context = userdata?.pointee else {
        return dwfl_linux_proc_find_elf(module, userdata, name, base, fileName, elfp)
    }
    let locator = Unmanaged<ElfLocator>.fromOpaque(context).takeUnretainedValue()
    guard let found = locator.openElf(moduleName: String(cString: name)) else { return -1 }
    // libdwfl frees this string; it also anchors the .gnu_debuglink search.
    fileName?.pointee = strdup(found.path)
    return found.fd
}

/// Points every module that has no userdata yet at `locator`, so that our
/// `find_elf` (called lazily, at the first lookup in the module) can use it.
func attachLocator(_ locator: ElfLocator, to dwfl: OpaquePointer) {
    let context = Unmanaged.passUnretained(locator).toOpaque()
    _ = dwfl_getmodules(dwfl, { _, userdata, _, _, arg in
        if let userdata, userdata.pointee == nil { userdata.pointee = arg }
        return Int32(DWARF_CB_OK)
    }, context, 0)
}
