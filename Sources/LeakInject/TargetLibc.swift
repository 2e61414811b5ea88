import LeakProc

/// Addresses, in the target, of the C library functions a remote call needs.
/// Resolved from the target's own glibc before any thread is stopped, so a
/// missing symbol costs the target nothing.
struct TargetLibc {
    var mmap: UInt64
    var munmap: UInt64
    /// dlopen, or __libc_dlopen_mode on glibc before 2.34 (no libdl needed).
    var dlopen: UInt64
    var dlsym: UInt64
    /// nil on old glibc, where only the __libc_ variants are in libc itself.
    var dlerror: UInt64?
    /// True when `dlopen` is __libc_dlopen_mode, which wants __RTLD_DLOPEN in its flags.
    var internalDlopen: Bool
    /// Path of the library as the target sees it, for messages.
    var path: String
    /// glibc's rt_sigreturn trampoline (see SelfRestore); nil when not found.
    var sigreturnTrampoline: UInt64? = nil

    static let wanted: Set<String> = ["mmap", "munmap", "dlopen", "dlsym", "dlerror", "__libc_dlopen_mode", "__libc_dlsym", "sigaction", "__sigaction"]

    static func resolve(pid: Int32, maps: ProcMaps) throws -> TargetLibc {
        // A live thread's entries: the main thread's are empty once it exited.
        let live = ProcDirectory(pid: pid).liveThread() ?? ProcDirectory(pid: pid)
        guard let mapping = maps.libcBaseMapping else {
            throw InjectError.staticallyLinked(pid: pid, exe: live.executable() ?? "?")
        }
        // map_files opens exactly the mapped inode, even across mount
        // namespaces or after the file on disk was replaced by an upgrade;
        // /proc/PID/root/<path> is the fallback when map_files is refused.
        let mapFile = "\(live.mapFiles)/\(String(mapping.start, radix: 16))-\(String(mapping.end, radix: 16))"
        let elf: ElfSymbols
        do {
            elf = try ElfSymbols(path: mapFile, wanted: wanted)
        } catch {
            elf = try ElfSymbols(path: live.root + mapping.livePath, wanted: wanted)
        }
        func find(_ name: String) -> UInt64? { elf.address(of: name, mappingStart: mapping.start) }
        func require(_ name: String) throws -> UInt64 {
            guard let address = find(name) else { throw InjectError.symbolNotFound(symbol: name, library: mapping.livePath) }
            return address
        }
        let mmap = try require("mmap"), munmap = try require("munmap")
        var libc: TargetLibc
        if let dlopen = find("dlopen"), let dlsym = find("dlsym") {
            libc = TargetLibc(mmap: mmap, munmap: munmap, dlopen: dlopen, dlsym: dlsym,
                              dlerror: find("dlerror"), internalDlopen: false, path: mapping.livePath)
        } else {
            libc = TargetLibc(mmap: mmap, munmap: munmap, dlopen: try require("__libc_dlopen_mode"),
                              dlsym: try require("__libc_dlsym"), dlerror: nil, internalDlopen: true,
                              path: mapping.livePath)
        }
        if let sigaction = find("sigaction") ?? find("__sigaction") {
            // process_vm_readv takes any thread's id; the main thread's has no memory once it exited.
            libc.sigreturnTrampoline = SelfRestore.findTrampoline(pid: live.id, near: sigaction)
        }
        return libc
    }
}
